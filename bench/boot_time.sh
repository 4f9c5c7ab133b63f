#!/usr/bin/env bash
# Times `faultline up PLAN --out D` from process start until D/cluster.json exists (written only
# once every node passed its readiness probe). Prints each run and the median.
#   bench/boot_time.sh [RUNS] [PLAN]   (default 5 runs of plans/boot-20.toml; FL_BIN=build/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
fl="${FL_BIN:-build/bin}/faultline"
runs="${1:-5}"
plan="${2:-plans/boot-20.toml}"
tmp="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

times=()
for i in $(seq 1 "$runs"); do
  out="$tmp/run$i"
  t0=$(date +%s%N)
  "$fl" up "$plan" --out "$out" >"$tmp/log$i" 2>&1 &
  pid=$!
  deadline=$((t0 + 60000000000))
  until [ -e "$out/cluster.json" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "faultline up exited early:"; cat "$tmp/log$i"; exit 1; fi
    if [ "$(date +%s%N)" -gt "$deadline" ]; then echo "no cluster.json after 60s"; exit 1; fi
    sleep 0.001
  done
  t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 ))
  own=$(grep -o 'ready in [0-9.]*s' "$tmp/log$i" | head -n1 || true)
  kill -TERM "$pid"
  wait "$pid" || { echo "faultline up exited non-zero after SIGTERM"; exit 1; }
  pid=""
  echo "run $i: ${ms} ms to cluster.json (faultline's own count: ${own:-?})"
  times+=("$ms")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
echo "median of $runs runs: ${median} ms"
