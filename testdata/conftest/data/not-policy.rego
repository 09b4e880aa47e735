# Rego beside data given with --data is not loaded (as conftest's --data reads only
# .json, .yaml and .yml): this file does not even compile.
package main

deny contains if if {
