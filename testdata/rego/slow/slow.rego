package main

import rego.v1

# Roughly 25 million iterations: far beyond any sane per-object time limit.
deny contains msg if {
	n := count([1 | some a in numbers.range(1, 5000); some b in numbers.range(1, 5000)])
	n > 0
	msg := "never finishes in time"
}
