#!/usr/bin/env bash
# How accurate the load generator is, against one redis-server (persistence off, free loopback
# port), always recording every operation into a history file:
#   (a) closed loop, kv-mix GET/SET 1:1, 50 connections, no pipelining, vs redis-benchmark
#       -t get,set -c 50 in the same run;
#   (b) open loop at RATE ops/s for 20 s: achieved/target;
#   (c) open loop for 20 s with the server SIGSTOPped for 1 s: max and p99 latency, beside what
#       closed-loop tools (redis-benchmark, and load_driver --mode closed) report for the same stall;
#   (d) 60 s open loop at RATE ops/s: peak RSS.
#
#   FL_BENCH_BIN=build-load-rel/bench bench/load_accuracy.sh
#
# Knobs (environment): FL_BENCH_BIN (dir holding load_driver; default build/bench), RATE (20000),
# STALL_RATE (10000), LONG (60s). Prints a markdown report; exits 3 if something cannot start.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

BIN=${FL_BENCH_BIN:-build/bench}
RATE=${RATE:-20000}
STALL_RATE=${STALL_RATE:-10000}
LONG=${LONG:-60s}
DRIVER="$BIN/load_driver"

for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "load_accuracy: $tool not found" >&2; exit 3; }
done
[[ -x "$DRIVER" ]] || { echo "load_accuracy: $DRIVER not found (set FL_BENCH_BIN)" >&2; exit 3; }

work=$(mktemp -d)
redis_pid=
cleanup() {
  if [[ -n $redis_pid ]]; then
    kill -CONT "$redis_pid" 2>/dev/null || true
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port port
redis-server --save "" --appendonly no --bind 127.0.0.1 --port "$port" --dir "$work" \
  --logfile "$work/redis.log" &
redis_pid=$!
deadline=$((SECONDS + 10))
until [[ "$(redis-cli -p "$port" ping 2>/dev/null)" == PONG ]]; do
  ((SECONDS < deadline)) || { echo "load_accuracy: redis-server did not answer PING" >&2; exit 3; }
  sleep 0.05
done

# driver ARGS...: runs load_driver with a history file and prints its key=value output.
driver() { "$DRIVER" --port "$port" --history "$work/history.jsonl" --mix get=1,set=1 "$@"; }
field() { sed -nE "s/^$1=(.*)$/\1/p" <<<"$2"; }
# stall_after SECONDS: SIGSTOPs redis for 1 s, SECONDS from now (in the background).
stall_after() {
  (sleep "$1"; kill -STOP "$redis_pid"; sleep 1; kill -CONT "$redis_pid") &
  stall_pid=$!
}

echo "## (a) closed loop, 50 connections, no pipelining"
rb=$(redis-benchmark -p "$port" -t get,set -c 50 -n 1000000 --csv)
rb_set=$(awk -F'"' '$2 == "SET" { print $4 }' <<<"$rb")
rb_get=$(awk -F'"' '$2 == "GET" { print $4 }' <<<"$rb")
a=$(driver --mode closed --concurrency 50 --connections 50 --keys 10000 --duration 10s)
a_ops=$(field ops_per_sec "$a")
rb_mean=$(awk -v s="$rb_set" -v g="$rb_get" 'BEGIN { printf "%.0f", (s + g) / 2 }')
echo "redis-benchmark -c 50: SET $rb_set/s, GET $rb_get/s (mean $rb_mean/s)"
echo "load_driver closed, 50 conns, kv-mix get=1,set=1, recorded: $a_ops/s," \
  "ratio $(awk -v a="$a_ops" -v b="$rb_mean" 'BEGIN { printf "%.2f", a / b }')," \
  "history ops $(field history_ops "$a")"

echo "## (b) open loop at $RATE/s for 20 s"
b=$(driver --mode open --rate "$RATE" --concurrency 200 --duration 20s)
echo "achieved $(field ops_per_sec "$b")/s of $RATE/s" \
  "(ratio $(awk -v a="$(field ops_per_sec "$b")" -v r="$RATE" 'BEGIN { printf "%.4f", a / r }'))," \
  "late $(field late "$b"), missed $(field missed "$b"), p50 $(field p50_ms "$b") ms," \
  "p99 $(field p99_ms "$b") ms, max $(field max_ms "$b") ms, history ops $(field history_ops "$b")"

echo "## (c) 1 s SIGSTOP 5 s into a 20 s run"
stall_after 5
c=$(driver --mode open --rate "$STALL_RATE" --concurrency 20000 --timeout 5s --duration 20s)
wait "$stall_pid"
echo "load_driver open loop $STALL_RATE/s: p50 $(field p50_ms "$c") ms, p99 $(field p99_ms "$c") ms," \
  "p99.9 $(field p999_ms "$c") ms, max $(field max_ms "$c") ms, ok $(field ok "$c")," \
  "late $(field late "$c")"
stall_after 5
cc=$(driver --mode closed --concurrency 50 --connections 50 --timeout 5s --duration 20s)
wait "$stall_pid"
echo "load_driver closed loop, 50 conns: $(field ops_per_sec "$cc")/s, p50 $(field p50_ms "$cc") ms," \
  "p99 $(field p99_ms "$cc") ms, max $(field max_ms "$cc") ms"
stall_after 5
rbs=$(redis-benchmark -p "$port" -t get -c 50 -n 2000000 --csv)
wait "$stall_pid"
# "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
echo "redis-benchmark -t get -c 50 -n 2000000: $(awk -F'"' '$2 == "GET" { printf "%s/s, p50 %s ms, p99 %s ms, max %s ms", $4, $10, $14, $16 }' <<<"$rbs")"

echo "## (d) $LONG open loop at $RATE/s"
d=$(driver --mode open --rate "$RATE" --concurrency 200 --duration "$LONG")
echo "achieved $(field ops_per_sec "$d")/s, history ops $(field history_ops "$d")," \
  "history file $(du -m "$work/history.jsonl" | cut -f1) MiB, peak RSS $(field peak_rss_mib "$d") MiB"
