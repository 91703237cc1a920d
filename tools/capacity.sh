#!/usr/bin/env bash
# Sustained throughput: the highest paced rate a release anomalyd scores with nothing dropped.
# For each rate, a fresh daemon (persistence off) receives SECONDS seconds of paced load from
# anomalyd-loadgen over tcp (1,000 streams unless STREAMS says otherwise); the account comes from `anomalyctl info ingest`.
# Unlike tools/loadtest.sh (a burst as fast as the generator can send, the overflow dropped and
# counted), this finds the rate the daemon keeps up with. "sent/s" is the rate the generator
# really achieved (it falls behind its pace when the machine is saturated) and "scored/s" the
# points divided by the time until every one was scored or dropped: a run counts as kept up
# only if nothing was dropped and the generator held at least 98 % of the asked rate.
#   tools/capacity.sh [BATCH=0] [SECONDS=5] RATE…   (messages/s; BATCH samples per binary frame, 0 = text)
#   tools/capacity.sh 0 5 450000 600000 750000 900000
#   tools/capacity.sh 100 5 10000 15000 20000
#   WORKERS=1 tools/capacity.sh 100 5 5000 7500 10000   the same with one worker thread
#   STREAMS=10 tools/capacity.sh …       spread the load over 10 streams instead of 1,000
#   CPU=1 tools/capacity.sh 0 5 600000   also print where the CPU went: the generator and each
#                                        daemon thread, in cores (CPU seconds / wall seconds)
#   BIN=/tmp/a tools/capacity.sh …       use the binaries in /tmp/a instead of building
set -euo pipefail
cd "$(dirname "$0")/.."
batch=${1:-0}
seconds=${2:-5}
shift $(( $# >= 2 ? 2 : $# ))
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(300000 450000 600000 750000 900000)
# BIN=DIR runs the binaries in DIR as they are (anomalyd, anomalyctl, anomalyd-loadgen), to
# compare two builds side by side; otherwise the release build is brought up to date first
# (which also replaces any binary copied into .build/release by hand).
if [ -n "${BIN:-}" ]; then
  bin=$BIN
else
  for p in anomalyd anomalyctl anomalyd-loadgen; do swift build -c release --product $p >/dev/null 2>&1; done
  bin=.build/release
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# CPU seconds (user + system) of every thread of process $1, one "name seconds" line each.
thread_times() {
  local tick
  tick=$(getconf CLK_TCK)
  for task in /proc/"$1"/task/*; do
    awk -v tick="$tick" '{ sub(/^[0-9]+ \(/, ""); split($0, a, ") "); split(a[2], f, " ");
      print a[1], (f[12] + f[13]) / tick }' "$task/stat"
  done | awk '{ t[$1] += $2 } END { for (n in t) print n, t[n] }' | sort
}
# Cores used per daemon thread name between two snapshots, and by the generator.
cpu_split() {
  join "$1" "$2" | awk -v wall="$4" '{ printf "    %-12s %5.2f cores\n", $1, ($3 - $2) / wall }'
  awk -v wall="$4" '{ printf "    %-12s %5.2f cores\n", "generator", ($1 + $2) / wall }' "$3"
}
printf '%12s %12s %12s %12s %12s %12s %10s\n' "msg/s" "points/s" "sent/s" "scored/s" "scored" "dropped" "kept up"
for rate in "${rates[@]}"; do
  ingest="tcp://127.0.0.1:$(port)"
  "$bin/anomalyd" --ingest-bind "$ingest" --publish-bind "tcp://127.0.0.1:0" --control-socket "$work/c.sock" \
    --set server.state_directory=none --set server.workers="${WORKERS:-0}" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do "$bin/anomalyctl" ping --socket "$work/c.sock" >/dev/null 2>&1 && break; sleep 0.05; done
  messages=$(( rate * seconds ))
  [ -n "${CPU:-}" ] && thread_times "$pid" >"$work/before"
  started=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$work/loadgen-time" \
    "$bin/anomalyd-loadgen" --endpoint "$ingest" --streams "${STREAMS:-1000}" --messages "$messages" --batch "$batch" \
    --rate "$rate" >"$work/loadgen-out"
  # "sent N messages (… points) over … streams in T s: R msg/s, …"
  sent_rate=$(sed -n 's/.*: \([0-9]*\) msg\/s.*/\1/p' "$work/loadgen-out")
  points=$(( messages * (batch > 0 ? batch : 1) ))
  while true; do
    read -r scored dropped < <("$bin/anomalyctl" info ingest --json --socket "$work/c.sock" |
      python3 -c 'import json,sys; i=json.load(sys.stdin)["ingest"]; print(i["samples_scored"], i["samples_dropped"])')
    [ $(( scored + dropped )) -ge "$points" ] && break
    sleep 0.1
  done
  elapsed=$(awk -v now="$(date +%s.%N)" -v started="$started" 'BEGIN { print now - started }')
  if [ -n "${CPU:-}" ]; then
    thread_times "$pid" >"$work/after"
    cpu_split "$work/before" "$work/after" "$work/loadgen-time" "$elapsed"
  fi
  kept=$(awk -v d="$dropped" -v s="$sent_rate" -v r="$rate" 'BEGIN { print (d == 0 && s >= 0.98 * r) ? "yes" : "no" }')
  printf '%12s %12s %12s %12s %12s %12s %10s\n' "$rate" "$(( rate * (batch > 0 ? batch : 1) ))" "$sent_rate" \
    "$(awk -v p="$points" -v t="$elapsed" 'BEGIN { printf "%.0f", p / t }')" "$scored" "$dropped" "$kept"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
