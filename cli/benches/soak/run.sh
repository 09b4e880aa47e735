#!/usr/bin/env bash
# The webhook soak (issue #13, docs/reliability.md): the release binary serving the built-in
# rules plus 30 Gatekeeper ConstraintTemplates (the corpus generator's), driven over TLS by the
# Go client in this directory at a fixed rate. Not part of .ci/run (it runs for minutes):
#
#   cargo build --release -p kubegate && cargo build --release -p kubegate-engine --example gen_corpus
#   bash cli/benches/soak/run.sh [RATE] [DURATION] [CONNECTIONS]     # default 1000 10m 32
#
# Needs Debian's golang-1.19-go (GOPATH mode, no module download). Prints one JSON line per
# minute and a summary; exits 1 when any request failed.
set -euo pipefail
cd "$(dirname "$0")/../../.."
rate=${1:-1000}
duration=${2:-10m}
conns=${3:-32}
go=${GO:-/usr/lib/go-1.19/bin/go}
bin=target/release/kubegate
gen=target/release/examples/gen_corpus
for f in "$bin" "$gen"; do
  [ -x "$f" ] || { echo "missing $f: cargo build --release -p kubegate && cargo build --release -p kubegate-engine --example gen_corpus" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
GO111MODULE=off GOPATH="$work/gopath" GOCACHE="$work/gocache" "$go" build -o "$work/soak" ./cli/benches/soak
"$bin" webhook certs --san localhost --out-dir "$work/certs" >/dev/null 2>&1
"$gen" "$work/unused" 0 50 42 0 "$work/unused-vaps" 30 "$work/policies" >/dev/null
KUBEGATE_LOG=warn,kubegate_webhook::server=info "$bin" webhook serve \
  --addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 \
  --tls-cert "$work/certs/tls.crt" --tls-key "$work/certs/tls.key" \
  --policy "$work/policies" 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do
  addr=$(grep -o '"addr":"[^"]*"' "$work/server.log" | head -1 | cut -d'"' -f4 || true)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "${addr:-}" ] || { echo "the server did not start:" >&2; cat "$work/server.log" >&2; exit 2; }
port=${addr##*:}
echo "soak: server pid $server on $addr, $("$bin" --version | head -1)" >&2
"$work/soak" -url "https://localhost:$port/validate" -ca "$work/certs/ca.crt" \
  -reviews testdata/admission/reviews -rate "$rate" -duration "$duration" -conns "$conns" \
  -pid "$server"
