#!/usr/bin/env bash
# CPU used by `faultline up plans/boot-20.toml` itself (not its nodes) while the 20-node cluster
# sits idle: utime+stime from /proc/<pid>/stat over a window after cluster.json appears.
#   bench/idle_cpu.sh [SECONDS]      (default 10; FL_BIN=build/bin by default)
set -euo pipefail
cd "$(dirname "$0")/.."
fl="${FL_BIN:-build/bin}/faultline"
window="${1:-10}"
tmp="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

"$fl" up plans/boot-20.toml --out "$tmp/run" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ -e "$tmp/run/cluster.json" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/log"; exit 1; }
  sleep 0.1
done
[ -e "$tmp/run/cluster.json" ] || { echo "cluster never became ready"; exit 1; }
sleep 1  # let start-up work (probes, log echo) drain before measuring idleness
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks "$pid"); t0=$(date +%s%N)
sleep "$window"
after=$(ticks "$pid"); t1=$(date +%s%N)
awk -v d=$((after - before)) -v hz="$hz" -v ns=$((t1 - t0)) \
  'BEGIN { printf "faultline up (20 idle nodes): %.3f%% of one core over %.1fs (%d ticks at %d Hz)\n", 100 * d / hz / (ns / 1e9), ns / 1e9, d, hz }'
