#!/bin/sh
# e2e_plot.sh - the `plot` command and resmlp.plot.* end to end: every kind prints (act, act grid,
# hist weights, hist inputs after `eval`, train after `train`, heatmap), the size and canvas defaults
# (100x30 ascii without a terminal; the terminal's size, braille on UTF-8 and colour unless NO_COLOR
# on one, via script(1)), out=x.svg passes xmllint with one series path per curve, out=x.txt holds
# the text, bad inputs give a one-line error and exit status 1, and the Lua functions return strings
# (printing them unless quiet=true). Also: grid cells carry their own y range (share_y=on: one for
# all), the heatmap of signed weights has a diverging scale line, and `plot hist inputs` has the
# weight histogram's stats line (mean, sd, min, max, p1, p50, p99).
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
RM="$ROOT/resmlp"
DATA="$ROOT/../shared/data/cifar-10-batches-bin"
[ -x "$RM" ] || { echo "FAIL: ./resmlp not built"; exit 1; }
export RESMLP_THREADS=${RESMLP_THREADS:-1}
unset NO_COLOR
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
fails=0
. tests/lib_e2e.sh   # ok, bad, expect, has
# fits FILE W H NAME: at most H lines, each at most W characters (UTF-8 aware: wc -m in a UTF-8 locale)
fits() {
    lines=$(wc -l < "$1"); widest=0
    while IFS= read -r l; do w=$(printf '%s' "$l" | LC_ALL=C.UTF-8 wc -m); [ "$w" -gt "$widest" ] && widest=$w; done < "$1"
    [ "$lines" -le "$3" ] && [ "$lines" -ge 8 ] && [ "$widest" -le "$2" ] && ok "$4 (${widest}x$lines)" || { echo "     ${widest}x$lines, want <= $2x$3"; bad "$4"; }
}
# one_line NAME WANT: stderr is exactly one line holding WANT
one_line() { [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q -F -- "$2" "$TMP/err" && ok "$1: one line" || bad "$1: one line with '$2'"; }
ascii_only() { LC_ALL=C grep -q "$(printf '[\200-\377]')" "$1" && bad "$2" || ok "$2"; }
NEW='model new act=lerp_psa hidden=24'

# ---- each kind prints
expect "plot act" 0 "$RM" -e "$NEW" -e 'plot act block=2 layer=mlp.2 ch=5 mode=ascii width=80 height=24'
has out "block 2 mlp.2" "act title"; has out "LERP-PSA" "act legend"
sed 1d "$TMP/out" > "$TMP/plot"; fits "$TMP/plot" 80 24 "act fits width=80 height=24"
expect "plot act grid" 0 "$RM" -e "$NEW" -e 'plot act block=2 layer=mlp.2 ch=0:15 mode=block width=120 height=40'
has out "channels 0..15" "grid title"; has out "ch 15" "grid has channel 15"
has out "ch 0 [" "grid cells: their own y range"; has out "y per panel" "grid footer: y per panel"
expect "plot act grid share_y" 0 "$RM" -e "$NEW" -e 'plot act block=2 layer=mlp.2 ch=0:15 mode=block width=120 height=40 share_y=on'
! grep -q "ch 0 \[" "$TMP/out" && grep -q "  y \[" "$TMP/out" && ok "share_y=on: one y range" || bad "share_y=on: one y range"
expect "plot hist weights" 0 "$RM" -e "$NEW" -e 'plot hist weights block=0 layer=mlp.1 mode=ascii width=70 height=16'
has out "layers.0.layers.1.layers.1.weight" "weights hist names the tensor"
has out "p50=" "weights hist stats line"
expect "plot heatmap" 0 "$RM" -e "$NEW" -e 'plot heatmap block=0 layer=token mode=ascii width=80 height=40'
has out "token mixing weights" "heatmap title"
has out "[ ]=0 " "heatmap: diverging scale line around 0"
"$RM" -e "$NEW" -e 'plot act ch=3' > "$TMP/out" 2> "$TMP/err"
sed 1d "$TMP/out" > "$TMP/plot"
fits "$TMP/plot" 100 30 "default size without a terminal is 100x30"
ascii_only "$TMP/plot" "default canvas without a terminal is ascii, no colour"

# ---- train, eval, then the history and the recorded inputs (piped prompt-style lines)
cat > "$TMP/session.txt" <<EOF
data cifar10 $DATA limit=256 test_limit=256
$NEW
train epochs=2 batch=64 test=test
eval
plot train mode=ascii width=80 height=24
plot hist inputs block=0 layer=mlp.0 mode=braille width=60 height=16
EOF
expect "train, eval, plot train / hist inputs" 0 sh -c "'$RM' < '$TMP/session.txt'"
has out "accuracy  ** train" "plot train: accuracy chart"; has out "test" "plot train: test series"
has out "inputs of block 0 mlp.0" "plot hist inputs after eval"
awk '/inputs of block 0 mlp.0/{f=1} f' "$TMP/out" | tr '\n' ' ' > "$TMP/inputs"
for k in "n=" " mean=" " sd=" " min=" " max=" " p1=" " p50=" " p99="; do
    grep -q -F -- "$k" "$TMP/inputs" || { bad "hist inputs stats line has '$k'"; continue; }
done
grep -q -F " p99=" "$TMP/inputs" && ok "hist inputs: the stats line of the weight histogram"
grep -q "$(printf '\342\243\277')" "$TMP/out" && ok "mode=braille draws braille" || bad "mode=braille draws braille"

# ---- out=FILE.svg and out=FILE.txt
expect "out=x.svg" 0 "$RM" -e "$NEW" -e "plot act block=1 layer=mlp.2 ch=2 out=$TMP/a.svg"
has out "wrote $TMP/a.svg" "out= says what it wrote"
xmllint --noout "$TMP/a.svg" 2> "$TMP/err" && ok "act SVG passes xmllint" || bad "act SVG passes xmllint"
[ "$(grep -o 'class="series"' "$TMP/a.svg" | wc -l)" -eq 4 ] && ok "act SVG: 4 series paths (relu, ResPSA, LERP-PSA, table)" || bad "act SVG series count"
for k in "act ch=0:7" "hist weights layer=mlp.3" "heatmap"; do
    f="$TMP/$(echo "$k" | tr ' =:.' '____').svg"
    expect "plot $k out=.svg" 0 "$RM" -e "$NEW" -e "plot $k out=$f"
    xmllint --noout "$f" 2> "$TMP/err" && ok "plot $k: SVG passes xmllint" || bad "plot $k: SVG passes xmllint"
done
expect "out=x.txt" 0 "$RM" -e "$NEW" -e "plot act ch=4 mode=block width=64 height=20 out=$TMP/sub/a.txt"
"$RM" -e "$NEW" -e 'plot act ch=4 mode=block width=64 height=20' | sed 1d > "$TMP/printed"
cmp -s "$TMP/sub/a.txt" "$TMP/printed" && ok "out=x.txt holds the printed text" || bad "out=x.txt holds the printed text"

# ---- bad inputs: one line on stderr, exit status 1
expect "bad block exits 1" 1 "$RM" -e "$NEW" -e 'plot act block=9'; one_line "bad block" "block 9 out of range 0..3"
expect "unknown layer exits 1" 1 "$RM" -e "$NEW" -e 'plot act layer=mlp.7'; one_line "unknown layer" "no activation layer 'mlp.7'"
expect "channel out of range exits 1" 1 "$RM" -e "$NEW" -e 'plot act layer=mlp.2 ch=0:30'; one_line "channel out of range" "channels 0..23"
expect "no recorded inputs exits 1" 1 "$RM" -e "$NEW" -e 'plot hist inputs'; one_line "no recorded inputs" "run \`eval\` first"
expect "no history exits 1" 1 "$RM" -e "$NEW" -e 'plot train'; one_line "no history" "no training history"
expect "unknown kind exits 1" 1 "$RM" -e "$NEW" -e 'plot curvez'; one_line "unknown kind" "unknown kind 'curvez'"
expect "bad out= suffix exits 1" 1 "$RM" -e "$NEW" -e "plot act out=$TMP/a.png"; one_line "bad out=" "must end in .svg or .txt"
expect "no model exits 1" 1 "$RM" -e 'plot act'; one_line "no model" "no model"

# ---- Lua
cat > "$TMP/lua.lua" <<'EOF'
local R = resmlp
R.model{act = "lerp_psa", hidden = 24}
local s = R.plot.act{block = 1, layer = "mlp.2", ch = 3, mode = "ascii", width = 60, height = 16, quiet = true}
assert(type(s) == "string" and s:find("block 1 mlp.2", 1, true), "plot.act returns the text")
local g = R.plot.act{ch = "0:3", quiet = true, width = 80, height = 20}
assert(g:find("ch 3", 1, true), "plot.act grid")
local h = R.plot.hist{"weights", layer = "mlp.1", quiet = true}
assert(h:find("weight", 1, true), "plot.hist weights")
local hm = R.plot.heatmap{quiet = true, width = 40, height = 20}
assert(hm:find("token mixing", 1, true), "plot.heatmap")
local ok, err = pcall(R.plot.train, {quiet = true})
assert(not ok and err:find("no training history", 1, true), "plot.train without history fails")
ok, err = pcall(R.plot.act, {ch = 200})
assert(not ok and not err:find("\n") and err:find("out of range", 1, true), "one-line error: " .. tostring(err))
local c = R.plot("act", {ch = 1, quiet = true, width = 50, height = 12})
assert(type(c) == "string", "resmlp.plot(kind, opts) still works")
local p = R.plot.act{ch = 2, mode = "ascii", width = 50, height = 12}
io.write("RETURNED<", p, ">RETURNED\n")
print("lua plot ok")
EOF
expect "resmlp.plot.* in Lua" 0 "$RM" run "$TMP/lua.lua"; has out "lua plot ok" "Lua plot functions return strings"
awk '/^RETURNED</{exit} {print}' "$TMP/out" > "$TMP/printed"
sed -n '/^RETURNED</,/>RETURNED$/p' "$TMP/out" | sed '1s/^RETURNED<//; $d' > "$TMP/returned"
[ "$(head -c 200 "$TMP/printed")" = "$(head -c 200 "$TMP/returned")" ] && [ -s "$TMP/printed" ] && ok "without quiet it prints what it returns" || bad "without quiet it prints what it returns"
[ "$(grep -c 'block 1 mlp.2' "$TMP/out")" -eq 0 ] && ok "quiet=true prints nothing" || bad "quiet=true prints nothing"

# ---- on a terminal (script(1)): its size, braille on UTF-8, colour unless NO_COLOR
if command -v script >/dev/null 2>&1; then
    PLOT="stty cols 70 rows 21; '$RM' -e '$NEW' -e 'plot act layer=mlp.2 ch=1'"
    LANG=C.UTF-8 LC_ALL= TERM=xterm script -qec "$PLOT" /dev/null | tr -d '\r' | sed 1d > "$TMP/tty"
    sed 's/\x1b\[[0-9;]*m//g' "$TMP/tty" > "$TMP/plain"
    fits "$TMP/plain" 70 20 "on a terminal: its size (70x21 less a line for the prompt)"
    grep -q "$(printf '\342\240\200')" "$TMP/tty" && ok "on a UTF-8 terminal: braille" || bad "on a UTF-8 terminal: braille"
    grep -q "$(printf '\033\\[3')" "$TMP/tty" && ok "on a colour terminal: colour" || bad "on a colour terminal: colour"
    NO_COLOR=1 LANG=C LC_ALL= TERM=xterm script -qec "$PLOT" /dev/null | tr -d '\r' > "$TMP/tty"
    grep -q "$(printf '\033')" "$TMP/tty" && bad "NO_COLOR: no colour" || ok "NO_COLOR: no colour"
    ascii_only "$TMP/tty" "a non-UTF-8 terminal: ascii"
fi

echo "e2e_plot: $fails failed"
[ $fails -eq 0 ]
