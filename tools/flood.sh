#!/usr/bin/env bash
# A flood of distinct stream ids: a release anomalyd limited to MAX streams (LRU eviction,
# persistence on) receives one sample for each of IDS distinct ids at full speed over tcp.
# Prints the account (sent = scored + rejected + dropped), evictions, peak RSS and the size of
# the state file, which stay bounded by MAX however many ids arrive.
#   tools/flood.sh [IDS=10000000] [MAX=100000] [RATE=0 (messages/s, 0 = full speed)]
#   STATE=none tools/flood.sh …   the same with persistence off
set -euo pipefail
cd "$(dirname "$0")/.."
ids=${1:-10000000}
max=${2:-100000}
rate=${3:-0}
for p in anomalyd anomalyctl anomalyd-loadgen; do swift build -c release --product $p >/dev/null 2>&1; done
bin=.build/release
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/anomalyd" --ingest-bind "tcp://127.0.0.1:$port" --publish-bind "tcp://127.0.0.1:0" \
  --control-socket "$work/c.sock" --set server.state_directory="${STATE:-$work/state}" \
  --set ingest.max_streams="$max" --set server.checkpoint_interval=5 2>"$work/log" &
pid=$!
for _ in $(seq 100); do "$bin/anomalyctl" ping --socket "$work/c.sock" >/dev/null 2>&1 && break; sleep 0.05; done
info() { "$bin/anomalyctl" info --json --socket "$work/c.sock"; }
started=$(date +%s.%N)
pace=()
[ "$rate" = 0 ] || pace=(--rate "$rate")
"$bin/anomalyd-loadgen" --endpoint "tcp://127.0.0.1:$port" --streams "$ids" --messages "$ids" "${pace[@]}" >/dev/null &
gen=$!
peak=0
while true; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  [ "$rss" -gt "$peak" ] && peak=$rss
  if ! kill -0 "$gen" 2>/dev/null; then
    info | python3 -c 'import json,sys; i=json.load(sys.stdin)["ingest"]; r=sum(v for k,v in i.items() if k.startswith("rejected_")); sys.exit(0 if i["samples_scored"]+i["samples_dropped"]+r >= '"$ids"' else 1)' && break
  fi
  sleep 0.2
done
elapsed=$(python3 -c "import time; print(time.time() - $started)")
sleep 6  # one more checkpoint interval, so the state file reflects the end of the flood
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
info > "$work/info.json"
python3 - "$ids" "$elapsed" "$peak" "$hwm" "$work" <<'PY'
import json, os, sys
ids, elapsed, peak_kb, hwm_kb, work = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
info = json.load(open(os.path.join(work, "info.json")))
ingest, streams, persistence = info["ingest"], info["streams"], info["persistence"]
rejected = {k[len("rejected_"):]: v for k, v in ingest.items() if k.startswith("rejected_") and v}
state = os.path.join(work, "state")
size = sum(os.path.getsize(os.path.join(state, f)) for f in os.listdir(state)) if os.path.isdir(state) else 0
accounted = ingest["samples_scored"] + ingest["samples_dropped"] + sum(rejected.values())
verdict = "exact" if accounted == ids else "MISMATCH"
print(f"ids sent {ids:,} in {elapsed:.1f} s; scored {ingest['samples_scored']:,}, "
      f"dropped {ingest['samples_dropped']:,}, rejected {rejected or 0}; accounted {accounted:,} ({verdict})")
print(f"streams tracked {streams['streams']:,} (max {streams['max_streams']:,}), evicted {streams['streams_evicted']:,}")
print(f"RSS peak {max(peak_kb, hwm_kb) / 1024:,.0f} MiB (VmHWM); state files {size / 2**20:,.0f} MiB, "
      f"checkpoint failures {persistence['checkpoint_failures']}")
PY
kill "$pid"; wait "$pid" || true
