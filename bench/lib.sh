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
