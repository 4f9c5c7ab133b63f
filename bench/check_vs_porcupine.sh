#!/usr/bin/env bash
# Times `faultline check` on the Porcupine corpus (tests/data/porcupine), for comparison with
# Porcupine's own figures in that corpus's README (Porcupine itself cannot run here: no Go
# toolchain, no network).
#
#   bench/check_vs_porcupine.sh                      # uses build/bin/faultline
#   FL_BIN=build-hist-rel/bin bench/check_vs_porcupine.sh
#   FL_BIN=/path/to/faultline RUNS=9 bench/check_vs_porcupine.sh
#   HISTORY_1M=/tmp/h1m.jsonl bench/check_vs_porcupine.sh   # also time a big history.jsonl
#
# FL_BIN is the faultline binary or the directory holding it. Each case runs RUNS times (default
# 7); the median wall time of the whole command (process start to exit: reading, parsing,
# checking, printing) and the peak RSS (getrusage, printed by --stats; cross-checked with
# /usr/bin/time -v when that exists) are reported as a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

fl="${FL_BIN:-build/bin/faultline}"
[ -d "$fl" ] && fl="$fl/faultline"
[ -x "$fl" ] || { echo "no faultline binary at $fl (set FL_BIN)" >&2; exit 3; }
runs="${RUNS:-7}"
corpus=tests/data/porcupine
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gnu_time=""
if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then gnu_time=/usr/bin/time; fi

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# bench_case NAME EXPECTED_EXIT ARGS_AS_WRITTEN ARGS...
bench_case() {
  local name="$1" want="$2" shown="$3"
  shift 3
  local times=() cpus=() rss=0 code
  for i in $(seq 1 "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    set +e
    if [ -n "$gnu_time" ]; then
      "$gnu_time" -v -o "$tmp/time" "$fl" check "$@" --stats >"$tmp/out" 2>"$tmp/err"
    else
      "$fl" check "$@" --stats >"$tmp/out" 2>"$tmp/err"
    fi
    code=$?
    set -e
    t1=$(date +%s%N)
    if [ "$code" != "$want" ]; then
      echo "$name: exit $code, expected $want" >&2
      cat "$tmp/err" >&2
      exit 1
    fi
    times+=($(( (t1 - t0) / 1000 )))
    cpus+=("$(grep -o 'cpu [0-9.]*' "$tmp/err" | awk '{print $2}')")
    local kib
    kib=$(grep -o 'peak RSS [0-9]*' "$tmp/err" | awk '{print $3}')
    [ "${kib:-0}" -gt "$rss" ] && rss=$kib
    if [ -n "$gnu_time" ]; then
      kib=$(awk -F': ' '/Maximum resident/ {print $2}' "$tmp/time")
      [ "${kib:-0}" -gt "$rss" ] && rss=$kib
    fi
  done
  local us cpu verdicts
  us=$(printf '%s\n' "${times[@]}" | median)
  cpu=$(printf '%s\n' "${cpus[@]}" | median)
  verdicts=$(grep -oE ': (valid|invalid|unknown) \(' "$tmp/out" | sort | uniq -c |
    awk '{printf "%s%d %s", (NR > 1 ? ", " : ""), $1, $3}')
  printf '| %s | %s | %.1f | %.1f | %.1f |\n' "$name" "$verdicts" \
    "$(echo "$us / 1000" | bc -l)" "$cpu" "$(echo "$rss / 1024" | bc -l)" >>"$tmp/table"
  echo "  $name: faultline check $shown --stats" >>"$tmp/commands"
}

echo "faultline: $fl ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)), median of $runs runs"
args="--model cas-register --format jepsen-log"
bench_case "102 etcd histories, one call" 1 "$args $corpus/jepsen/etcd_*.log" $args $corpus/jepsen/etcd_*.log
for f in c50-ok c50-bad; do
  args="--model kv-append --format edn $corpus/kv/$f.txt"
  bench_case "kv $f (one file)" "$([ $f = c50-ok ] && echo 0 || echo 1)" "$args" $args
done
args="--model kv-append --format edn --no-split $corpus/kv/c10-ok.txt"
bench_case "kv c10-ok as one unsplit map" 0 "$args" $args
args="--model kv-append --format edn"
bench_case "all 6 kv files, one call" 1 "$args $corpus/kv/*.txt" $args $corpus/kv/*.txt
if [ -n "${HISTORY_1M:-}" ]; then
  args="--model cas-register --format jsonl $HISTORY_1M"
  bench_case "$(basename "$HISTORY_1M")" 0 "$args" $args
fi

echo "commands:"
cat "$tmp/commands"
echo
echo "| case | verdicts | median wall ms | median CPU ms (user+sys) | peak RSS MiB |"
echo "|---|---|---|---|---|"
cat "$tmp/table"
