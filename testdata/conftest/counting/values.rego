# Rule values conftest counts, and the ones it does not (each on the Deployments only).
package main

import rego.v1

# A set of strings: one failure per member.
deny_strings contains msg if {
	input.kind == "Deployment"
	msg := sprintf("%s: string result", [input.metadata.name])
}

# A set of objects with a string msg: one warning per member, other keys kept.
warn_objects contains {"msg": msg, "team": "shop"} if {
	input.kind == "Deployment"
	msg := sprintf("%s: object result", [input.metadata.name])
}

# A bare boolean: conftest counts it as a pass even when true (not a collection).
deny if {
	input.kind == "Deployment"
}

# A number in a set: conftest ignores it.
deny_numbers contains 7 if {
	input.kind == "Deployment"
}

# A complete rule that is false: a pass in every reading, nothing reported.
violation_never := false

# A complete rule holding an array: conftest counts its members as messages.
violation_listed := ["listed one", "listed two"] if {
	input.kind == "Service"
}
