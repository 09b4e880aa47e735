package main

import rego.v1

warn_replicas contains msg if {
	input.spec.replicas < 3
	msg := sprintf("%s runs %d replicas", [input.metadata.name, input.spec.replicas])
}
