package main

import rego.v1

# An object without a string msg: conftest stops with an error.
deny contains {"message": "no msg key"} if {
	input.kind == "Service"
}
