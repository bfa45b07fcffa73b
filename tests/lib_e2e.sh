# lib_e2e.sh - checks shared by the e2e shell scripts (sourced after `cd` to the checkout; the script
# sets TMP, its temp dir, and fails=0):
#   ok NAME / bad NAME             print the result line (bad counts it and shows the tails of $TMP/out, err)
#   expect NAME STATUS CMD...      run CMD (stdout in $TMP/out, stderr in $TMP/err), check its exit status
#   has FILE TEXT NAME             $TMP/FILE contains TEXT
ok() { echo "ok   $1"; }
bad() {
    echo "FAIL $1"; fails=$((fails + 1))
    for f in out err; do [ -s "$TMP/$f" ] && sed 's/^/     | /' "$TMP/$f" | tail -n 15; done
    return 0
}
expect() {
    name=$1; want=$2; shift 2
    "$@" > "$TMP/out" 2> "$TMP/err"; got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else echo "     exit $got, want $want"; bad "$name"; fi
}
has() { grep -q -F -- "$2" "$TMP/$1" && ok "$3" || bad "$3"; }
