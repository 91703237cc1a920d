#!/usr/bin/env bash
# Fuzzes one target with the toolchain's libFuzzer and AddressSanitizer.
#   tools/fuzz/run.sh wire|control|state|config [seconds=60] [extra libFuzzer flags…]
#   CHUNKS=10 tools/fuzz/run.sh config 3600 -runs=1000000   10 M config runs, in 10 processes
#   SAVE=1 tools/fuzz/run.sh wire 600   also merge what was found back into Tests/Fuzz/wire.hex
# Builds a standalone binary from the module's sources plus tools/fuzz/<target>.swift into
# .build-fuzz/, seeds it with Tests/Fuzz/<target>.hex (one input per line, hex; the unit tests
# replay the same file) and runs it. New inputs collect in .build-fuzz/corpus-<target>/; with
# SAVE=1 the minimal set covering everything seen is written back to the .hex file.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: tools/fuzz/run.sh wire|control|state|config [seconds]}
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
if [ "$target" = config ]; then
  # The config loader needs TOMLKit, so SwiftPM builds this one (ANOMALYD_FUZZ=1 adds the
  # target). ld.gold fails on the sanitized objects, hence lld through a toolset. Leak
  # detection is off: TOMLKit leaks a few bytes per parse (tableGetKeys), which is harmless
  # for a file read at start and reload, but adds up to libFuzzer's 2 GB limit after about a
  # million runs; CHUNKS=K runs K processes one after another on the same corpus (with
  # -runs=N each, 10 M runs = CHUNKS=10 … -runs=1000000).
  mkdir -p .build-fuzz/corpus-config .build-fuzz/seed-config
  printf '{ "schemaVersion": "1.0", "linker": { "path": "%s" } }\n' "$(dirname "$(command -v swift)")/ld.lld" \
    > .build-fuzz/toolset.json
  ANOMALYD_FUZZ=1 swift build -c release --product fuzz-config --scratch-path .build-fuzz/spm \
    --toolset .build-fuzz/toolset.json -Xswiftc -sanitize=fuzzer,address >/dev/null
  cp config/anomalyd.toml .build-fuzz/seed-config/
  while read -r line; do
    [ -n "$line" ] && printf '%s' "$line" | xxd -r -p > ".build-fuzz/seed-config/$(printf '%s' "$line" | md5sum | cut -c1-16)"
  done < Tests/Fuzz/config.hex
  fuzz() { env ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no .build-fuzz/spm/release/fuzz-config "$@"; }
  total=0
  for _ in $(seq "${CHUNKS:-1}"); do
    fuzz -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 "$@" .build-fuzz/corpus-config \
      .build-fuzz/seed-config 2>&1 | tee .build-fuzz/config-last.log | grep -E "^stat::number_of_executed_units|ERROR|Assertion" || true
    grep -q "ERROR: libFuzzer\|deadly signal" .build-fuzz/config-last.log && { echo "config: crash, see .build-fuzz/config-last.log"; exit 1; }
    total=$((total + $(grep -o 'number_of_executed_units: [0-9]*' .build-fuzz/config-last.log | grep -o '[0-9]*$')))
  done
  echo "config: $total runs, no crash"
  if [ "${SAVE:-0}" = 1 ]; then
    rm -rf .build-fuzz/merged-config && mkdir -p .build-fuzz/merged-config
    fuzz -merge=1 .build-fuzz/merged-config .build-fuzz/seed-config .build-fuzz/corpus-config >/dev/null 2>&1
    for f in .build-fuzz/merged-config/*; do xxd -p -c 1000000 "$f" | tr -d '\n'; echo; done | sort -u > Tests/Fuzz/config.hex
    echo "Tests/Fuzz/config.hex: $(wc -l < Tests/Fuzz/config.hex) inputs"
  fi
  exit 0
fi
case "$target" in
  wire) sources=(Sources/Wire/*.swift) ;;
  control) sources=(Sources/Wire/*.swift Sources/ControlProtocol/*.swift) ;;
  state) sources=(Sources/AnomalyModel/*.swift) ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
mkdir -p .build-fuzz ".build-fuzz/corpus-$target"
seed=".build-fuzz/seed-$target"
rm -rf "$seed" && mkdir -p "$seed"
n=0
while read -r line; do
  n=$((n + 1))
  printf '%s' "$line" | xxd -r -p > "$seed/$n"
done < "Tests/Fuzz/$target.hex"
# One module from several: copy the sources, dropping imports of the project's own modules.
src=".build-fuzz/src-$target"
rm -rf "$src" && mkdir -p "$src"
for f in "${sources[@]}"; do
  sed -E '/^import (Wire|AnomalyModel)$/d' "$f" > "$src/$(basename "$(dirname "$f")")-$(basename "$f")"
done
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 \
  "$src"/*.swift "tools/fuzz/$target.swift" -o ".build-fuzz/fuzz-$target"
SWIFT_BACKTRACE=enable=no ".build-fuzz/fuzz-$target" -max_total_time="$seconds" -print_final_stats=1 \
  -max_len=4096 "$@" ".build-fuzz/corpus-$target" "$seed"
if [ "${SAVE:-0}" = 1 ]; then
  merged=".build-fuzz/merged-$target"
  rm -rf "$merged" && mkdir -p "$merged"
  SWIFT_BACKTRACE=enable=no ".build-fuzz/fuzz-$target" -merge=1 "$merged" "$seed" ".build-fuzz/corpus-$target" >/dev/null 2>&1
  for f in "$merged"/*; do xxd -p -c 1000000 "$f" | tr -d '\n'; echo; done | sort -u > "Tests/Fuzz/$target.hex"
  echo "Tests/Fuzz/$target.hex: $(wc -l < "Tests/Fuzz/$target.hex") inputs"
fi
