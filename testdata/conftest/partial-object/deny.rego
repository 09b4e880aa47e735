package main

import rego.v1

warn_fine contains msg if {
	msg := "this one is a set"
}

deny[msg] if {
	input.kind == "Deployment"
	msg := "never counted as a message"
}
