package team.labels

import rego.v1

deny contains "every object needs a team label" if {
	not input.metadata.labels.team
}
