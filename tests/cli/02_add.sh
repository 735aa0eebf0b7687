#!/bin/sh
# coffer add: the good cases and every refusal (which must change nothing).
. tests/lib/lib.sh
. tests/cli/cli_lib.inc

mkdir -p "$T/store"
"$COFFER" init --root "$T/store" --size 1G --admin admin --max-accounts 6 \
    >/dev/null 2>&1 || { notok "init"; done_testing; }

# A plain add: default folder /NAME created, read-write, no quota.
run "$COFFER" add bob
eq "add bob exits 0" "$RC" 0
contains "add reports the folder" "$OUT" "folder /bob"
contains "add without credentials hints" "$ERR" "cannot log in"
check "home folder created" test -d "$T/store/bob"
eq "bob in the database" \
    "$(sqlite3 "$DB" "SELECT name, folder, is_main, read_only, quota,
	disabled, expires, password IS NULL FROM accounts WHERE name='bob'")" \
    "bob|/bob|0|0|0|0|0|1"

# Every option.
keyfile k1
keyfile k2
{ echo "# two keys"; echo; cat "$T/k1.pub"; echo "  "; cat "$T/k2.pub"; } \
    >"$T/two.pub"
run sh -c "echo 'Carol-Pass-1' | '$COFFER' add carol --folder /shared/carol \
    --quota 100M --read-only --password-stdin --key '$T/two.pub' \
    --email carol@example.org --expires 2099-12-31"
eq "add with every option exits 0" "$RC" 0
eq "add with credentials gives no hint" "$ERR" ""
check "nested folder created" test -d "$T/store/shared/carol"
run "$COFFER" show carol --json
json_ok "show --json parses" "$OUT"
eq "carol: folder" "$(echo "$OUT" | jget 'j["folder"]')" /shared/carol
eq "carol: read-only" "$(echo "$OUT" | jget 'j["mode"]')" read-only
eq "carol: quota exact" "$(echo "$OUT" | jget 'j["quota"]')" 104857600
eq "carol: e-mail" "$(echo "$OUT" | jget 'j["email"]')" carol@example.org
eq "carol: works through 2099-12-31 UTC" \
    "$(echo "$OUT" | jget 'j["expires"]')" 4102444800
eq "carol: password set" "$(echo "$OUT" | jget 'j["password"]')" True
eq "carol: two keys" "$(echo "$OUT" | jget 'j["keys"]')" 2
eq "carol: active" "$(echo "$OUT" | jget 'j["state"]')" active
lacks "show prints no password" "$OUT" "Carol-Pass-1"
lacks "show prints no hash" "$OUT" "scrypt"
run "$COFFER" show carol
contains "show (text): password set" "$OUT" "password:   set"
contains "show (text): expiry date" "$OUT" "2099-12-31"
check_fail "the clear password is not in the database" \
    grep -r -q -a 'Carol-Pass-1' "$T/var"

# Folders: a host-looking path is inside the tree; shared and nested.
run "$COFFER" add dave --folder /etc
eq "--folder /etc means <root>/etc" "$RC" 0
check "<root>/etc created" test -d "$T/store/etc"
check "sharing a folder" "$COFFER" add erin --folder /shared/carol
check "a folder inside another account's" "$COFFER" add frank \
    --folder /shared/carol/inbox --quota 1G
eq "quota equal to the store size is allowed" \
    "$(sqlite3 "$DB" "SELECT quota FROM accounts WHERE name='frank'")" \
    1073741824

# Refusals.  The store is full of good accounts now: 5 of 6.
refused "duplicate name" 1 "$COFFER" add bob
contains "duplicate explained" "$ERR" "already exists"
refused "duplicate name, other case" 1 "$COFFER" add BOB
eq "duplicate in any case explained" "$ERR" \
    "coffer: add: account 'BOB' already exists as 'bob' (names are case-insensitive)"
refused "duplicate name, mixed case" 1 "$COFFER" add Carol
refused "the main account's name" 1 "$COFFER" add ADMIN
for bad in 'Bad' '-x' '.x' '_x' 'a b' 'a/b' 'x:y' \
    'abcdefghijklmnopqrstuvwxyz0123456' 'é'; do
	refused "bad name '$bad'" 1 "$COFFER" add -- "$bad"
done
contains "bad name explained" "$ERR" "bad name"
refused "empty name" 1 "$COFFER" add ''
for res in root sshd nobody coffer; do
	refused "reserved name '$res'" 1 "$COFFER" add "$res"
done
contains "reserved name explained" "$ERR" "reserved"

refused "folder with .." 1 "$COFFER" add gina --folder ../x
refused "folder climbing out with a/../.." 1 "$COFFER" add gina \
    --folder /a/../../x
ln -s /tmp "$T/store/out"
refused "folder through a symlink out (absolute)" 1 "$COFFER" add gina \
    --folder /out
contains "symlink escape explained" "$ERR" "outside the store"
refused "folder below a symlink out" 1 "$COFFER" add gina --folder /out/gina
ln -s ../.. "$T/store/up"
refused "folder through a symlink out (relative)" 1 "$COFFER" add gina \
    --folder /up/x
check_fail "nothing made outside the tree" test -e /tmp/gina
echo data >"$T/store/afile"
refused "folder that is a file" 1 "$COFFER" add gina --folder /afile
contains "file explained" "$ERR" "is a file"
refused "folder below a file" 1 "$COFFER" add gina --folder /afile/sub
long=$(/usr/bin/python3 -c 'print("/" + "d" * 250)')
refused "folder too long" 1 "$COFFER" add gina --folder "$long"

refused "quota above the store size" 1 "$COFFER" add gina --quota 2G
eq "quota above the store size explained" "$ERR" \
    "coffer: add: quota 2.0 GiB is above the store size 1.0 GiB"
refused "quota one byte above the store size" 1 "$COFFER" add gina \
    --quota 1073741825
refused "quota not a size" 2 "$COFFER" add gina --quota lots
refused "quota overflowing" 2 "$COFFER" add gina --quota 99999999999P
refused "quota past the database's range" 2 "$COFFER" add gina --quota 8192P

printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBAD x\n' >"$T/bad.pub"
refused "malformed key" 1 "$COFFER" add gina --key "$T/bad.pub"
contains "malformed key: line number" "$ERR" "bad.pub:1:"
{ cat "$T/k1.pub"; echo "not a key"; } >"$T/half.pub"
refused "one malformed line in a key file" 1 "$COFFER" add gina \
    --key "$T/half.pub"
contains "malformed key: second line" "$ERR" "half.pub:2:"
{ cat "$T/k1.pub"; cat "$T/k1.pub"; } >"$T/dup.pub"
refused "the same key twice" 1 "$COFFER" add gina --key "$T/dup.pub"
contains "duplicate key explained" "$ERR" "duplicate key"
printf '# nothing\n\n' >"$T/empty.pub"
refused "a key file without keys" 1 "$COFFER" add gina --key "$T/empty.pub"
refused "a missing key file" 1 "$COFFER" add gina --key "$T/nonexistent"
ssh-keygen -q -t rsa -b 1024 -N '' -f "$T/small" 2>/dev/null &&
	refused "rsa key under 2048 bits" 1 "$COFFER" add gina \
	    --key "$T/small.pub"
printf 'from="1.2.3.4" %s\n' "$(cat "$T/k1.pub")" >"$T/opts.pub"
refused "authorized_keys options" 1 "$COFFER" add gina --key "$T/opts.pub"
refused "malformed key on stdin" 1 sh -c \
    "echo garbage | '$COFFER' add gina --key -"
contains "stdin named in the error" "$ERR" "stdin:1:"

refused "empty password" 1 sh -c \
    "echo '' | '$COFFER' add gina --password-stdin"
contains "empty password explained" "$ERR" "empty password"
refused "CR-only password is empty" 1 sh -c \
    "printf '\r\n' | '$COFFER' add gina --password-stdin"
refused "no password on stdin" 1 "$COFFER" add gina --password-stdin \
    </dev/null

refused "bad e-mail" 2 "$COFFER" add gina --email not-an-address
refused "bad e-mail (two @)" 2 "$COFFER" add gina --email a@b@c.d
refused "bad date" 2 "$COFFER" add gina --expires 31/12/2099
refused "impossible date" 2 "$COFFER" add gina --expires 2099-02-30
refused "date already over" 1 "$COFFER" add gina --expires 2001-01-01
refused "unknown option" 2 "$COFFER" add gina --bogus
eq "unknown option: one clear line" "$ERR" \
    "coffer: add: unknown option '--bogus' (see 'coffer add --help')"
refused "option without its value" 2 "$COFFER" add gina --quota
refused "no name" 2 "$COFFER" add
refused "two names" 2 "$COFFER" add gina hank
refused "password and keys both from stdin" 2 "$COFFER" add gina \
    --password-stdin --key -

# A database refusal after the folder was made: the folder goes again.
sqlite3 "$DB" "CREATE TRIGGER no_add BEFORE INSERT ON accounts
    BEGIN SELECT RAISE(ABORT, 'refused by test'); END;"
refused "failed insert" 1 "$COFFER" add gina --folder /new/deep/gina
check_fail "the folders made for it were taken back" test -e "$T/store/new"
refused "failed insert into an existing folder" 1 "$COFFER" add gina \
    --folder /shared
check "an existing folder is never taken back" test -d "$T/store/shared"
sqlite3 "$DB" "DROP TRIGGER no_add;"

# Leap day is a date; max accounts: the 6th is fine, the 7th is refused.
check "leap day" "$COFFER" add gina --expires 2096-02-29
refused "more accounts than the maximum" 1 "$COFFER" add hank
contains "maximum explained" "$ERR" "at most 6 sub-accounts"
check_fail "no folder for the refused account" test -e "$T/store/hank"
eq "six sub-accounts" \
    "$(sqlite3 "$DB" "SELECT COUNT(*) FROM accounts WHERE is_main=0")" 6

done_testing
