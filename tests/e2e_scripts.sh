#!/bin/sh
# e2e_scripts.sh - resmlp's non-interactive modes: exit codes (0 ok, 1 Lua/core error with the message
# on stderr, 2 usage, quit N), `arg` and `...` of `resmlp run`, -e chunks and command lines, piped
# stdin (a Lua chunk, or prompt-style lines), the prelude compiled in (works from any directory and
# matches repl/prelude.lua), colour only on a terminal and never with NO_COLOR, the classic CLI, and
# every lua_scripts/*.lua --quick run to completion.
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
RM="$ROOT/resmlp"
[ -x "$RM" ] || { echo "FAIL: ./resmlp not built"; exit 1; }
export RESMLP_THREADS=${RESMLP_THREADS:-1}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); [ -f "$TMP/err" ] && sed 's/^/     | /' "$TMP/err" | head -n 15; }
# expect NAME STATUS CMD...: CMD exits with STATUS (stdout in $TMP/out, stderr in $TMP/err)
expect() {
    name=$1; want=$2; shift 2
    "$@" > "$TMP/out" 2> "$TMP/err"; got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else echo "     exit $got, want $want"; bad "$name"; fi
}
has() { grep -q -F -- "$2" "$TMP/$1" && ok "$3" || bad "$3"; }

expect "-e runs Lua" 0 "$RM" -e 'print(6*7)'; has out 42 "-e output"
expect "-e prints an expression" 0 "$RM" -e '2^10'; has out 1024 "-e expression value"
expect "-e runs a command line" 0 "$RM" -e 'threads'; has out 'threads:' "-e command output"
expect "Lua error exits 1" 1 "$RM" -e 'error("kaboom")'; has err kaboom "Lua error message on stderr"
expect "core error exits 1" 1 "$RM" -e 'resmlp.load("/nonexistent/x.safetensors")'
has err "/nonexistent/x.safetensors" "core error message on stderr"
expect "bad option value exits 1" 1 "$RM" -e 'model new hidden=lots'; has err "bad value 'lots' for hidden=" "bad value message"
expect "unknown command suggests" 1 "$RM" -e 'trian epochs=2'; has err "did you mean 'train'" "unknown command suggestion"
expect "quit N" 3 "$RM" -e 'quit 3'
expect "resmlp.quit(N)" 4 "$RM" -e 'resmlp.quit(4)'
expect "unknown subcommand exits 2" 2 "$RM" bogus
expect "-e without chunk exits 2" 2 "$RM" -e
expect "--help" 0 "$RM" --help; has out "resmlp run FILE.lua" "usage text"
expect "help COMMAND" 0 "$RM" help train; has out "epochs=INT" "help lists options"

cat > "$TMP/args.lua" <<'EOF'
local n = select("#", ...)
print("arg0=" .. arg[0], "arg1=" .. tostring(arg[1]), "arg2=" .. tostring(arg[2]), "n=" .. n, "dots=" .. tostring((...)))
EOF
expect "run FILE args" 0 "$RM" run "$TMP/args.lua" --quick x; has out "arg1=--quick" "arg[1]"
has out "arg2=x" "arg[2]"; has out "n=2" "... count"; has out "dots=--quick" "... values"; has out "arg0=$TMP/args.lua" "arg[0]"
expect "FILE.lua shorthand" 0 "$RM" "$TMP/args.lua" y; has out "arg1=y" "shorthand args"
printf 'local x = = 1\n' > "$TMP/syntax.lua"
expect "syntax error exits 1" 1 "$RM" run "$TMP/syntax.lua"; has err "syntax.lua:1:" "syntax error location"
expect "missing script exits 1" 1 "$RM" run "$TMP/none.lua"
printf 'error("in-script")\n' > "$TMP/err.lua"
expect "script error exits 1" 1 "$RM" run "$TMP/err.lua"; has err "err.lua:1: in-script" "script error with location"
has err "stack traceback" "script error traceback"

printf 'local x = 20\nfor i = 1, 2 do x = x + i end\nprint("sum=" .. x)\n' > "$TMP/chunk.lua"
expect "stdin: a Lua chunk" 0 sh -c "'$RM' < '$TMP/chunk.lua'"; has out "sum=23" "stdin chunk output"
printf 'threads 1\nfor i = 1, 2 do\n  print("line" .. i)\nend\n=1+2\n' > "$TMP/lines.txt"
expect "stdin: prompt-style lines" 0 sh -c "'$RM' < '$TMP/lines.txt'"
has out "threads: 1" "stdin command"; has out "line2" "stdin multi-line Lua"; has out "3" "stdin expression"
printf 'threads\nerror("stdin-bad")\nprint("not reached")\n' > "$TMP/bad.txt"
expect "stdin: error exits 1" 1 sh -c "'$RM' < '$TMP/bad.txt'"; has err "stdin-bad" "stdin error message"
grep -q "not reached" "$TMP/out" && bad "stdin stops at the first error" || ok "stdin stops at the first error"
expect "stdin: quit" 5 sh -c "echo 'resmlp.quit(5)' | '$RM'"

expect "prelude works from any directory" 0 sh -c "cd / && '$RM' -e 'print(resmlp.repr({1, a = 2}))'"
has out "{1, a = 2}" "prelude repr"
if command -v xxd >/dev/null 2>&1; then
    (cd repl && { echo "/* prelude_lua.c - GENERATED from prelude.lua by gen_prelude.sh; do not edit. */"; xxd -i prelude.lua; }) > "$TMP/prelude_lua.c"
    cmp -s "$TMP/prelude_lua.c" repl/prelude_lua.c && ok "prelude_lua.c matches prelude.lua" || bad "prelude_lua.c is stale: run repl/gen_prelude.sh"
fi
"$RM" help > "$TMP/out" 2>&1
grep -q "$(printf '\033')" "$TMP/out" && bad "no colour when not a terminal" || ok "no colour when not a terminal"
if command -v script >/dev/null 2>&1; then
    env -u NO_COLOR TERM=xterm script -qec "'$RM' help" /dev/null > "$TMP/out" 2>&1
    grep -q "$(printf '\033\\[1m')" "$TMP/out" && ok "colour on a terminal" || bad "colour on a terminal"
    NO_COLOR=1 TERM=xterm script -qec "'$RM' help" /dev/null > "$TMP/out" 2>&1
    grep -q "$(printf '\033\\[1m')" "$TMP/out" && bad "NO_COLOR turns colour off" || ok "NO_COLOR turns colour off"
fi

expect "classic CLI: info" 0 "$RM" info tests/fixtures/resmlp_relu_h24.safetensors; has out "trainable parameters" "CLI info output"
expect "classic CLI: usage error" 2 "$RM" train --epochz 3

for s in lua_scripts/*.lua; do
    n=$(basename "$s" .lua)
    expect "$n --quick" 0 "$RM" run "$s" --quick --out "$TMP/$n"
done
[ -s "$TMP/reproduce_paper/results.md" ] && grep -q "LERP-PSA (64), paper" "$TMP/reproduce_paper/results.md" \
    && ok "reproduce_paper writes its table" || bad "reproduce_paper writes its table"
[ -s "$TMP/grid_sweep/grid_sweep.md" ] && ok "grid_sweep writes its table" || bad "grid_sweep writes its table"
[ -s "$TMP/quickstart/model.safetensors" ] && ok "quickstart saves its model" || bad "quickstart saves its model"

echo "e2e_scripts: $fails failed"
[ $fails -eq 0 ]
