#!/bin/sh
# e2e_svg_browser.sh - the SVG plots in a real browser: a curve plot and a weight histogram written by
# `plot ... out=FILE.svg` are rendered by headless Chromium to PNG; each PNG must have the SVG's size
# (640x400) and real content (decoded with tests/png_stats.py: text and axes in near-black, coloured
# curves or bars), not a blank or error page. Skips when Chromium is absent (install it with
# `sh tools/deps.sh chromium`). A fresh profile directory and no network services for each run.
cd "$(dirname "$0")/.." || exit 1
BR=$(command -v chromium || command -v chromium-browser || true)
[ -n "$BR" ] || { echo "SKIP: chromium not installed (sh tools/deps.sh chromium)"; exit 0; }
PY=${RESMLP_PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || { echo "SKIP: no $PY to decode the PNG"; exit 0; }
TMP=$(mktemp -d /tmp/resmlp-svg-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

RESMLP_THREADS=1 ./resmlp -e 'model new act=lerp_psa hidden=8' \
    -e "plot act ch=3 out=$TMP/curve.svg width=640 height=400" \
    -e "plot hist weights block=0 layer=mlp.1 out=$TMP/hist.svg width=640 height=400" > "$TMP/log" 2>&1 \
    && ok "plots written as SVG" || bad "plot: $(cat "$TMP/log")"
for n in curve hist; do
    rm -rf "$TMP/profile"
    timeout 120 "$BR" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
        --disable-sync --no-first-run --user-data-dir="$TMP/profile" --hide-scrollbars --window-size=640,400 \
        --screenshot="$TMP/$n.png" "file://$TMP/$n.svg" > "$TMP/$n.log" 2>&1
    if [ ! -s "$TMP/$n.png" ]; then bad "$n: chromium wrote no PNG: $(tail -3 "$TMP/$n.log")"; continue; fi
    set -- $("$PY" tests/png_stats.py "$TMP/$n.png")
    echo "     $n.png: ${1}x${2}, $3 non-white, $4 dark, $5 coloured pixels"
    [ "$1" = 640 ] && [ "$2" = 400 ] && ok "$n: PNG is 640x400" || bad "$n: PNG is ${1}x${2}, not 640x400"
    [ "${4:-0}" -gt 300 ] && [ "${5:-0}" -gt 300 ] && ok "$n: rendered text/axes and coloured marks" \
        || bad "$n: looks blank or broken (dark $4, coloured $5)"
done
# a broken SVG must not pass: the check itself can fail
printf '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="400"><rect width="100%%" height="100%%" fill="#fff"/></svg>' > "$TMP/blank.svg"
rm -rf "$TMP/profile"
timeout 120 "$BR" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --user-data-dir="$TMP/profile" --hide-scrollbars --window-size=640,400 \
    --screenshot="$TMP/blank.png" "file://$TMP/blank.svg" > /dev/null 2>&1
set -- $("$PY" tests/png_stats.py "$TMP/blank.png")
[ "${4:-1}" -lt 300 ] && ok "a blank SVG is recognised as blank (the check can fail)" || bad "blank SVG not detected ($*)"
echo "e2e_svg_browser: $fails failed"
[ $fails -eq 0 ]
