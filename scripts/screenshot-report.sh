#!/usr/bin/env bash
# Renders the HTML report, loads it in headless Chromium, checks that the key
# elements are in the rendered DOM, that the page logs no console error and
# loads nothing from the network, that a plugin string such as
# `<script>alert(1)</script>` renders as text, and takes screenshots.
#
#   scripts/screenshot-report.sh [RESULTS_DIR] [OUT_DIR]
#
# RESULTS_DIR: a folder with check.json (default: run `rdpbench check` into
# OUT_DIR/results). OUT_DIR: where the report, DOM dumps, logs and PNGs go
# (default: target/report-check). RDPBENCH: the binary (default:
# target/release/rdpbench). CHROMIUM: the browser (default: chromium, then
# chromium-browser, google-chrome).
#
# Exit: 0 all checks passed, 1 a check failed, 77 no Chromium (skipped).
# Not part of `cargo test`: CI machines have no browser. On Debian:
# apt-get install -y chromium
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${2:-$root/target/report-check}"
rdpbench="${RDPBENCH:-$root/target/release/rdpbench}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

browser="${CHROMIUM:-}"
if [[ -z "$browser" ]]; then
  for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
  done
fi
if [[ -z "$browser" ]]; then
  echo "SKIP: no chromium found (apt-get install -y chromium, or set CHROMIUM)" >&2
  exit 77
fi
[[ -x "$rdpbench" ]] || { echo "FAIL: $rdpbench missing: cargo build --release --workspace" >&2; exit 1; }

results="${1:-}"
if [[ -z "$results" ]]; then
  results="$out/results"
  echo "running rdpbench check into $results" >&2
  "$rdpbench" check --out "$results" >/dev/null
fi

failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# Flags that keep Chromium from talking to the network or keeping state.
chrome() {
  local profile
  profile="$(mktemp -d)"
  "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --no-default-browser-check \
    --disable-extensions --hide-scrollbars --user-data-dir="$profile" \
    --enable-logging=stderr --v=0 "$@"
  local rc=$?
  rm -rf "$profile"
  return $rc
}

# Dumps the DOM of $1 into $2.dom.html and Chromium's log into $2.log.
load() {
  local page="$1" tag="$2"
  chrome --dump-dom "file://$page" >"$out/$tag.dom.html" 2>"$out/$tag.log" || {
    fail "$tag: chromium exited non-zero (see $out/$tag.log)"
    return
  }
  # Console messages and failed loads the page itself caused.
  if grep -E 'CONSOLE|Uncaught|Refused to|Failed to load resource|net::ERR_' "$out/$tag.log" \
      | grep -v -E 'dbus|DevTools listening' >"$out/$tag.console.txt"; then
    fail "$tag: console errors or failed loads:"
    sed 's/^/     /' "$out/$tag.console.txt"
  else
    pass "$tag: no console error, no failed load"
  fi
}

has() { # file, pattern, description
  if grep -q -E -- "$2" "$1"; then pass "$3"; else fail "$3 (pattern: $2)"; fi
}
lacks() {
  if grep -q -i -E -- "$2" "$1"; then fail "$3 (found: $2)"; else pass "$3"; fi
}

# 1. The real report.
"$rdpbench" report "$results" --out "$out/report.html" 2>/dev/null
load "$out/report.html" report
dom="$out/report.dom.html"
has "$dom" 'id="leaderboard"' "leaderboard section"
has "$dom" 'id="matrix"' "condition matrix section"
has "$dom" '<details>' "evidence is expandable (<details>)"
has "$dom" 'class="panel"' "evidence panels present"
has "$dom" 'id="ground-truth"' "ground-truth ladder section"
has "$dom" '<svg[^>]*role="img"' "inline SVG chart"
has "$dom" '<path d="M' "chart has drawn lines"
has "$dom" 'id="legend"' "status legend"
has "$dom" 'class="badge oracle"' "oracles labelled"
has "$dom" 'id="not-included"' "omitted sections listed with a note"
lacks "$dom" '<script' "no script element"
lacks "$dom" '<link |https?://[^"]*\.(css|js|woff2?)' "no external stylesheet, script or font"
n_chips=$(grep -o '<details>' "$dom" | wc -l)
echo "     ($n_chips evidence chips, $(wc -c <"$out/report.html") bytes)"

# 2. A report whose plugin strings are hostile: they must stay text.
hostile="$out/hostile"
mkdir -p "$hostile"
sed -e '0,/"description": "/s//"description": "<script>alert(1)<\/script> /' \
    -e '0,/"reason": "/s//"reason": "<img src=x onerror=alert(2)> /' \
    -e '0,/"id": "/s//"id": "<script>alert(3)<\/script>/' \
    "$results/check.json" >"$hostile/check.json"
"$rdpbench" report "$hostile" --out "$hostile/report.html" 2>/dev/null
load "$hostile/report.html" hostile
hdom="$out/hostile.dom.html"
lacks "$hdom" '<script' "hostile: no script element in the rendered DOM"
lacks "$hdom" '<img' "hostile: no injected element"
has "$hdom" '&lt;script&gt;alert\(1\)&lt;/script&gt;' "hostile: description shown as text"
has "$hdom" '&lt;script&gt;alert\(3\)&lt;/script&gt;' "hostile: metric id shown as text"
has "$hdom" '&lt;img src=x onerror=alert\(2\)&gt;' "hostile: reason shown as text"

# 3. Screenshots: the page, and the page with one failing chip's evidence open.
chrome --screenshot="$out/report.png" --window-size=1280,2600 "file://$out/report.html" \
  >/dev/null 2>"$out/screenshot.log" && pass "screenshot $out/report.png" || fail "screenshot"
open_page="$out/report-open.html"
# Open the first failing chip (its <details> precedes a `chip fail` summary).
perl -0pe 's/<details>(\n<summary[^\n]*chip fail)/<details open>$1/' "$out/report.html" >"$open_page"
chrome --screenshot="$out/report-open.png" --window-size=1280,1100 "file://$open_page" \
  >/dev/null 2>>"$out/screenshot.log" && pass "screenshot $out/report-open.png (one chip open)" \
  || fail "screenshot with an open chip"

if ((failures > 0)); then
  echo "$failures check(s) failed; logs in $out" >&2
  exit 1
fi
echo "all checks passed; report, DOM dumps, logs and screenshots in $out"
