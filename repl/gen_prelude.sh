#!/bin/sh
# gen_prelude.sh - regenerate repl/prelude_lua.c (the prelude compiled into the binary) from
# repl/prelude.lua. Run it after editing the prelude; tests/e2e_scripts.sh fails when they disagree.
cd "$(dirname "$0")" || exit 1
{
    echo "/* prelude_lua.c - GENERATED from prelude.lua by gen_prelude.sh; do not edit. */"
    xxd -i prelude.lua
} > prelude_lua.c.tmp && mv prelude_lua.c.tmp prelude_lua.c
