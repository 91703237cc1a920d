#!/usr/bin/env bash
# End-to-end throughput of the daemon against raw libzmq, measured side by side in one run.
#   tools/loadtest.sh [messages=1000000]
# Release build. For each case it starts a fresh anomalyd (persistence off), publishes with
# anomalyd-loadgen at full speed, and waits until the daemon has accounted for every sample
# (scored + rejected + dropped = sent, from `anomalyctl info`); the rate is samples scored / that
# time. Dropped samples (worker queues full, counted) mean the generator outran the workers.
# The raw rows are the same generator into an in-process SUB socket, with no daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-1000000}
swift build -c release --product anomalyd >/dev/null 2>&1
swift build -c release --product anomalyctl >/dev/null 2>&1
swift build -c release --product anomalyd-loadgen >/dev/null 2>&1
bin=.build/release
work=$(mktemp -d)
trap 'pkill -f "$work/c.sock" 2>/dev/null || true; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { python3 -c 'import time; print(time.time())'; }

raw_rate() {  # endpoint batch → points/s
  "$bin/anomalyd-loadgen" --raw --endpoint "$1" --messages "$messages" --batch "$2" | sed -E 's/.* ([0-9]+) points\/s$/\1/'
}

daemon_case() {  # label endpoint streams batch messages
  local label=$1 endpoint=$2 streams=$3 batch=$4 count=$5
  "$bin/anomalyd" --ingest-bind "$endpoint" --publish-bind "tcp://127.0.0.1:$(port)" \
    --control-socket "$work/c.sock" --set server.state_directory=none 2>"$work/log" &
  local pid=$!
  for _ in $(seq 100); do "$bin/anomalyctl" ping --socket "$work/c.sock" >/dev/null 2>&1 && break; sleep 0.05; done
  local start points
  start=$(now)
  "$bin/anomalyd-loadgen" --endpoint "$endpoint" --streams "$streams" --messages "$count" --batch "$batch" >/dev/null
  points=$(( count * (batch > 0 ? batch : 1) ))
  python3 - "$bin/anomalyctl" "$work/c.sock" "$points" "$start" "$label" "${RAW:-0}" <<'PY'
import json, subprocess, sys, time
ctl, sock, points, start, label, raw = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], float(sys.argv[6])
while True:
    i = json.loads(subprocess.run([ctl, "info", "ingest", "--json", "--socket", sock], capture_output=True, text=True).stdout)["ingest"]
    if i["samples_scored"] + i["samples_dropped"] + i["rejected_total"] >= points:
        break
    time.sleep(0.02)
elapsed = time.time() - start
rate = i["samples_scored"] / elapsed  # scored, not merely accounted: drops do not count as speed
ratio = f"{rate / raw:.2f}" if raw else "-"
print(f"{label:42} {points:>10} {i['samples_scored']:>10} {i['samples_dropped']:>9} {i['rejected_total']:>8} {rate:>12,.0f} {ratio:>7}")
PY
  kill "$pid"; wait "$pid" || true
}

echo "messages per case: $messages; $(nproc) cores"
raw_tcp=$(raw_rate "tcp://127.0.0.1:$(port)" 0)
raw_ipc=$(raw_rate "ipc://$work/raw.ipc" 0)
echo "raw libzmq PUB/SUB, 1 sample per message: tcp $raw_tcp msg/s, ipc $raw_ipc msg/s"
printf '%-42s %10s %10s %9s %8s %12s %7s\n' case sent scored dropped rejected "scored/s" "÷raw"
for streams in 1 1000 100000; do
  RAW=$raw_tcp daemon_case "tcp, 1 sample/message, $streams streams" "tcp://127.0.0.1:$(port)" "$streams" 0 "$messages"
done
RAW=$raw_ipc daemon_case "ipc, 1 sample/message, 1000 streams" "ipc://$work/d.ipc" 1000 0 "$messages"
RAW=0 daemon_case "tcp, binary frames of 100, 1000 streams" "tcp://127.0.0.1:$(port)" 1000 100 $(( messages / 100 ))
