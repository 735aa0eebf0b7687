#!/bin/sh
# Passwords: hashed (scrypt, salted), never stored or printed in clear;
# coffer passwd on stdin and on a terminal; refusals.
. tests/lib/lib.sh
. tests/cli/cli_lib.inc

store_init 1G 2>/dev/null
"$COFFER" add bob >/dev/null 2>&1 || notok "add bob"
"$COFFER" add carol >/dev/null 2>&1 || notok "add carol"
PW='Tr0ub4dor&3 horse'

run sh -c "printf '%s\n' '$PW' | '$COFFER' passwd bob --stdin"
eq "passwd --stdin exits 0" "$RC" 0
lacks "passwd prints no password" "$OUT$ERR" "$PW"
check "the stored hash is of that password" hash_matches bob "$PW"
check_fail "and not of another" hash_matches bob "other"
# shellcheck disable=SC2016
contains "the stored value is a self-describing scrypt hash" \
    "$(sqlite3 "$DB" "SELECT password FROM accounts WHERE name='bob'")" \
    '$scrypt$ln='
# Same password, another account: another salt, another hash.
printf '%s\n' "$PW" | "$COFFER" passwd carol --stdin >/dev/null
check_fail "salted: two accounts, same password, different hashes" test \
    "$(sqlite3 "$DB" "SELECT password FROM accounts WHERE name='bob'")" = \
    "$(sqlite3 "$DB" "SELECT password FROM accounts WHERE name='carol'")"
check_fail "no clear password anywhere in the state folder" \
    grep -r -q -a -F "$PW" "$T/var"
for cmd in "show bob" "show bob --json" "list" "list --json" "usage --json"
do
	# shellcheck disable=SC2086
	out=$("$COFFER" $cmd 2>&1)
	lacks "$cmd: no password" "$out" "$PW"
	lacks "$cmd: no hash" "$out" 'scrypt'
done
contains "show says the password is set" "$("$COFFER" show bob)" \
    "password:   set"

# Line endings: "\r\n" stripped, other spaces kept.
printf 'crlf-pass\r\n' | "$COFFER" passwd bob --stdin >/dev/null
check "CRLF stripped" hash_matches bob "crlf-pass"
printf ' spaced \n' | "$COFFER" passwd bob --stdin >/dev/null
check "inner and outer spaces kept" hash_matches bob " spaced "
printf 'no-newline' | "$COFFER" passwd bob --stdin >/dev/null
check "a last line without newline" hash_matches bob "no-newline"
printf 'first\nsecond\n' | "$COFFER" passwd bob --stdin >/dev/null
check "only the first line is read" hash_matches bob "first"

# Refusals.
refused "empty password" 1 sh -c "echo | '$COFFER' passwd bob --stdin"
eq "empty password explained" "$ERR" "coffer: passwd: empty password refused"
refused "no input" 1 "$COFFER" passwd bob --stdin </dev/null
refused "password over 1024 bytes" 1 sh -c \
    "head -c 1025 /dev/zero | tr '\\0' x | '$COFFER' passwd bob --stdin"
refused "unknown account" 1 sh -c "echo pw | '$COFFER' passwd nobody2 --stdin"
refused "stdin not a terminal, no --stdin" 2 sh -c \
    "echo pw | '$COFFER' passwd bob"
refused "--stdin with --delete" 2 "$COFFER" passwd bob --stdin --delete
refused "no name" 2 "$COFFER" passwd --stdin
refused "unknown option" 2 "$COFFER" passwd bob --force
check "1024 bytes is fine" sh -c \
    "head -c 1024 /dev/zero | tr '\\0' y | '$COFFER' passwd bob --stdin"

# On a terminal: two prompts, no echo.
run on_tty 'Tty-Secret-9' 'Tty-Secret-9' -- "$COFFER" passwd bob
eq "terminal: exit 0" "$RC" 0
contains "terminal: prompted" "$OUT" "New password: "
contains "terminal: asked twice" "$OUT" "Retype new password: "
lacks "terminal: the password was not echoed" "$OUT" "Tty-Secret-9"
check "terminal: the hash is of that password" hash_matches bob 'Tty-Secret-9'
state >"$T/.before"
run on_tty 'one-thing' 'another' -- "$COFFER" passwd bob
state >"$T/.after"
eq "terminal: mismatch exits 1" "$RC" 1
contains "terminal: mismatch explained" "$OUT" "do not match"
check "terminal: mismatch changed nothing" cmp -s "$T/.before" "$T/.after"
run on_tty '' '' -- "$COFFER" passwd bob
eq "terminal: empty refused" "$RC" 1
check "terminal: the old password stays" hash_matches bob 'Tty-Secret-9'

# --delete
run "$COFFER" passwd bob --delete
eq "--delete exits 0" "$RC" 0
eq "--delete: no hash left" \
    "$(sqlite3 "$DB" "SELECT password IS NULL FROM accounts WHERE name='bob'")" 1
contains "--delete: hint that bob cannot log in" "$ERR" "cannot log in"
contains "show says none" "$("$COFFER" show bob)" "password:   none"

# add --password-stdin and init --password-stdin store hashes too.
printf 'Dave-Pw\n' | "$COFFER" add dave --password-stdin >/dev/null
check "add --password-stdin: hash of it" hash_matches dave 'Dave-Pw'

done_testing
