package main

import rego.v1

deployment(image, name) := {
	"kind": "Deployment",
	"metadata": {"name": name, "labels": {"owner": "team"}},
	"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
}

test_approved_registry_passes if {
	count(deny_registry) == 0 with input as deployment("registry.example.com/app:1.0", "app")
}

test_unapproved_registry_is_denied if {
	count(deny_registry) == 1 with input as deployment("docker.io/app:1.0", "app")
}

test_legacy_importer_is_excepted if {
	exception[["registry"]] with input as deployment("docker.io/app:1.0", "legacy-importer")
}

test_missing_owner_warns if {
	warn_owner with input as {"kind": "Deployment", "metadata": {"name": "x"}}
}
