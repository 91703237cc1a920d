#!/usr/bin/env bash
# Publish → score-event latency at a fixed rate (default 50,000 messages/s, 1,000 streams),
# release build, daemon with publish.mode = "all". Prints p50 / p99 / p99.9, first for a relay
# that does nothing but the same two libzmq hops (the floor on this machine), then for the
# daemon, in the same run.
#   tools/latency.sh [rate=50000] [messages=500000] [anomalyd options…, e.g. --set server.workers=1]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-50000}
messages=${2:-500000}
shift $(( $# >= 2 ? 2 : $# ))
daemon_args=("$@")
for p in anomalyd anomalyctl anomalyd-loadgen; do swift build -c release --product $p >/dev/null 2>&1; done
bin=.build/release
work=$(mktemp -d)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "libzmq alone (relay, no daemon):"
"$bin/anomalyd-loadgen" --relay --endpoint "tcp://127.0.0.1:$(port)" --events "tcp://127.0.0.1:$(port)" \
  --rate "$rate" --messages "$messages" --streams 1000

echo "anomalyd:"
ingest="tcp://127.0.0.1:$(port)"
events="tcp://127.0.0.1:$(port)"
"$bin/anomalyd" --ingest-bind "$ingest" --publish-bind "$events" --control-socket "$work/c.sock" \
  --set server.state_directory=none --publish-all "${daemon_args[@]}" 2>"$work/log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do "$bin/anomalyctl" ping --socket "$work/c.sock" >/dev/null 2>&1 && break; sleep 0.05; done
"$bin/anomalyd-loadgen" --endpoint "$ingest" --events "$events" --rate "$rate" --messages "$messages" --streams 1000
"$bin/anomalyctl" info ingest --socket "$work/c.sock" | grep -E "^(samples_scored|samples_dropped|rejected_total):"
