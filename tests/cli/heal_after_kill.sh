#!/usr/bin/env bash
# heal_after_kill.sh FAULTLINE DATA_DIR
# SIGKILLs `faultline run` in the middle of (a) a netns partition and (b) a proxy partition with
# a paused node, then runs `faultline heal --all` and asserts nothing of the run is left: none
# of the fl-* namespaces, flbr-*/flv-* interfaces and faultline_* nft tables that appeared while
# it ran (others may belong to concurrent runs), no process of the run (its argv names its run
# directory), so no stopped one either. Needs root (exit 77: skipped).
set -euo pipefail
fl="$1"
data="$2"
if [ "$(id -u)" -ne 0 ]; then
  echo "skipped: needs root (network namespaces, nftables)"
  exit 77
fi
out="$(mktemp -d /tmp/fl-heal-XXXXXX)"
run_pid=""
cleanup() {
  if [ -n "$run_pid" ]; then kill -KILL "$run_pid" 2>/dev/null || true; fi
  "$fl" heal --all >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  for f in "$out"/*.log; do
    [ -e "$f" ] || continue
    echo "--- $f"
    tail -n 30 "$f"
  done
  exit 1
}

# Processes whose command line names `dir` (the run's node processes), as "pid state comm".
run_processes() {
  local dir="$1" p cmd
  for p in /proc/[0-9]*; do
    cmd="$({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null)" || continue
    case "$cmd" in
      *"$dir"*)
        # Field 3 of stat is the state (R, S, T, Z...), after the parenthesised command name.
        echo "${p#/proc/} $(sed 's/.*) //' "$p/stat" 2>/dev/null | cut -d' ' -f1) ${cmd:0:80}"
        ;;
    esac
  done
}

# Waits up to 90 s until events.jsonl of run dir $1 holds $2 fault.start events.
wait_for_faults() {
  local dir="$1" want="$2" n
  for _ in $(seq 1 900); do
    n="$(grep -c '"fault.start"' "$dir/events.jsonl" 2>/dev/null || true)"
    if [ "${n:-0}" -ge "$want" ]; then return 0; fi
    if ! kill -0 "$run_pid" 2>/dev/null; then fail "faultline run exited early"; fi
    sleep 0.1
  done
  fail "no $want fault.start events in $dir/events.jsonl after 90 s"
}

# The machine's fl-* namespaces and interfaces and faultline_* tables, one a line.
network_things() {
  ip netns list | awk '$1 ~ /^fl-/ { print "netns " $1 }'
  ip -o link show | awk -F': ' '$2 ~ /^(flbr|flv)-/ { sub(/@.*/, "", $2); print "link " $2 }'
  nft list tables | awk '$3 ~ /^faultline_/ { print "table " $2 " " $3 }'
}

case_run() {
  local name="$1" faults="$2" dir="$out/$1"
  network_things | sort >"$out/$name-before"
  "$fl" run "$data/heal-$name.toml" --out "$dir" >"$out/$name.log" 2>&1 &
  run_pid=$!
  wait_for_faults "$dir" "$faults"

  network_things | sort | comm -13 "$out/$name-before" - >"$out/$name-new"
  if [ "$name" = netns ]; then
    grep -q '^netns fl-' "$out/$name-new" || fail "netns: no new fl- namespace during the run"
    grep -q '^table inet faultline_' "$out/$name-new" || fail "netns: no new faultline table"
  else
    run_processes "$dir" | awk '$2 == "T"' | grep -q . ||
      fail "proxy: no stopped process of the run while db-s0-r2 is paused"
  fi

  kill -KILL "$run_pid"
  wait "$run_pid" 2>/dev/null || true
  run_pid=""

  "$fl" heal --all >"$out/$name-heal.log" 2>&1 || fail "faultline heal --all failed"
  cat "$out/$name-heal.log"

  # What a killed run leaves behind goes asynchronously (veths, dying processes): wait for it,
  # then assert.
  local left=""
  for _ in $(seq 1 100); do
    left="$(network_things | sort | comm -12 "$out/$name-new" -)$(run_processes "$dir")"
    [ -z "$left" ] && break
    sleep 0.1
  done
  [ -z "$left" ] || fail "$name: left after heal --all: $left"
  echo "ok: $name"
}

case_run netns 1
case_run proxy 2
