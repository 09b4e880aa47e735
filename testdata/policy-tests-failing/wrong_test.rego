package main

import rego.v1

deny contains "always" if { true }

test_expects_no_denials if {
	count(deny) == 0
}
