#!/usr/bin/env bash
# What the link proxy adds to a hop, in one run (docs/benchmarks.md, "Link proxy"): redis-server
# reached directly, through `faultline proxy` with no toxic, and through haproxy in TCP mode.
#   - throughput: redis-benchmark GET and SET, CLIENTS clients unpipelined, and GET -P PIPELINE;
#   - latency: one client, GET, p50 and p99 (redis-benchmark's histogram, µs resolution);
#   - the proxy's own CPU time per request (unpipelined GET).
#
#   bench/proxy_bench.sh                       # uses build/bin
#   FL_BIN=build-dev/bin REQUESTS=50000 ROUNDS=1 bench/proxy_bench.sh
#
# Knobs (environment): FL_BIN (build/bin), REQUESTS (200000), CLIENTS (50), PIPELINE (16),
# ROUNDS (3; the median of the rounds is reported; the paths take turns within each test),
# PROXY_THREADS (1: the faultline proxy's io threads; haproxy keeps its default), NICE (0: the
# niceness every server and redis-benchmark run at; on a machine busy with other work, a
# negative one, as root, gives them all the same head start). The machine's cores are shared
# with redis-benchmark: compare within one run, not across runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FL_BIN=${FL_BIN:-build/bin}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
ROUNDS=${ROUNDS:-3}
PROXY_THREADS=${PROXY_THREADS:-1}
NICE=${NICE:-0}

for tool in redis-server redis-cli redis-benchmark haproxy; do
  command -v "$tool" >/dev/null || { echo "proxy_bench: $tool not found (ci/setup.sh installs it)" >&2; exit 3; }
done
[[ -x "$FL_BIN/faultline" ]] || { echo "proxy_bench: $FL_BIN/faultline not found (set FL_BIN)" >&2; exit 3; }

bench_workdir

# --- the servers ------------------------------------------------------------------------------
free_port redis_port
start redis redis-server --save "" --appendonly no --bind 127.0.0.1 --port "$redis_port" --dir "$work"

start_haproxy haproxy_port "$redis_port"

free_port fl_port
start faultline "$FL_BIN/faultline" proxy "127.0.0.1:$fl_port" "127.0.0.1:$redis_port" \
  --threads "$PROXY_THREADS"

wait_ping "$redis_port" "$work/redis.log"
wait_ping "$haproxy_port" "$work/haproxy.log"
wait_ping "$fl_port" "$work/faultline.log"
redis-cli -h 127.0.0.1 -p "$redis_port" set key:__rand_int__ xxx >/dev/null

paths=(direct:$redis_port:0 faultline:$fl_port:$pid_faultline haproxy:$haproxy_port:$pid_haproxy)

# --- the rounds -------------------------------------------------------------------------------
# Each test runs on the three paths back to back, so a change in the machine's load hits them
# alike; the medians over the rounds are reported.
for round in $(seq "$ROUNDS"); do
  for target in "${paths[@]}"; do
    IFS=: read -r name port pid <<<"$target"
    redis_bench "$name.lat" "$port" get 1 1
  done
  for target in "${paths[@]}"; do
    IFS=: read -r name port pid <<<"$target"
    [[ $pid != 0 ]] && before=$(cpu_seconds "$pid")
    redis_bench "$name.get" "$port" get "$CLIENTS" 1
    if [[ $pid != 0 ]]; then
      after=$(cpu_seconds "$pid")
      awk -v a="$after" -v b="$before" -v n="$REQUESTS" 'BEGIN { print (a - b) * 1e6 / n }' >>"$work/$name.cpu"
    fi
  done
  for target in "${paths[@]}"; do
    IFS=: read -r name port pid <<<"$target"
    redis_bench "$name.set" "$port" set "$CLIENTS" 1
  done
  for target in "${paths[@]}"; do
    IFS=: read -r name port pid <<<"$target"
    redis_bench "$name.pipe" "$port" get "$CLIENTS" "$PIPELINE"
  done
  echo "proxy_bench: round $round/$ROUNDS done" >&2
done

# --- the report -------------------------------------------------------------------------------
m() { median "$work/$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
us() { awk -v a="$1" 'BEGIN { printf "%.0f", a * 1000 }'; }
echo "redis-benchmark -n $REQUESTS; median of $ROUNDS rounds; $CLIENTS clients; niceness $NICE; faultline proxy with $PROXY_THREADS io thread(s), haproxy $(haproxy -v | awk 'NR == 1 { print $3 }') with its defaults."
echo
echo "| path | GET req/s | SET req/s | GET req/s -P $PIPELINE | p50 µs (1 client) | p99 µs (1 client) | added p50 µs | proxy CPU µs/req |"
echo "|------|------:|------:|------:|------:|------:|------:|------:|"
d50=$(m direct.lat.p50)
for name in direct faultline haproxy; do
  cpu=-
  [[ -f $work/$name.cpu ]] && cpu=$(awk -v c="$(m "$name.cpu")" 'BEGIN { printf "%.1f", c }')
  label=$name
  [[ $name == faultline ]] && label="faultline proxy"
  printf '| %s | %.0f | %.0f | %.0f | %s | %s | %s | %s |\n' "$label" "$(m "$name.get.rps")" \
    "$(m "$name.set.rps")" "$(m "$name.pipe.rps")" "$(us "$(m "$name.lat.p50")")" \
    "$(us "$(m "$name.lat.p99")")" "$(awk -v a="$(m "$name.lat.p50")" -v b="$d50" 'BEGIN { printf "%.0f", (a - b) * 1000 }')" "$cpu"
done
echo
echo "| ratio | GET | SET | GET -P $PIPELINE |"
echo "|-------|----:|----:|----:|"
for pair in faultline:direct haproxy:direct faultline:haproxy; do
  a=${pair%%:*} b=${pair##*:}
  printf '| %s / %s | %s | %s | %s |\n' "$a" "$b" "$(ratio "$(m "$a.get.rps")" "$(m "$b.get.rps")")" \
    "$(ratio "$(m "$a.set.rps")" "$(m "$b.set.rps")")" "$(ratio "$(m "$a.pipe.rps")" "$(m "$b.pipe.rps")")"
done
