# A conftest-style warn rule: objects without a team label are allowed with a warning.
package main

import rego.v1

warn contains msg if {
	input.kind == "Pod"
	not input.metadata.labels.team
	msg := sprintf("Pod %s has no team label", [input.metadata.name])
}
