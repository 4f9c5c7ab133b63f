#!/usr/bin/env bash
# compare_slowdown.sh FAULTLINE PLAN [REPS] [DELAY]
# `faultline compare` tells a deliberate slowdown from noise (docs/gating.md):
#   - REPS runs of PLAN as the baseline and REPS identical reruns, interleaved so both see the
#     same load on the machine: compare exits 0;
#   - REPS runs (--repeat, after those) with FAULTLINE_TEST_DELAY=DELAY in the environment (every reference node delays
#     each reply by it: a candidate built with a slowdown): compare exits 1, p50 the regression;
#   - 1 run against 1: exit 2 (too few runs ever to be significant); a missing directory or
#     --min-effect 5 (500%): 3.
# The gates are given on the command line, wide enough that the machine's noise between runs
# does not reach them and narrow enough that DELAY, several times the baseline's p50, does.
set -euo pipefail
fl="$1"
plan="$2"
reps="${3:-5}"
delay="${4:-10ms}"
out="$(mktemp -d /tmp/fl-compare-XXXXXX)"
trap 'rm -rf "$out"' EXIT
gates=(--gate "regression p50 < 200%" --gate "regression throughput < 50%")

fail() {
  echo "FAIL: $*"
  for f in "$out"/*.log; do
    [ -e "$f" ] || continue
    echo "--- $f"
    tail -n 40 "$f"
  done
  exit 1
}

# run_one DIR [VAR=VALUE...]: one run of the plan into DIR; it must pass.
run_one() {
  local dir="$1"
  shift
  local log
  log="$out/$(basename "$(dirname "$dir")")-$(basename "$dir").log"
  local status=0
  env "$@" "$fl" run "$plan" --out "$dir" --quiet >"$log" 2>&1 || status=$?
  [ "$status" -eq 0 ] || fail "faultline run $plan ($*) exited $status"
}

for i in $(seq 1 "$reps"); do
  run_one "$out/base/rep-$i"
  run_one "$out/same/rep-$i"
done
# The slowed candidate: one `faultline run --repeat` batch after them (not interleaved: the
# delay is far above the machine's drift).
status=0
FAULTLINE_TEST_DELAY="$delay" "$fl" run "$plan" --repeat "$reps" --out "$out/slow" --quiet \
  >"$out/slow.log" 2>&1 || status=$?
[ "$status" -eq 0 ] || fail "faultline run $plan --repeat $reps (delay $delay) exited $status"

# compare_expect CODE ARGS...: faultline compare ARGS must exit CODE.
compare_expect() {
  local want="$1"
  shift
  local status=0
  "$fl" compare "$@" >"$out/compare.out" 2>&1 || status=$?
  cat "$out/compare.out"
  [ "$status" -eq "$want" ] || fail "faultline compare $* exited $status, expected $want"
}

echo "=== identical rerun"
compare_expect 0 "$out/base" "$out/same" "${gates[@]}"
echo "=== FAULTLINE_TEST_DELAY=$delay"
compare_expect 1 "$out/base" "$out/slow" "${gates[@]}" --markdown "$out/slow.md" \
  --json "$out/slow.json"
grep -q '^| p50 | .* | ❌ regression |$' "$out/slow.md" || fail "p50 is not the regression"
cat "$out/slow.md"
echo "=== one run against one"
compare_expect 2 "$out/base/rep-1" "$out/slow/rep-1" "${gates[@]}"
grep -q 'run at least 4 repetitions of each' "$out/compare.out" || fail "no advice on repetitions"
echo "=== a missing directory"
compare_expect 3 "$out/base" "$out/absent"
echo "=== a minimum effect of 500% would pass every regression gate"
compare_expect 3 "$out/base" "$out/slow" "${gates[@]}" --min-effect 5
grep -q 'below 100%' "$out/compare.out" || fail "no message for --min-effect 5"
echo "compare_slowdown: a ${delay} slowdown is a regression, an identical rerun is not"
