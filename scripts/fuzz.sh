#!/usr/bin/env bash
# Runs the libFuzzer targets of the fuzz build (build/fuzz, `make fuzz` builds it) one after
# the other, each for a fixed time, and fails if any of them finds a crash, a leak, a
# timeout or runs out of memory. See docs/fuzzing.md.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]      TARGET: http_codec, link_frame, ...
#
# Target NAME is build/fuzz/NAME_fuzz (from src/*/NAME_fuzz.cc). Its seeds are
# tests/fuzz/NAME/ (read only), its dictionary tests/fuzz/NAME.dict when there is one. What
# libFuzzer learns goes to build/fuzz/corpus/NAME/, kept between runs so that the next run
# starts where this one stopped; the tree stays clean. A failing input is written to
# build/fuzz/artifacts/NAME/; replay it with `build/fuzz/NAME_fuzz FILE`.
# Environment: FUZZ_RSS_MB (memory limit per target, default 2048); FUZZ_SEED (libFuzzer's
# -seed: a fixed seed makes a run draw the same inputs every time, as CI does; unset, each
# run explores anew).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in src/*/*_fuzz.cc; do targets+=("$(basename "$src" _fuzz.cc)"); done
fi

build=build/fuzz
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for name in "${targets[@]}"; do
  bin="$build/${name}_fuzz"
  seeds="tests/fuzz/$name"
  [ -x "$bin" ] || { echo "fuzz: $bin is not built (make fuzz builds it)" >&2; exit 2; }
  [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; exit 2; }
  corpus="$build/corpus/$name"
  artifacts="$build/artifacts/$name"
  log="$build/logs/$name.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  args=(-max_total_time="$seconds" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -timeout=30
        -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$artifacts/")
  [ -f "tests/fuzz/$name.dict" ] && args+=(-dict="tests/fuzz/$name.dict")
  [ -n "${FUZZ_SEED:-}" ] && args+=(-seed="$FUZZ_SEED")

  echo "fuzz: $name for ${seconds}s (log: $log)"
  rc=0
  stamp="$build/logs/$name.start"
  touch "$stamp"
  "$bin" "${args[@]}" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then
    # libFuzzer's last word: "Done N runs in S second(s)".
    done_line="$(grep -E '^Done [0-9]+ runs' "$log" | tail -1)"
    echo "fuzz: $name: $done_line, corpus $(ls "$corpus" | wc -l) files"
  else
    echo "fuzz: $name FAILED (exit $rc); what went wrong:"
    grep -E 'invariant violated|runtime error|ERROR: |SUMMARY: ' "$log" | head -n 20 || true
    echo "fuzz: the end of its log:"
    tail -n 40 "$log"
    # The failing input, so a run on another machine can be replayed here:
    #   base64 -d > crash && build/fuzz/NAME_fuzz crash
    find "$artifacts" -type f -newer "$stamp" | while read -r input; do
      echo "fuzz: input $(basename "$input") ($(stat -c %s "$input") bytes), base64:"
      head -c 65536 "$input" | base64 -w 100
    done
    failed+=("$name")
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
