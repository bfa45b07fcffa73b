#!/bin/sh
# e2e_nofloat.sh - the integer engine's object code has no floating-point arithmetic, conversion or x87
# instruction in it (the inference path is integer-only): disassemble build/core/int_engine.o and
# int_engine_x86.o and look for float mnemonics. A positive control (a tiny C file with float math,
# compiled with the same flags) must be caught, so a broken pattern cannot pass silently.
# Float-domain data moves and logic (vmovaps, vxorps, vbroadcastss...) are not arithmetic and are
# allowed: compilers use them for integer vectors too.
cd "$(dirname "$0")/.." || exit 1
OBJS="build/core/int_engine.o build/core/int_engine_x86.o"
make -s $OBJS >/dev/null || { echo "cannot build $OBJS"; exit 1; }
PAT='^(f[a-z0-9]+|v?cvt[a-z0-9]+|v?(add|sub|mul|div|min|max|sqrt|rcp[0-9]*|rsqrt[0-9]*|round|rndscale|cmp[a-z]*|u?comi|hadd|hsub|addsub|dp|getexp|getmant|scalef|reduce|range|fixupimm|fn?m(add|sub)[0-9]+|fmaddsub[0-9]+|fmsubadd[0-9]+)(ss|sd|ps|pd|sh|ph))$'
mnemonics() { objdump -d --no-show-raw-insn "$1" | awk -F'\t' 'NF >= 2 && $1 ~ /^ *[0-9a-f]+:$/ {split($2, a, " "); print a[1]}'; }
status=0
for o in $OBJS; do
    n=$(mnemonics "$o" | wc -l)
    bad=$(mnemonics "$o" | grep -E "$PAT" | sort | uniq -c)
    if [ -n "$bad" ]; then
        echo "FAIL $o: floating-point instructions:"; echo "$bad"; status=1
    else
        echo "ok   $o: $n instructions, none floating-point"
    fi
done
# positive control
tmp=$(mktemp -d) || exit 1
printf 'float f(float a, int b) { return a * 1.5f + (float)b; }\ndouble g(double x) { return x / 3.0; }\n' > "$tmp/c.c"
${CC:-gcc} -O3 -march=native -c "$tmp/c.c" -o "$tmp/c.o" || { rm -rf "$tmp"; exit 1; }
if mnemonics "$tmp/c.o" | grep -qE "$PAT"; then
    echo "ok   positive control caught: $(mnemonics "$tmp/c.o" | grep -E "$PAT" | sort -u | tr '\n' ' ')"
else
    echo "FAIL the pattern misses float code in the positive control"; status=1
fi
rm -rf "$tmp"
exit $status
