package main

import rego.v1

pod_with(image) := {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}

# Passes only when data.allowed.registries (from --data) lists registry.example.com.
test_an_allowed_registry_passes if {
	count(deny_registry) == 0 with input as pod_with("registry.example.com/shop/web:1.0")
}

test_another_registry_is_denied if {
	count(deny_registry) == 1 with input as pod_with("docker.io/library/nginx:1.27")
}
