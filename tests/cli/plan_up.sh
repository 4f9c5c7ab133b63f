#!/usr/bin/env bash
# `faultline up PLAN` must get every node ready (cluster.json appears), then stop cleanly on
# SIGTERM with exit 0. Used for plans/dev.toml, the cluster a developer keeps up; whether each
# plan reaches its declared outcome under `faultline run` is plan_outcome.sh's job.
# Usage: plan_up.sh FAULTLINE PLAN
set -euo pipefail
fl="$1"
plan="$2"
out="$(mktemp -d /tmp/fl-up-XXXXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; wait "$pid" || true; fi
  rm -rf "$out"
}
trap cleanup EXIT

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
