// yaml-reference prints, for each file named on the command line, what the Kubernetes API
// machinery makes of it: the stream split into documents the way kubectl splits it
// (k8s.io/apimachinery's YAMLReader: a line that starts with "---" and has nothing but
// blanks or a comment after it), and each document converted to JSON by sigs.k8s.io/yaml's
// YAMLToJSONStrict (go-yaml v2, duplicate keys rejected as the API server's strict decoding
// rejects them). One JSON line per file:
//
//	{"path": "...", "documents": [<json>, ...]}   documents that are not empty (not null)
//	{"path": "...", "error": "..."}               the first document that could not be read
//
// Built by kubegate's differential test in GOPATH mode against Debian's packages
// (golang-k8s-sigs-yaml-dev, golang-gopkg-yaml.v2-dev); no module download.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

type result struct {
	Path      string            `json:"path"`
	Documents []json.RawMessage `json:"documents,omitempty"`
	Error     string            `json:"error,omitempty"`
}

// split cuts a stream into documents at separator lines, as kubectl's YAMLReader does.
func split(data []byte) [][]byte {
	var docs [][]byte
	var current bytes.Buffer
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("---")) {
			rest := strings.TrimSpace(string(line[3:]))
			if rest == "" || strings.HasPrefix(rest, "#") {
				docs = append(docs, append([]byte(nil), current.Bytes()...))
				current.Reset()
				continue
			}
		}
		current.Write(line)
	}
	return append(docs, current.Bytes())
}

func read(path string) result {
	data, err := os.ReadFile(path)
	if err != nil {
		return result{Path: path, Error: err.Error()}
	}
	out := result{Path: path}
	for i, doc := range split(data) {
		converted, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return result{Path: path, Error: fmt.Sprintf("document %d: %v", i, err)}
		}
		if trimmed := bytes.TrimSpace(converted); len(trimmed) == 0 || string(trimmed) == "null" {
			continue
		}
		out.Documents = append(out.Documents, json.RawMessage(converted))
	}
	return out
}

func main() {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	for _, path := range os.Args[1:] {
		if err := enc.Encode(read(path)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
