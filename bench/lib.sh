# Helpers shared by the bench scripts (sourced, not run).

bench_used_ports=" "
# free_port VAR: sets VAR to a loopback port nobody listens on and that this script has not
# handed out before (the server's own bind checks again).
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    [[ $bench_used_ports == *" $p "* ]] && continue
    if ! ss -Htln "sport = :$p" | grep -q .; then
      bench_used_ports+="$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  echo "$(basename "$0"): no free port found" >&2
  return 1
}

# wait_ping PORT [LOG]: waits until `redis-cli -p PORT ping` answers PONG, for at most 10 s;
# otherwise says so, with the tail of LOG when given, and fails.
wait_ping() {
  local port=$1 log=${2:-} deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]] && return 0
    sleep 0.05
  done
  echo "$(basename "$0"): nothing answers PING on port $port" >&2
  [[ -n $log && -f $log ]] && tail -20 "$log" >&2
  return 1
}

# CPU seconds (user + system) process PID has used so far.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.4f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }

# The median of the numbers in FILE, one per line.
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# bench_workdir: a temporary directory in $work and a list of background servers in $pids, both
# removed (the servers killed and reaped) when the script exits.
bench_workdir() {
  work=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT INT TERM
}
bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}

# start NAME ARGV...: starts a server in the background at niceness $NICE (default 0), output in
# $work/NAME.log, its pid in $pid_NAME (and in $pids).
start() {
  local name=$1
  shift
  nice -n "${NICE:-0}" "$@" >"$work/$name.log" 2>&1 &
  pids+=("$!")
  printf -v "pid_$name" '%s' "$!"
}

# start_haproxy VAR UPSTREAM_PORT: haproxy in TCP mode on a free port (set in VAR) in front of
# 127.0.0.1:UPSTREAM_PORT.
start_haproxy() {
  free_port "$1"
  cat >"$work/haproxy.cfg" <<EOF
global
  maxconn 4000
defaults
  mode tcp
  timeout connect 1s
  timeout client 60s
  timeout server 60s
listen redis
  bind 127.0.0.1:${!1}
  server r1 127.0.0.1:$2
EOF
  start haproxy haproxy -f "$work/haproxy.cfg" -db
}

# redis_bench LABEL PORT TEST CLIENTS PIPELINE [redis-benchmark args...]: one redis-benchmark run
# of $REQUESTS requests at niceness $NICE; appends rps, p50 and p99 (ms) to $work/LABEL.{rps,p50,p99}.
redis_bench() {
  local label=$1 port=$2 test=$3 clients=$4 pipeline=$5 line f
  shift 5
  line=$(nice -n "${NICE:-0}" redis-benchmark -h 127.0.0.1 -p "$port" -t "$test" -n "$REQUESTS" \
           -c "$clients" -P "$pipeline" "$@" --csv | awk -F'","' 'NR > 1 { print; exit }')
  [[ -n $line ]] || { echo "$(basename "$0"): redis-benchmark gave no result for $label" >&2; exit 3; }
  # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  for f in 2:rps 5:p50 7:p99; do
    awk -F'","' -v i="${f%%:*}" '{ v = $i; gsub(/"/, "", v); print v }' <<<"$line" >>"$work/$label.${f##*:}"
  done
}
