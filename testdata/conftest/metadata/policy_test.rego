package main

import rego.v1

test_the_message_comes_from_the_rule_annotation if {
	deny_latest == {"DEP-001: container \"app\" uses the latest tag"} with input as {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:latest"}]}}}}
}

test_the_chain_names_the_rule_and_the_package if {
	some w in warn_replicas with input as {"metadata": {"name": "one"}, "spec": {"replicas": 1}}
	w.title == "Enough replicas"
	w.policy == "Deployment checks"
}
