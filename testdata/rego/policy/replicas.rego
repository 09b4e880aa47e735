# Gatekeeper-library style, Rego v0: replicas written as a string ("3") is rejected by the API
# server; say so before it gets there.
package main

violation[{"msg": msg, "path": "/spec/replicas", "replicas": replicas}] {
	replicas := input.spec.replicas
	is_string(replicas)
	msg := sprintf("spec.replicas must be an integer, got the string %q", [replicas])
}
