# Images must come from a registry that data.allowed.registries lists (given with --data).
package main

import rego.v1

deny_registry contains msg if {
	some c in input.spec.template.spec.containers
	not approved(c.image)
	msg := sprintf("container %q: image %q is not from an allowed registry", [c.name, c.image])
}

approved(image) if {
	some registry in data.allowed.registries
	startswith(image, sprintf("%s/", [registry]))
}
