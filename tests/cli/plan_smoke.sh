#!/usr/bin/env bash
# End-to-end smoke test of one shipped plan, shortened for CI:
#   plans with a [workload]: `faultline run PLAN --duration 2s` must complete: exit 0, 1 or 2
#                            (a verdict) with results.json and history.jsonl, never 3 (the
#                            harness failed). Whether a plan's verdict is the documented one is
#                            asserted elsewhere (tests/cli/cli_test.cpp for quickstart and
#                            redis-register), since a loaded CI machine can make a
#                            performance plan miss its own thresholds.
#   plans without one:       `faultline up PLAN` must get every node ready, then stop cleanly
#                            on SIGTERM with exit 0.
# Usage: plan_smoke.sh FAULTLINE PLAN
set -euo pipefail
fl="$1"
plan="$2"
out="$(mktemp -d /tmp/fl-smoke-XXXXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; wait "$pid" || true; fi
  rm -rf "$out"
}
trap cleanup EXIT

if grep -Eq '^\[\[?workload\]\]?' "$plan"; then
  status=0
  "$fl" run "$plan" --duration 2s --quiet --out "$out/run" || status=$?
  if [ "$status" -gt 2 ]; then echo "faultline run exited $status"; exit 1; fi
  grep -q '"verdict"' "$out/run/results.json"
  test -s "$out/run/history.jsonl"
  exit 0
fi

"$fl" up "$plan" --out "$out/run" >"$out/up.log" 2>&1 &
pid=$!
for _ in $(seq 1 1200); do  # up to 120 s on a loaded machine
  [ -e "$out/run/cluster.json" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then cat "$out/up.log"; echo "faultline up exited early"; exit 1; fi
  sleep 0.1
done
if [ ! -e "$out/run/cluster.json" ]; then cat "$out/up.log"; echo "no cluster.json"; exit 1; fi
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
if [ "$status" -ne 0 ]; then cat "$out/up.log"; echo "faultline up exited $status after SIGTERM"; exit 1; fi
