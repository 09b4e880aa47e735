package main

import rego.v1

deny_latest contains msg if {
	some c in input.spec.template.spec.containers
	endswith(c.image, ":latest")
	msg := sprintf("container %q uses the latest tag", [c.name])
}

warn_replicas contains msg if {
	input.spec.replicas < 3
	msg := sprintf("%s runs %d replicas", [input.metadata.name, input.spec.replicas])
}

warn contains msg if {
	input.kind == "Deployment"
	msg := sprintf("%s: plain warn", [input.metadata.name])
}

# legacy is excepted from deny_latest and warn_replicas (conftest's engine queries the
# exception for warn rules too), not from the plain warn.
exception contains rules if {
	input.metadata.name == "legacy"
	rules := ["latest", "replicas"]
}
