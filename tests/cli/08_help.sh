#!/bin/sh
# --help, --version, and usage errors (exit 2, one line) for every command.
. tests/lib/lib.sh
. tests/cli/cli_lib.inc

run "$COFFER" --help
eq "--help exits 0" "$RC" 0
for cmd in init add list show set passwd key remove usage rescan store; do
	contains "--help lists $cmd" "$OUT" "  $cmd "
done
contains "--help gives the exit codes" "$OUT" "2 usage"
run "$COFFER" -h
eq "-h exits 0" "$RC" 0
run "$COFFER" --version
eq "--version exits 0" "$RC" 0
contains "--version names the program" "$OUT" "coffer "

# Help works without any store, on stdout, exit 0.
for cmd in init add list show set passwd "key" "key add" "key list" \
    "key remove" remove usage rescan store; do
	# shellcheck disable=SC2086
	run "$COFFER" $cmd --help
	eq "$cmd --help exits 0" "$RC" 0
	contains "$cmd --help prints a usage line" "$OUT" "usage: coffer"
	eq "$cmd --help: nothing on stderr" "$ERR" ""
	# shellcheck disable=SC2086
	run "$COFFER" $cmd -h
	eq "$cmd -h exits 0" "$RC" 0
done
check_fail "help made no store" test -e "$T/var"

# Usage errors before any store exists: exit 2, one line, nothing made.
refused "no command" 2 "$COFFER"
refused "unknown command" 2 "$COFFER" frobnicate
eq "unknown command explained" "$ERR" \
    "coffer: unknown command 'frobnicate' (see 'coffer --help')"
refused "unknown global option" 2 "$COFFER" --frob list
refused "-c without a file" 2 "$COFFER" -c
for cmd in init add list show set passwd "key add" "key list" \
    "key remove" remove usage rescan store; do
	# shellcheck disable=SC2086
	refused "$cmd --no-such-flag" 2 "$COFFER" $cmd --no-such-flag
	contains "$cmd --no-such-flag: names the flag" "$ERR" "--no-such-flag"
	# shellcheck disable=SC2086
	refused "$cmd -Z" 2 "$COFFER" $cmd -Z
done

# Exit 2 is checked before the store: a usage error wins over "no store".
refused "add without a name, no store" 2 "$COFFER" add
refused "show without a name, no store" 2 "$COFFER" show
refused "set without changes, no store" 2 "$COFFER" set bob
# ...and a failure is 1.
refused "show, no store" 1 "$COFFER" show bob

# Output errors are failures: stdout closed.
store_init 1G 2>/dev/null
"$COFFER" list >&- 2>"$T/err"
eq "list with stdout closed exits 1" "$?" 1
if [ -w /dev/full ]; then
	"$COFFER" list >/dev/full 2>"$T/err"
	eq "list to a full disk exits 1" "$?" 1
fi

done_testing
