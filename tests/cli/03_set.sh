#!/bin/sh
# coffer set: every field, the main account's rules, and refusals.
. tests/lib/lib.sh
. tests/cli/cli_lib.inc

store_init 1G
"$COFFER" add bob --quota 100M >/dev/null 2>&1 || notok "add bob"
gen() { sqlite3 "$DB" "SELECT generation FROM accounts WHERE name='bob'"; }
field() { "$COFFER" show bob --json | jget "j[\"$1\"]"; }

g0=$(gen)
run "$COFFER" set bob --quota 200M
eq "set --quota exits 0" "$RC" 0
eq "quota changed" "$(field quota)" 209715200
check "the generation moved (gateways notice)" test "$(gen)" -gt "$g0"
check "--quota none" "$COFFER" set bob --quota none
eq "quota none is 0" "$(field quota)" 0
check "--quota 0 accepted" "$COFFER" set bob --quota 0
check "--read-only" "$COFFER" set bob --read-only
eq "mode read-only" "$(field mode)" read-only
check "--read-write" "$COFFER" set bob --read-write
eq "mode read-write" "$(field mode)" read-write
check "--disable" "$COFFER" set bob --disable
eq "state disabled" "$(field state)" disabled
check "--enable" "$COFFER" set bob --enable
eq "state active" "$(field state)" active
check "--expires DATE" "$COFFER" set bob --expires 2098-01-31
eq "expires: the day after, 00:00 UTC" "$(field expires)" 4042051200
check "--expires never" "$COFFER" set bob --expires never
eq "expires never is 0" "$(field expires)" 0
check "--email" "$COFFER" set BOB --email bob@example.org
eq "email set (name in any case)" "$(field email)" bob@example.org
check "--email ''" "$COFFER" set bob --email ''
eq "email cleared" "$(field email)" ""
check "several at once" "$COFFER" set bob --read-only --disable \
    --quota 50M --email b@example.net
eq "several at once: mode" "$(field mode)" read-only
eq "several at once: state" "$(field state)" disabled
eq "several at once: quota" "$(field quota)" 52428800
"$COFFER" set bob --read-write --enable >/dev/null

# An expiry in the past (set behind the CLI's back) shows as expired.
sqlite3 "$DB" "UPDATE accounts SET expires = 1000 WHERE name = 'bob'"
eq "expired shows" "$(field state)" expired
"$COFFER" set bob --expires never >/dev/null

# --folder: made when missing, the old folder is kept.
run "$COFFER" set bob --folder /team/bob
eq "--folder exits 0" "$RC" 0
eq "folder changed" "$(field folder)" /team/bob
check "new folder made" test -d "$T/store/team/bob"
check "old folder kept" test -d "$T/store/bob"

# Quota below what is used: allowed, with a warning.
head -c 3000000 /dev/zero >"$T/store/team/bob/big"
"$COFFER" rescan bob >/dev/null
run "$COFFER" set bob --quota 1M
eq "quota below usage: exit 0" "$RC" 0
contains "quota below usage: warning" "$ERR" "warning: 'bob' uses 2.8 MiB, more than the new quota 1.0 MiB"
eq "quota below usage: stored" "$(field quota)" 1048576
eq "quota below usage: nothing available" "$(field available)" 0
"$COFFER" set bob --quota 100M >/dev/null 2>&1

# Refusals change nothing.
refused "unknown account" 1 "$COFFER" set nobody1 --quota 1M
eq "unknown account explained" "$ERR" "coffer: set: no account 'nobody1'"
refused "quota above the store" 1 "$COFFER" set bob --quota 2G
refused "quota not a size" 2 "$COFFER" set bob --quota 1X
refused "nothing to change" 2 "$COFFER" set bob
refused "read-only and read-write" 2 "$COFFER" set bob --read-only \
    --read-write
refused "disable and enable" 2 "$COFFER" set bob --disable --enable
refused "bad date" 2 "$COFFER" set bob --expires tomorrow
refused "date already over" 1 "$COFFER" set bob --expires 1999-12-31
refused "bad e-mail" 2 "$COFFER" set bob --email 'a b@c.d'
refused "unknown option" 2 "$COFFER" set bob --colour red
refused "no name" 2 "$COFFER" set --quota 1M
refused "folder with .." 1 "$COFFER" set bob --folder /x/../../y
ln -s / "$T/store/hostroot"
refused "folder through a symlink out" 1 "$COFFER" set bob \
    --folder /hostroot/etc
echo x >"$T/store/file"
refused "folder that is a file" 1 "$COFFER" set bob --folder /file
refused "main account: --folder" 1 "$COFFER" set admin --folder /sub
contains "main account explained" "$ERR" "main account"
refused "main account: --read-only" 1 "$COFFER" set admin --read-only
refused "main account: --quota" 1 "$COFFER" set admin --quota 1M
check "main account: --email is fine" "$COFFER" set admin \
    --email admin@example.org

# A database refusal after --folder made a folder: it goes again.
sqlite3 "$DB" "CREATE TRIGGER no_upd BEFORE UPDATE ON accounts
    BEGIN SELECT RAISE(ABORT, 'refused by test'); END;"
refused "failed update" 1 "$COFFER" set bob --folder /fresh/bob
check_fail "the folder made for it was taken back" test -e "$T/store/fresh"
sqlite3 "$DB" "DROP TRIGGER no_upd;"

done_testing
