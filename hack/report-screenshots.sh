#!/usr/bin/env bash
# Screenshots of the HTML report for the docs: the page-cache, heap-leak and OOM-restart fixtures,
# whole pages at 1280 px and 400 px wide, taken with Debian's headless Chromium
# (`apt-get install -y chromium`; hack/install-deps.sh installs it), made smaller by pngquant when it
# is installed (`apt-get install -y pngquant`).
#
#   hack/report-screenshots.sh [OUT_DIR]     # default docs/img: report-<case>-<width>.png
#
# Each report is made by ./bin/memaudit as a user would (its footer shows that command line and the
# time it ran), then laid out once in an iframe of each width to learn the page's height, then
# shot at that width and height. test/integration/report/html-layout.test.ts checks the same
# pages element by element; these images are for people.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${1:-docs/img}"
WIDTHS=(1280 400)
CASES=(pagecache heap-leak oom-restart)

command -v chromium >/dev/null || { echo "report-screenshots: needs chromium (apt-get install -y chromium, or hack/install-deps.sh)" >&2; exit 69; }
[[ -x node_modules/.bin/node ]] || { echo "report-screenshots: run 'npm ci' first (it installs Node 24 for ./bin/memaudit)" >&2; exit 69; }
mkdir -p "$OUT"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Without the background-networking flags Chromium tries to reach Google's services at start.
chrome() {
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$(mktemp -d -p "$TMP")" "$@" 2>/dev/null
}

report() {
  local name=$1
  shift
  ./bin/memaudit analyze "$@" -o html >"$TMP/$name.html"
}
report pagecache --docker-stats test/fixtures/docker-stats/pagecache-limit64m.jsonl
# The recording has no limit; 256 MiB shows the trend projected to it and the time to OOM.
report heap-leak --cgroup test/fixtures/traces/heap-leak/trace.jsonl \
  --pprof test/fixtures/traces/heap-leak/heap-1.pb.gz test/fixtures/traces/heap-leak/heap-2.pb.gz test/fixtures/traces/heap-leak/heap-3.pb.gz --limit 256m
report oom-restart --cgroup test/fixtures/traces/py-oom-restart/trace.jsonl

# Page heights: each report in an iframe of each width (a headless window is at least 500 px wide,
# an iframe is exactly as wide as asked), its height written into the harness page.
{
  echo '<!doctype html><html><body style="margin:0">'
  for name in "${CASES[@]}"; do
    doc="$(sed -e 's/&/\&amp;/g' -e 's/"/\&quot;/g' "$TMP/$name.html")"
    for w in "${WIDTHS[@]}"; do
      echo "<pre id=\"h-$name-$w\"></pre><iframe style=\"width:${w}px;height:20000px;border:0;display:block\" onload=\"document.getElementById('h-$name-$w').textContent = Math.ceil(this.contentDocument.documentElement.getBoundingClientRect().height)\" srcdoc=\"$doc\"></iframe>"
    done
  done
  echo '</body></html>'
} >"$TMP/harness.html"
chrome --window-size=1400,1000 --dump-dom "file://$TMP/harness.html" >"$TMP/heights.html"

for name in "${CASES[@]}"; do
  for w in "${WIDTHS[@]}"; do
    h="$(sed -n "s/.*<pre id=\"h-$name-$w\">\([0-9]*\)<\/pre>.*/\1/p" "$TMP/heights.html")"
    [[ -n "$h" ]] || { echo "report-screenshots: no page height for $name at $w px" >&2; exit 1; }
    chrome --window-size="$w,$h" --screenshot="$OUT/report-$name-$w.png" "file://$TMP/$name.html" >/dev/null
    # A palette of 256 colours keeps these pages sharp at a third of the size.
    if command -v pngquant >/dev/null; then pngquant --quality=70-95 --speed 1 --strip --force --output "$OUT/report-$name-$w.png" -- "$OUT/report-$name-$w.png"; fi
    echo "$OUT/report-$name-$w.png: ${w}x$h, $(($(stat -c %s "$OUT/report-$name-$w.png") / 1024)) KiB"
  done
done
