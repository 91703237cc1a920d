#!/usr/bin/env bash
# Times the detector offline: `anomalyctl replay` over 1,000,000 rows of a noisy sine
# (univariate) and 200,000 rows of 8 channels, three runs each, release build. Prints the
# median seconds and µs/point (CSV parsing and formatting included).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product anomalyctl >/dev/null 2>&1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" <<'PY'
import math, random, sys
random.seed(1)
d = sys.argv[1]
with open(f"{d}/uni.csv", "w") as f:
    f.write("timestamp,value\n")
    for i in range(1_000_000):
        f.write(f"{i},{20 + 10 * math.sin(i / 8) + random.gauss(0, 1):.4f}\n")
with open(f"{d}/multi.csv", "w") as f:
    f.write("timestamp," + ",".join(f"c{c}" for c in range(8)) + "\n")
    for i in range(200_000):
        f.write(f"{i}," + ",".join(f"{math.sin(i / (4 + c)) + random.gauss(0, 0.1):.4f}" for c in range(8)) + "\n")
PY
for name in uni:1000000 multi:200000; do
  file=${name%%:*}; rows=${name##*:}
  times=()
  for _ in 1 2 3; do
    s=$(date +%s.%N)
    .build/release/anomalyctl replay --input "$dir/$file.csv" --output "$dir/$file.out"
    e=$(date +%s.%N)
    times+=("$(python3 -c "print(f'{$e - $s:.3f}')")")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  echo "$file: $rows rows, median $median s, $(python3 -c "print(f'{$median * 1e6 / $rows:.2f}')") µs/point (runs: ${times[*]})"
done
