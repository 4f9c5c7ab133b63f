#!/usr/bin/env bash
# Renders report.html in headless Chromium and checks what a person would look for:
#   render_report.sh FAULTLINE SOURCE_DIR
# (a) `faultline run plans/quickstart.toml` writes report.html into its run directory;
# (b) the page, rendered, has the elements of the report contract (meta and replay command, the
#     latency / throughput / availability plots, one .check per check of results.json), no
#     external URL, and a screenshot that is not blank;
# (c) the same for `faultline report` of tests/data/report-violation (a real run of the seeded
#     bug quorum-read-one, shortened), plus the violation timeline with its illegal point and the
#     plan's fault windows.
# Exit 77 (skipped) only when Chromium is not installed.
set -euo pipefail
fl="$(realpath "$1")"
src="$(realpath "$2")"

chromium_bin=""
for c in chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null 2>&1; then chromium_bin="$(command -v "$c")"; break; fi
done
if [ -z "$chromium_bin" ]; then
  echo "render_report.sh: chromium is not installed; skipped"
  exit 77
fi

work="$(mktemp -d /tmp/fl-render-XXXXXX)"
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# Headless Chromium with a throwaway profile and no network (--host-resolver-rules sends every
# name nowhere; file:// still loads).
chrome() {
  timeout 120 "$chromium_bin" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --no-first-run --disable-extensions --disable-sync --disable-background-networking \
    --host-resolver-rules="MAP * ~NOTFOUND" --user-data-dir="$work/profile" "$@" \
    2>>"$work/chromium.log"
}

# How many times the DOM has an element <TAG ...> whose attributes include ATTR="VALUE" (class
# attributes match when VALUE is one of their words).
count_elements() {
  local dom="$1" tag="$2" attr="$3" value="$4"
  if [ "$attr" = class ]; then
    { grep -oE "<$tag( [^>]*)? class=\"([^\"]* )?$value( [^\"]*)?\"" "$dom" || true; } | wc -l
  else
    { grep -oE "<$tag( [^>]*)? $attr=\"$value\"" "$dom" || true; } | wc -l
  fi
}

expect_at_least() {
  local what="$1" want="$2" got="$3"
  if [ "$got" -lt "$want" ]; then fail "$what: $got, expected at least $want"; fi
}

# The kinds of results.json's checks, one a line, in order (results.json is pretty-printed by the
# harness: a check's "kind" and "verdict" are its first keys, six spaces in).
check_kinds() {
  awk '/^      "kind": /{ gsub(/[",]/, "", $2); kind = $2 }
       /^      "verdict": /{ if (kind != "") print kind; kind = "" }' "$1"
}

# A blank page's screenshot, to tell a rendered report from an empty one by size (a PNG of one
# colour compresses to almost nothing).
printf '<!doctype html><html><body></body></html>\n' >"$work/blank.html"
chrome --window-size=1280,2000 --screenshot="$work/blank.png" "file://$work/blank.html" >/dev/null
blank_size=$(stat -c %s "$work/blank.png")

# render NAME RUN_DIR_OR_EMPTY HTML: renders HTML, checks the page; RUN_DIR's results.json gives
# the checks expected.
render() {
  local name="$1" results="$2" html="$3"
  local dom="$work/$name.dom.html" png="$work/$name.png"
  echo "--- $name: $html"
  if [ ! -s "$html" ]; then fail "$name: no report.html"; return; fi
  chrome --dump-dom "file://$html" >"$dom" || fail "$name: chromium --dump-dom failed"
  chrome --window-size=1280,2000 --screenshot="$png" "file://$html" >/dev/null ||
    fail "$name: chromium --screenshot failed"
  if [ -n "${FL_RENDER_KEEP:-}" ]; then
    mkdir -p "$FL_RENDER_KEEP"
    cp "$png" "$dom" "$FL_RENDER_KEEP/"
  fi

  for id in meta replay plot-latency plot-throughput plot-availability-nodes \
            plot-availability-shards checks; do
    [ "$(grep -c "id=\"$id\"" "$dom")" -ge 1 ] || fail "$name: no element with id=\"$id\""
  done
  [ "$(count_elements "$dom" section id meta)" -eq 1 ] || fail "$name: no <section id=\"meta\">"
  [ "$(count_elements "$dom" code id replay)" -eq 1 ] || fail "$name: no <code id=\"replay\">"
  grep -q '<code id="replay">faultline run ' "$dom" || fail "$name: the replay command is not a faultline run"
  [ "$(count_elements "$dom" section id checks)" -eq 1 ] || fail "$name: no <section id=\"checks\">"
  for id in plot-latency plot-throughput plot-availability-nodes plot-availability-shards; do
    [ "$(count_elements "$dom" svg id "$id")" -eq 1 ] || fail "$name: no <svg id=\"$id\">"
    # Each plot has a <title> as its first child.
    grep -qE "<svg [^>]*id=\"$id\"[^>]*>[[:space:]]*<title>" "$dom" || fail "$name: <svg id=\"$id\"> has no <title>"
  done

  # One .check per check of results.json, in its order.
  local want got
  want="$(check_kinds "$results")"
  got="$({ grep -oE '<div class="check"[^>]* data-kind="[^"]*"' "$dom" || true; } | sed -E 's/.*data-kind="([^"]*)"/\1/')"
  [ -n "$want" ] || fail "$name: no checks in $results"
  [ "$want" = "$got" ] || fail "$name: checks in the page ($(echo $got)) differ from results.json ($(echo $want))"
  echo "$name: checks $(echo $got)"

  # Self-contained: nothing fetched from anywhere (an SVG namespace name is not fetched).
  local urls
  urls="$(sed -e 's#xmlns="http://www.w3.org/2000/svg"##g' -e 's#xmlns:xlink="http://www.w3.org/1999/xlink"##g' "$html" |
    grep -oiE 'https?://[^"<> ]*|@import|(src|href)="(//|[a-z]+:)?[^"#]|url\([^)d#]' | grep -viE '^(src|href)="data:' || true)"
  [ -z "$urls" ] || fail "$name: external references: $(echo "$urls" | sort -u | head -5 | tr '\n' ' ')"

  # The screenshot shows something.
  if [ ! -s "$png" ]; then
    fail "$name: no screenshot"
  else
    local size
    size=$(stat -c %s "$png")
    echo "$name: screenshot $size bytes (a blank page: $blank_size)"
    [ "$size" -gt $((blank_size * 5 + 20000)) ] || fail "$name: the screenshot looks blank ($size bytes)"
  fi
}

# The <svg id=ID> element of a DOM, on one line.
svg_of() {
  tr '\n' ' ' <"$1" | grep -oP "<svg [^>]*id=\"$2\".*?</svg>" || true
}

# check_fault_windows NAME EVENTS DOM: a plan with faults shows them on the latency and
# throughput plots, each window a <rect class="fault-window"> with a <title>.
check_fault_windows() {
  local name="$1" events="$2" dom="$3" faults plot rects
  faults=$(grep -c '"type":"fault.start"' "$events" || true)
  for plot in plot-latency plot-throughput; do
    rects=$(svg_of "$dom" "$plot" |
      { grep -oE '<rect( [^>]*)? class="fault-window"[^>]*>[[:space:]]*<title>' || true; } | wc -l)
    if [ "$faults" -gt 0 ]; then
      expect_at_least "$name: fault windows (with a <title>) on $plot" "$faults" "$rects"
    else
      [ "$rects" -eq 0 ] || fail "$name: $rects fault windows on $plot, but the run had no fault"
    fi
  done
  echo "$name: $faults faults"
}

# (a) + (b): a real run of the quick start.
quick="$work/quickstart"
status=0
(cd "$src" && "$fl" run plans/quickstart.toml --out "$quick" --quiet >"$work/quickstart.out" 2>&1) || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
  cat "$work/quickstart.out"
  fail "quickstart: faultline run exited $status"
fi
render quickstart "$quick/results.json" "$quick/report.html"
check_fault_windows quickstart "$quick/events.jsonl" "$work/quickstart.dom.html"

# (c): the violation fixture, its report regenerated from the run directory's files.
fixture="$src/tests/data/report-violation"
"$fl" report "$fixture" --out "$work/violation.html" >"$work/violation.out" 2>&1 ||
  { cat "$work/violation.out"; fail "faultline report $fixture failed"; }
render violation "$fixture/results.json" "$work/violation.html"
dom="$work/violation.dom.html"
grep -qE '<div class="check"[^>]* data-kind="linearizable" data-verdict="invalid"' "$dom" ||
  fail "violation: no invalid linearizable check"
[ "$(count_elements "$dom" svg class violation-timeline)" -eq 1 ] || fail "violation: no svg.violation-timeline"
[ "$(count_elements "$dom" g class illegal-point)" -eq 1 ] || fail "violation: no g.illegal-point"
expect_at_least "violation: operations in the timeline" 2 "$(count_elements "$dom" g class op)"
expect_at_least "violation: failing operation in the timeline" 1 "$(count_elements "$dom" g class failing)"
grep -q 'class="illegal-caption"' "$dom" || fail "violation: no caption for the illegal point"
grep -q '"type":"fault.start"' "$fixture/events.jsonl" || fail "violation: the fixture has no fault events"
check_fault_windows violation "$fixture/events.jsonl" "$dom"

if [ "$failures" -gt 0 ]; then
  echo "render_report.sh: $failures failures (chromium's log: $(tail -n 3 "$work/chromium.log" | tr '\n' ' '))"
  exit 1
fi
echo "render_report.sh: ok"
