# METADATA
# title: Deployment checks
# description: What every Deployment of the shop must do.
package main

import rego.v1

# METADATA
# title: Images are pinned
# description: Images must not use the latest tag.
# authors:
# - Platform Team <platform@example.com>
# custom:
#   id: DEP-001
#   template: container %q uses the latest tag
deny_latest contains msg if {
	some c in input.spec.template.spec.containers
	endswith(c.image, ":latest")
	annotation := rego.metadata.rule()
	msg := sprintf("%s: %s", [annotation.custom.id, sprintf(annotation.custom.template, [c.name])])
}

# METADATA
# title: Enough replicas
# custom:
#   minimum: 2
warn_replicas contains {"msg": msg, "title": chain[0].annotations.title, "policy": chain[1].annotations.title} if {
	chain := rego.metadata.chain()
	minimum := chain[0].annotations.custom.minimum
	input.spec.replicas < minimum
	msg := sprintf("%s runs %d replicas, fewer than %d", [input.metadata.name, input.spec.replicas, minimum])
}
