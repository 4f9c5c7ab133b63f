#!/usr/bin/env bash
# `faultline sweep` end to end: a 2-value sweep of plans/scaling.toml over cluster.db.shards
# (2 s per run) must run both values, each with the value applied (its cluster has that many db
# shards) and the same seed, and write sweep.json, sweep.md and sweep.svg with one point per
# value; bad values are refused before anything runs.
# Usage: sweep_e2e.sh FAULTLINE
set -euo pipefail
fl="$1"
tmp="$(mktemp -d /tmp/fl-sweep-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; cat "$tmp/stdout" "$tmp/stderr" 2>/dev/null || true; exit 1; }

# plans/scaling.toml without its seed: the sweep draws one seed and gives it to every value.
grep -v '^seed *=' plans/scaling.toml >"$tmp/scaling.toml"
if grep -q '^seed' "$tmp/scaling.toml"; then fail "the copy still has a seed"; fi
status=0
"$fl" sweep "$tmp/scaling.toml" --set cluster.db.shards=1,2 --duration 2s --quiet \
  --out "$tmp/sweep" >"$tmp/stdout" 2>"$tmp/stderr" || status=$?
[ "$status" -eq 0 ] || fail "faultline sweep exited $status"
s="$tmp/sweep"
for v in 1 2; do
  grep -Eqx '[[:space:]]*shards = '"$v" "$s/cluster.db.shards=$v.toml" || fail "plan for $v lacks shards = $v"
  grep -q '"verdict": "valid"' "$s/cluster.db.shards=$v/results.json" || fail "run $v not valid"
done
# The override took effect: the 2-shard run has db-s1-r0, the 1-shard run does not.
grep -q '"db-s1-r0"' "$s/cluster.db.shards=2/cluster.json" || fail "2 shards: no db-s1-r0"
if grep -q '"db-s1-r0"' "$s/cluster.db.shards=1/cluster.json"; then fail "1 shard: db-s1-r0"; fi
# sweep.json: both values, each with a throughput above zero.
j="$(cat "$s/sweep.json")"
for v in 1 2; do
  grep -Eq '"value":"'"$v"'","run_dir":"[^"]*","exit_code":0,"verdict":"valid","throughput":[1-9]' \
    <<<"$j" || fail "sweep.json has no valid run with a throughput for $v: $j"
done
seed="$(grep -Eo '"seed":[0-9]+' <<<"$j" | cut -d: -f2)"
[ -n "$seed" ] || fail "sweep.json has no seed: $j"
for v in 1 2; do
  grep -Eq "^seed = $seed([^0-9]|$)" "$s/cluster.db.shards=$v/plan.toml" ||
    fail "run $v did not get the sweep's seed $seed: $(grep seed "$s/cluster.db.shards=$v/plan.toml")"
done
grep -Eq '^\| 1 \| valid \| [0-9.]+/s \|' "$s/sweep.md" || fail "sweep.md row 1"
grep -Eq '^\| 2 \| valid \| [0-9.]+/s \|' "$s/sweep.md" || fail "sweep.md row 2"
grep -q '<svg' "$s/sweep.svg" || fail "sweep.svg is no SVG"
grep -q 'id="sweep-throughput"' "$s/sweep.svg" || fail "sweep.svg has no throughput chart"
grep -q 'id="sweep-p99"' "$s/sweep.svg" || fail "sweep.svg has no p99 chart"
[ "$(grep -o 'class="sweep-point' "$s/sweep.svg" | wc -l)" -eq 4 ] ||
  fail "sweep.svg: want 4 points (2 charts x 2 values)"

# A value of the wrong type, and one the plan's rules refuse: exit 3 before any run.
for bad in cluster.db.shards=two cluster.db.shards=0; do
  status=0
  "$fl" sweep plans/scaling.toml --set "$bad" --out "$tmp/bad-$bad" >"$tmp/stdout" \
    2>"$tmp/stderr" || status=$?
  [ "$status" -eq 3 ] || fail "--set $bad: exit $status, want 3"
  [ -s "$tmp/stderr" ] || fail "--set $bad: no message"
  if ls -d "$tmp/bad-$bad"/*/ >/dev/null 2>&1; then fail "--set $bad: a run was started"; fi
done
grep -q 'shards' "$tmp/stderr" || fail "the error does not name the key"
echo "sweep ok"
