# Cross-document rules for --combine: input is an array of {"path", "contents"}.
package main

import rego.v1

# A Deployment no Service selects, reported at its pod labels through a path into the input.
deny_unexposed contains {"msg": msg, "path": [i, "contents", "spec", "template", "metadata", "labels"]} if {
	some i, doc in input
	doc.contents.kind == "Deployment"
	labels := doc.contents.spec.template.metadata.labels
	not selected(labels)
	msg := sprintf("Deployment %s: no Service selects its pods", [doc.contents.metadata.name])
}

selected(labels) if {
	some doc in input
	doc.contents.kind == "Service"
	every key, value in doc.contents.spec.selector {
		labels[key] == value
	}
}

# A file holding a single Service, named in the message.
warn_single contains msg if {
	some doc in input
	doc.contents.kind == "Service"
	count([d | some d in input; d.path == doc.path]) == 1
	msg := sprintf("%s holds a single object", [doc.path])
}

# conftest's result location names the file and line.
violation_located contains {"msg": "located by _loc", "_loc": {"file": doc.path, "line": 38}} if {
	some doc in input
	doc.contents.metadata.name == "worker"
}

# About the input as a whole: its order (by path, then file order).
warn_inventory contains msg if {
	names := [sprintf("%s/%s", [d.contents.kind, d.contents.metadata.name]) | some d in input]
	msg := sprintf("%d objects: %s", [count(input), concat(",", names)])
}
