#!/usr/bin/env bash
# Runs one shipped plan and asserts the outcome its documentation promises:
#   plan_outcome.sh FAULTLINE PLAN pass [DURATION]             exit 0, every check valid
#   plan_outcome.sh FAULTLINE PLAN fail:CHECK[,..] [DURATION]  exit 1, each named check invalid
# at the plan's own length, or DURATION (the plan's `ci_duration`) when given.
# Used for the plans that demonstrate a guarantee (db-failover: nothing acknowledged is lost)
# or its absence (a seeded bug, async failover): a plan that stops finding what it should
# find fails CI. On failure the terminal summary and the tail of every node log are printed.
set -euo pipefail
fl="$1"
plan="$2"
expect="$3"
duration=()
if [ $# -ge 4 ] && [ -n "$4" ]; then duration=(--duration "$4"); fi
out="$(mktemp -d /tmp/fl-outcome-XXXXXX)"
trap 'rm -rf "$out"' EXIT

status=0
"$fl" run "$plan" "${duration[@]}" --out "$out/run" >"$out/stdout" 2>"$out/stderr" || status=$?

show() {
  echo "--- faultline run $plan: exit $status"
  cat "$out/stdout" "$out/stderr"
  for log in "$out"/run/nodes/*/output.log; do
    [ -e "$log" ] || continue
    echo "--- tail of $log"
    tail -n 15 "$log"
  done
}

# The verdict of each check in results.json, as "kind verdict" lines (the file is pretty-printed
# by the harness: a check's "kind" and "verdict" are its first keys, six spaces in).
verdicts() {
  awk '/^      "kind": /{ gsub(/[",]/, "", $2); kind = $2 }
       /^      "verdict": /{ gsub(/[",]/, "", $2); if (kind != "") print kind, $2; kind = "" }' \
    "$out/run/results.json"
}

case "$expect" in
  pass)
    if [ "$status" -ne 0 ]; then show; echo "expected exit 0"; exit 1; fi
    ;;
  fail:*)
    if [ "$status" -ne 1 ]; then show; echo "expected exit 1 (an invariant violated)"; exit 1; fi
    IFS=, read -ra wanted <<<"${expect#fail:}"
    for check in "${wanted[@]}"; do
      if ! verdicts | grep -qx "$check invalid"; then
        show
        echo "expected check '$check' to be invalid; verdicts were:"
        verdicts
        exit 1
      fi
    done
    ;;
  *)
    echo "plan_outcome.sh: EXPECT must be 'pass' or 'fail:CHECK[,CHECK]', not '$expect'" >&2
    exit 2
    ;;
esac
echo "$plan: $expect as expected"
verdicts
grep -E '^      "summary": ' "$out/run/results.json" | sed -E 's/^ *"summary": /  /'
