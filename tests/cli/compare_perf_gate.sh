#!/usr/bin/env bash
# compare_perf_gate.sh FAULTLINE PLAN BASELINE [--update]
# The CI performance gate (docs/gating.md): runs PLAN a few times and compares the runs with the
# committed BASELINE (BASELINE/rep-*/results.json) through `faultline compare`, which must find
# no regression. The margins are wide because the baseline was measured on another machine, at
# another time, possibly by another build type: this catches a gross slowdown (a debug sleep
# left in, an accidental O(n^2)), not a few percent; docs/gating.md tells how to gate finely.
# So that the gate cannot rot into passing anything, the same comparison must also reject runs
# with FAULTLINE_TEST_DELAY=10ms (every reference node delays each reply by 10 ms).
#   --update: replace BASELINE with the results.json of fresh runs instead.
set -euo pipefail
fl="$1"
plan="$2"
baseline="$3"
update="${4:-}"
reps=5
out="$(mktemp -d /tmp/fl-perf-gate-XXXXXX)"
trap 'rm -rf "$out"' EXIT

# runs DIR [VAR=VALUE...]: $reps runs of the plan into DIR/rep-i; each must pass.
runs() {
  local dir="$1"
  shift
  for i in $(seq 1 "$reps"); do
    local status=0
    env "$@" "$fl" run "$plan" --out "$dir/rep-$i" --quiet >"$out/run.log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
      cat "$out/run.log"
      echo "FAIL: $* faultline run $plan exited $status"
      exit 1
    fi
  done
}
runs "$out/cand"

if [ "$update" = "--update" ]; then
  rm -rf "$baseline"
  for i in $(seq 1 "$reps"); do
    mkdir -p "$baseline/rep-$i"
    cp "$out/cand/rep-$i/results.json" "$baseline/rep-$i/"
  done
  echo "compare_perf_gate: wrote $reps runs of $plan to $baseline"
  exit 0
fi

gates=(--gate "regression throughput < 50%" --gate "regression p50 < 1000%"
       --gate "regression p99 < 300%" --gate "error_ratio < 1%")
status=0
"$fl" compare "$baseline" "$out/cand" "${gates[@]}" || status=$?
if [ "$status" -ne 0 ]; then
  echo "FAIL: faultline compare exited $status (expected 0: no regression against $baseline)"
  exit 1
fi
runs "$out/slow" FAULTLINE_TEST_DELAY=10ms
status=0
"$fl" compare "$baseline" "$out/slow" "${gates[@]}" >"$out/slow.out" 2>&1 || status=$?
if [ "$status" -ne 1 ]; then
  cat "$out/slow.out"
  echo "FAIL: faultline compare exited $status for a 10ms slowdown (expected 1: the gate is toothless)"
  exit 1
fi
grep 'Result:' "$out/slow.out"
echo "compare_perf_gate: no regression against $baseline; a 10ms slowdown is caught"
