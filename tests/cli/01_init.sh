#!/bin/sh
# coffer init, the missing-store message, and refused inits.
. tests/lib/lib.sh
. tests/cli/cli_lib.inc

# No store yet: every command that needs one says so, exit 1, one line.
for cmd in "list" "show x" "add x" "set x --quota 1G" "passwd x --stdin" \
    "key list x" "remove x" "usage" "rescan" "store"; do
	# shellcheck disable=SC2086
	run "$COFFER" $cmd </dev/null
	eq "no store: $cmd exits 1" "$RC" 1
	eq "no store: $cmd says so" "$ERR" \
	    "coffer: ${cmd%% x*}: no store at $DB; run 'coffer init' first"
done
check_fail "no store: no database was created" test -e "$DB"

# Usage errors on init: exit 2, nothing made.
refused "init without --size" 2 "$COFFER" init --root "$T/store" \
    --admin admin
refused "init with a bad size" 2 "$COFFER" init --root "$T/store" \
    --size 12Q --admin admin
refused "init with a bad max" 2 "$COFFER" init --root "$T/store" \
    --size 1G --admin admin --max-accounts -3
refused "init with an extra argument" 2 "$COFFER" init extra \
    --root "$T/store" --size 1G --admin admin
refused "init with an unknown option" 2 "$COFFER" init --root "$T/store" \
    --size 1G --admin admin --bogus
refused "init with a bad admin name" 1 "$COFFER" init --root "$T/store" \
    --size 1G --admin 'Bad Name'
refused "init with a reserved admin name" 1 "$COFFER" init \
    --root "$T/store" --size 1G --admin root
contains "reserved name explained" "$ERR" "reserved"
refused "init with the state folder inside the tree" 1 "$COFFER" init \
    --root "$T" --size 1G --admin admin
contains "state folder inside the tree explained" "$ERR" "state folder"
refused "init with the host's / as the tree" 1 "$COFFER" init --root / \
    --size 1G --admin admin
touch "$T/afile"
refused "init with a file as the tree" 1 "$COFFER" init --root "$T/afile" \
    --size 1G --admin admin
refused "init with an empty password" 1 sh -c \
    "echo '' | '$COFFER' init --root '$T/store' --size 1G --admin admin \
	--password-stdin"
check_fail "refused inits made no state folder" test -e "$T/var"

# A good init.
# (a relative --root, through a folder that does not exist, is made
# absolute for the database)
run sh -c "cd '$T' && '$COFFER' init --root not-there/../store --size 2G \
    --admin admin --max-accounts 3"
eq "init exits 0" "$RC" 0
eq "the root is stored absolute" \
    "$(sqlite3 "$DB" "SELECT root FROM settings")" "$(cd "$T" && pwd -P)/store"
check_fail "the folder it passed through was not made" test -e "$T/not-there"
contains "init reports the root" "$OUT" "$T/store"
contains "init reports the size" "$OUT" "2.0 GiB"
contains "init hints that admin cannot log in yet" "$ERR" "coffer passwd admin"
check "database created" test -f "$DB"
check "tree root created" test -d "$T/store"
eq "state folder is mode 0700" "$(stat -c %a "$T/var")" 700
eq "database is not world-readable" \
    "$(stat -c %a "$DB" | cut -c2-)" "00"
check "ledger created" test -f "$DB-ledger"
eq "main account in the database" \
    "$(sqlite3 "$DB" "SELECT name, folder, is_main, read_only FROM accounts")" \
    "admin|/|1|0"
eq "settings in the database" \
    "$(sqlite3 "$DB" "SELECT size, max_accounts FROM settings")" \
    "2147483648|3"
eq "show admin: folder /" "$("$COFFER" show admin --json | jget 'j["folder"]')" /
eq "show admin: main" "$("$COFFER" show admin --json | jget 'j["main"]')" True

# Init again: refused, nothing changed.
refused "second init" 1 "$COFFER" init --root "$T/store2" --size 1G \
    --admin other
contains "second init says a store exists" "$ERR" "already exists"
check_fail "second init made no tree" test -e "$T/store2"

# store: view and change the settings.
run "$COFFER" store --json
eq "store --json exits 0" "$RC" 0
json_ok "store --json parses" "$OUT"
eq "store --json size" "$(echo "$OUT" | jget 'j["size"]')" 2147483648
eq "store --json max" "$(echo "$OUT" | jget 'j["max_accounts"]')" 3
check "store --size 3G" "$COFFER" store --size 3G
eq "size changed" "$(sqlite3 "$DB" "SELECT size FROM settings")" 3221225472
check "store --max-accounts 0" "$COFFER" store --max-accounts 0
eq "max changed" "$(sqlite3 "$DB" "SELECT max_accounts FROM settings")" 0
refused "store --size garbage" 2 "$COFFER" store --size lots

# -c FILE wins over COFFER_CONF; a bad config file is one clear line.
cat >"$T/other.conf" <<EOF
state_dir = "$T/var2";
EOF
run "$COFFER" -c "$T/other.conf" list
eq "-c FILE: other state folder" "$ERR" \
    "coffer: list: no store at $T/var2/coffer.db; run 'coffer init' first"
printf 'bogus_setting = 1;\n' >"$T/bad.conf"
run "$COFFER" -c "$T/bad.conf" list
eq "bad config: exit 1" "$RC" 1
contains "bad config: names the setting" "$ERR" "bogus_setting"
run "$COFFER" -c "$T/missing.conf" list
eq "missing config: exit 1" "$RC" 1

# A database file that is not Coffer's is never taken over.
printf 'state_dir = "%s/var3";\n' "$T" >"$T/foreign.conf"
mkdir "$T/var3"
sqlite3 "$T/var3/coffer.db" "CREATE TABLE mine (x); INSERT INTO mine VALUES (42);"
run "$COFFER" -c "$T/foreign.conf" init --root "$T/store3" --size 1G \
    --admin admin
eq "init over a foreign SQLite database: exit 1" "$RC" 1
contains "init over a foreign SQLite database: explained" "$ERR" \
    "not a database this coffer can use"
eq "the foreign database is untouched" \
    "$(sqlite3 "$T/var3/coffer.db" "SELECT x FROM mine")" 42
check_fail "no tree made for it" test -e "$T/store3"
run "$COFFER" -c "$T/foreign.conf" list
eq "list on a foreign database: exit 1" "$RC" 1
contains "list on a foreign database: explained" "$ERR" "not a database"
echo "not sqlite" >"$T/var3/coffer.db"
run "$COFFER" -c "$T/foreign.conf" init --root "$T/store3" --size 1G \
    --admin admin
eq "init over a non-database file: exit 1" "$RC" 1
eq "the file is untouched" "$(cat "$T/var3/coffer.db")" "not sqlite"

# A store made with a password: only a hash is stored.
rm -rf "$T/var2"
echo 'Init-Pass-42' | "$COFFER" -c "$T/other.conf" init --root "$T/store2" \
    --size 1G --admin boss --password-stdin >"$T/out2" 2>&1
eq "init --password-stdin exits 0" "$?" 0
lacks "init output has no password" "$(cat "$T/out2")" "Init-Pass-42"
# shellcheck disable=SC2016
contains "the main account's password is a scrypt hash" \
    "$(sqlite3 "$T/var2/coffer.db" "SELECT password FROM accounts")" '$scrypt$'
check_fail "the clear password is nowhere in the state folder" \
    grep -r -q -a 'Init-Pass-42' "$T/var2"

done_testing
