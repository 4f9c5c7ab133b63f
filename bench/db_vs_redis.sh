#!/usr/bin/env bash
# faultline-db vs redis-server with redis-benchmark, side by side on this machine.
#
#   bench/db_vs_redis.sh                 # uses build/bin/faultline-db
#   FL_BIN=build-db-rel/bin bench/db_vs_redis.sh
#   DURABLE=everysec bench/db_vs_redis.sh   # both servers log every write, fsync once a second
#
# Knobs (environment): FL_BIN (dir holding faultline-db), REQUESTS (200000), CLIENTS (50),
# PIPELINE (16), ROUNDS (3), TESTS (set,get), DURABLE (unset: both in memory only; always,
# everysec or never: redis-server with `appendonly yes` and that `appendfsync`, faultline-db with
# a data directory and that `--fsync`, as one shard master with no replicas). Both servers run on free loopback ports; rounds
# alternate between the servers so machine noise hits both alike; the median of the rounds is
# reported per test. Prints a markdown table; exits non-zero if a server fails to start.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FL_BIN=${FL_BIN:-build/bin}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
ROUNDS=${ROUNDS:-3}
TESTS=${TESTS:-set,get}
DB="$FL_BIN/faultline-db"

for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "db_vs_redis: $tool not found" >&2; exit 3; }
done
[[ -x "$DB" ]] || { echo "db_vs_redis: $DB not found or not executable (set FL_BIN)" >&2; exit 3; }

bench_workdir

DURABLE=${DURABLE:-}
redis_persist=(--appendonly no)
db_persist=()
if [[ -n $DURABLE ]]; then
  case $DURABLE in always | everysec | never) ;; *) echo "db_vs_redis: DURABLE=$DURABLE: want always, everysec or never" >&2; exit 3 ;; esac
  redis_persist=(--appendonly yes --appendfsync "$DURABLE")
  mkdir -p "$work/db"
  db_persist=(--dir "$work/db" --fsync "$DURABLE")
fi

free_port redis_port
redis-server --save "" "${redis_persist[@]}" --bind 127.0.0.1 --port "$redis_port" \
  --dir "$work" --logfile "$work/redis.log" &
redis_pid=$!
pids+=("$redis_pid")

"$DB" --host 127.0.0.1 --port 0 --id bench --log-level warn "${db_persist[@]}" >"$work/db.out" 2>"$work/db.err" &
db_pid=$!
pids+=("$db_pid")
deadline=$((SECONDS + 10))
until grep -q ' ready on ' "$work/db.out" 2>/dev/null; do
  ((SECONDS < deadline)) || { echo "db_vs_redis: faultline-db did not become ready" >&2; cat "$work/db.err" >&2; exit 3; }
  sleep 0.05
done
db_port=$(sed -nE 's/.* ready on [^:]+:([0-9]+)$/\1/p' "$work/db.out")

wait_ping "$redis_port"
wait_ping "$db_port"


# run SERVER PID PORT MODE TEST: appends the req/s to $work/SERVER.MODE.TEST.rps and the
# server's CPU microseconds per request to $work/SERVER.MODE.TEST.cpu.
run() {
  local server=$1 pid=$2 port=$3 mode=$4 test=$5 extra=() before after rps
  [[ $mode == pipelined ]] && extra=(-P "$PIPELINE")
  before=$(cpu_seconds "$pid")
  rps=$(redis-benchmark -h 127.0.0.1 -p "$port" -t "$test" -n "$REQUESTS" -c "$CLIENTS" \
          "${extra[@]}" --csv | awk -F'"' 'NR > 1 && $2 != "" { print $4; exit }')
  after=$(cpu_seconds "$pid")
  [[ -n $rps ]] || { echo "db_vs_redis: redis-benchmark gave no result against $server" >&2; exit 3; }
  echo "$rps" >>"$work/$server.$mode.$test.rps"
  awk -v a="$after" -v b="$before" -v n="$REQUESTS" 'BEGIN { print (a - b) * 1e6 / n }' \
    >>"$work/$server.$mode.$test.cpu"
}


IFS=, read -ra tests <<<"${TESTS,,}"
for round in $(seq "$ROUNDS"); do
  for mode in unpipelined pipelined; do
    for t in "${tests[@]}"; do
      # Alternate which server goes first, so drifting machine load hits both alike.
      if ((round % 2)); then
        run redis "$redis_pid" "$redis_port" "$mode" "$t"; run faultline "$db_pid" "$db_port" "$mode" "$t"
      else
        run faultline "$db_pid" "$db_port" "$mode" "$t"; run redis "$redis_pid" "$redis_port" "$mode" "$t"
      fi
    done
  done
  echo "db_vs_redis: round $round/$ROUNDS done" >&2
done

echo "\`redis-benchmark -t $TESTS -n $REQUESTS -c $CLIENTS\` without and with \`-P $PIPELINE\`;" \
  "median of $ROUNDS alternating rounds. CPU = server CPU time per request." \
  "${DURABLE:+Durable: appendfsync / --fsync $DURABLE.}"
echo
echo "| test | pipeline | redis-server req/s | faultline-db req/s | ratio | redis CPU µs/req | faultline CPU µs/req |"
echo "|------|---------:|-------------------:|-------------------:|------:|-----------------:|---------------------:|"
for mode in unpipelined pipelined; do
  p=1; [[ $mode == pipelined ]] && p=$PIPELINE
  for t in "${tests[@]}"; do
    r=$(median "$work/redis.$mode.$t.rps")
    f=$(median "$work/faultline.$mode.$t.rps")
    rc=$(median "$work/redis.$mode.$t.cpu")
    fc=$(median "$work/faultline.$mode.$t.cpu")
    ratio=$(awk -v f="$f" -v r="$r" 'BEGIN { printf "%.2f", f / r }')
    printf '| %s | %s | %.0f | %.0f | %sx | %.2f | %.2f |\n' "${t^^}" "$p" "$r" "$f" "$ratio" "$rc" "$fc"
  done
done
