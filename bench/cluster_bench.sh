#!/usr/bin/env bash
# The reference cluster's hot paths beside their peers, in one run (docs/benchmarks.md):
#   1. whole path client -> faultline-lb -> faultline-cache -> faultline-db, GET hits and misses
#      (and SET, write-through);
#   2. the latency and throughput a proxy adds in front of one redis-server: faultline-lb
#      beside haproxy in TCP mode, and the direct connection;
#   3. cache GET hits: faultline-cache beside redis-server (redis-benchmark) and memcached
#      (memaslap, when installed: `apt-get install memcached libmemcached-tools`).
#
#   bench/cluster_bench.sh            # uses build/bin
#   FL_BIN=build-dev/bin REQUESTS=50000 ROUNDS=1 bench/cluster_bench.sh
#
# Knobs (environment): FL_BIN (build/bin), REQUESTS (200000), CLIENTS (50), PIPELINE (16),
# ROUNDS (3; the median is reported), MEMASLAP_TIME (5s). Servers run on free loopback
# ports, each pinned to nothing (2 cores are shared with the load generator: numbers are for
# comparing side by side within one run, not absolute). Prints markdown tables.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FL_BIN=${FL_BIN:-build/bin}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
ROUNDS=${ROUNDS:-3}
MEMASLAP_TIME=${MEMASLAP_TIME:-5s}

for tool in redis-server redis-cli redis-benchmark haproxy; do
  command -v "$tool" >/dev/null || { echo "cluster_bench: $tool not found (ci/setup.sh installs it)" >&2; exit 3; }
done
for b in faultline-lb faultline-cache faultline-db; do
  [[ -x "$FL_BIN/$b" ]] || { echo "cluster_bench: $FL_BIN/$b not found (set FL_BIN)" >&2; exit 3; }
done

bench_workdir


# --- the servers ------------------------------------------------------------------------------
free_port redis_port
start redis redis-server --save "" --appendonly no --bind 127.0.0.1 --port "$redis_port" --dir "$work"

start_haproxy haproxy_port "$redis_port"

free_port lbr_port
start lbr "$FL_BIN/faultline-lb" --id lb-redis --host 127.0.0.1 --port "$lbr_port" \
  --backend "redis,127.0.0.1:$redis_port" --policy round-robin --log-level warn

free_port db_port
mkdir -p "$work/db"
start db "$FL_BIN/faultline-db" --id db --host 127.0.0.1 --port "$db_port" --dir "$work/db" \
  --fsync everysec --log-level warn
free_port cache_port
start cache "$FL_BIN/faultline-cache" --id cache --host 127.0.0.1 --port "$cache_port" \
  --db "db,0,127.0.0.1:$db_port" --capacity 256MiB --log-level warn
# A cache smaller than one entry (128 bytes of overhead each): every GET misses, reads the db
# and is not kept.
free_port cold_port
start cold "$FL_BIN/faultline-cache" --id cold --host 127.0.0.1 --port "$cold_port" \
  --db "db,0,127.0.0.1:$db_port" --capacity 64 --log-level warn
free_port lb_port
start lb "$FL_BIN/faultline-lb" --id lb --host 127.0.0.1 --port "$lb_port" \
  --backend "cache,127.0.0.1:$cache_port" --policy key-hash --log-level warn
free_port lbcold_port
start lbcold "$FL_BIN/faultline-lb" --id lbcold --host 127.0.0.1 --port "$lbcold_port" \
  --backend "cold,127.0.0.1:$cold_port" --policy key-hash --log-level warn

for name in redis haproxy lbr db cache cold lb lbcold; do
  port_var=${name}_port
  wait_ping "${!port_var}" "$work/$name.log"
done

memcached_port=
if command -v memcached >/dev/null && command -v memcaslap >/dev/null; then
  free_port memcached_port
  start memcached memcached -u "$(id -un)" -l 127.0.0.1 -p "$memcached_port" -m 256 -t 1
fi

# The keys every GET test reads exist: redis-benchmark's GET reads key:__rand_int__ (one key
# without -r), which its SET test writes.
for p in "$redis_port" "$lb_port" "$lbcold_port"; do
  redis-cli -h 127.0.0.1 -p "$p" set key:__rand_int__ xxx >/dev/null
done

# --- the rounds -------------------------------------------------------------------------------
for round in $(seq "$ROUNDS"); do
  # 1. whole path
  redis_bench path.get.hit "$lb_port" get "$CLIENTS" 1
  redis_bench path.get.miss "$lbcold_port" get "$CLIENTS" 1
  redis_bench path.set "$lb_port" set "$CLIENTS" 1
  redis_bench path.get.hit.lat "$lb_port" get 1 1
  redis_bench path.get.miss.lat "$lbcold_port" get 1 1
  # 2. proxies in front of redis-server: one client for latency, CLIENTS x PIPELINE for throughput
  for target in direct:$redis_port haproxy:$haproxy_port lb:$lbr_port; do
    name=${target%%:*} port=${target##*:}
    redis_bench "proxy.$name.lat" "$port" get 1 1
    redis_bench "proxy.$name.tput" "$port" get "$CLIENTS" "$PIPELINE"
  done
  # 3. cache GET hits beside redis-server, with the server's CPU time per request
  for target in redis:$redis_port:$pid_redis cache:$cache_port:$pid_cache; do
    IFS=: read -r name port pid <<<"$target"
    before=$(cpu_seconds "$pid")
    redis_bench "get.$name" "$port" get "$CLIENTS" 1
    after=$(cpu_seconds "$pid")
    awk -v a="$after" -v b="$before" -v n="$REQUESTS" 'BEGIN { print (a - b) * 1e6 / n }' >>"$work/get.$name.cpu"
  done
  if [[ -n $memcached_port ]]; then
    printf 'key\n16 16 1\nvalue\n3 3 1\ncmd\n0 0.0\n1 1.0\n' >"$work/memaslap.cfg"
    before=$(cpu_seconds "$pid_memcached")
    out=$(memcaslap -s "127.0.0.1:$memcached_port" -T 1 -c "$CLIENTS" -w 1k -t "$MEMASLAP_TIME" -F "$work/memaslap.cfg" 2>&1)
    after=$(cpu_seconds "$pid_memcached")
    gets=$(sed -nE 's/^cmd_get: ([0-9]+)/\1/p' <<<"$out")
    sets=$(sed -nE 's/^cmd_set: ([0-9]+)/\1/p' <<<"$out")
    secs=$(sed -nE 's/^Run time: ([0-9.]+)s.*/\1/p' <<<"$out")
    awk -v g="$gets" -v t="$secs" 'BEGIN { print g / t }' >>"$work/get.memcached.rps"
    awk -v a="$after" -v b="$before" -v n="$((gets + sets))" 'BEGIN { print (a - b) * 1e6 / n }' >>"$work/get.memcached.cpu"
  fi
  echo "cluster_bench: round $round/$ROUNDS done" >&2
done

# --- the report -------------------------------------------------------------------------------
m() { median "$work/$1"; }
echo "redis-benchmark -n $REQUESTS; median of $ROUNDS rounds; latency in ms from redis-benchmark."
echo
echo "Whole path (client -> faultline-lb -> faultline-cache -> faultline-db):"
echo
echo "| operation | req/s ($CLIENTS clients) | p50 ms (1 client) | p99 ms (1 client) |"
echo "|-----------|------:|------:|------:|"
printf '| GET hit | %.0f | %s | %s |\n' "$(m path.get.hit.rps)" "$(m path.get.hit.lat.p50)" "$(m path.get.hit.lat.p99)"
printf '| GET miss (db read) | %.0f | %s | %s |\n' "$(m path.get.miss.rps)" "$(m path.get.miss.lat.p50)" "$(m path.get.miss.lat.p99)"
printf '| SET (write-through) | %.0f | - | - |\n' "$(m path.set.rps)"
echo
echo "A proxy in front of one redis-server (GET):"
echo
echo "| path | p50 ms (1 client) | p99 ms (1 client) | added p50 µs | req/s ($CLIENTS clients, -P $PIPELINE) | ratio to direct |"
echo "|------|------:|------:|------:|------:|------:|"
d50=$(m proxy.direct.lat.p50) drps=$(m proxy.direct.tput.rps)
for name in direct haproxy lb; do
  p50=$(m "proxy.$name.lat.p50") p99=$(m "proxy.$name.lat.p99") rps=$(m "proxy.$name.tput.rps")
  label=$name; [[ $name == lb ]] && label=faultline-lb
  printf '| %s | %s | %s | %.0f | %.0f | %.2fx |\n' "$label" "$p50" "$p99" \
    "$(awk -v a="$p50" -v b="$d50" 'BEGIN { print (a - b) * 1000 }')" "$rps" \
    "$(awk -v a="$rps" -v b="$drps" 'BEGIN { print a / b }')"
done
echo
echo "Cache GET hits ($CLIENTS clients, no pipelining; CPU = server CPU µs per request):"
echo
echo "| server | req/s | CPU µs/req | ratio to redis |"
echo "|--------|------:|------:|------:|"
r=$(m get.redis.rps)
for name in redis cache memcached; do
  [[ -f $work/get.$name.rps ]] || continue
  label=$name
  case $name in redis) label=redis-server ;; cache) label=faultline-cache ;; memcached) label="memcached (memaslap)" ;; esac
  printf '| %s | %.0f | %.2f | %.2fx |\n' "$label" "$(m "get.$name.rps")" "$(m "get.$name.cpu")" \
    "$(awk -v a="$(m "get.$name.rps")" -v b="$r" 'BEGIN { print a / b }')"
done
