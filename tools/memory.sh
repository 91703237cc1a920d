#!/usr/bin/env bash
# Resident memory per stream: a fresh anomalyd (persistence off) receives one sample for each
# of N distinct streams; RSS after, minus RSS before, divided by N.
#   tools/memory.sh [N …]      default: 10000 100000
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(10000 100000)
for p in anomalyd anomalyctl anomalyd-loadgen; do swift build -c release --product $p >/dev/null 2>&1; done
bin=.build/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rss() { "$bin/anomalyctl" info server --json --socket "$work/c.sock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["server"]["used_memory_rss_bytes"])'; }
scored() { "$bin/anomalyctl" info ingest --json --socket "$work/c.sock" | python3 -c 'import json,sys; i=json.load(sys.stdin)["ingest"]; print(i["samples_scored"], i["samples_dropped"])'; }
printf '%10s %14s %14s %12s\n' streams "rss before" "rss after" "per stream"
for n in "${counts[@]}"; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin/anomalyd" --ingest-bind "tcp://127.0.0.1:$port" --publish-bind "tcp://127.0.0.1:0" \
    --control-socket "$work/c.sock" --set server.state_directory=none \
    --set ingest.queue_capacity=16777216 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do "$bin/anomalyctl" ping --socket "$work/c.sock" >/dev/null 2>&1 && break; sleep 0.05; done
  before=$(rss)
  "$bin/anomalyd-loadgen" --endpoint "tcp://127.0.0.1:$port" --streams "$n" --messages "$n" >/dev/null
  while true; do
    read -r done dropped < <(scored)
    [ $((done + dropped)) -ge "$n" ] && break
    sleep 0.1
  done
  after=$(rss)
  python3 -c "print(f'{$n:>10} {$before:>14,} {$after:>14,} {($after - $before) / $n:>10,.0f} B' + ('  (dropped $dropped)' if $dropped else ''))"
  kill "$pid"; wait "$pid" || true
done
