#!/bin/sh
# coffer key add|list|remove, and add --key.
. tests/lib/lib.sh
. tests/cli/cli_lib.inc

store_init 1G 2>/dev/null
keyfile k1
keyfile k2
keyfile k3
ssh-keygen -q -t ecdsa -b 256 -N '' -C ec -f "$T/ec"
ssh-keygen -q -t rsa -b 2048 -N '' -C rsa -f "$T/rsa"
"$COFFER" add bob --key "$T/k1.pub" >/dev/null 2>&1 || notok "add bob"
nkeys() { "$COFFER" key list bob --json | jget 'len(j)'; }

run "$COFFER" key list bob --json
eq "key list --json exits 0" "$RC" 0
json_ok "key list --json parses" "$OUT"
eq "one key from add --key" "$(echo "$OUT" | jget 'len(j)')" 1
eq "fingerprint as ssh-keygen computes it" \
    "$(echo "$OUT" | jget 'j[0]["fingerprint"]')" "$(fp k1)"
eq "comment kept" "$(echo "$OUT" | jget 'j[0]["comment"]')" k1
eq "index 1" "$(echo "$OUT" | jget 'j[0]["index"]')" 1

# Several keys from a file with comments and blank lines; and from stdin.
{ echo "# keys"; cat "$T/k2.pub"; echo; cat "$T/ec.pub"; } >"$T/two.pub"
run "$COFFER" key add bob "$T/two.pub"
eq "key add FILE exits 0" "$RC" 0
contains "key add reports the fingerprints" "$OUT" "$(fp ec)"
eq "three keys" "$(nkeys)" 3
run sh -c "'$COFFER' key add BOB - <'$T/rsa.pub'"
eq "key add - (stdin), name in any case" "$RC" 0
eq "four keys" "$(nkeys)" 4
run "$COFFER" key list bob
contains "key list (text) shows the type" "$OUT" "ecdsa-sha2-nistp256"
contains "key list (text) shows the fingerprint" "$OUT" "$(fp rsa)"
run "$COFFER" key list bob --json
eq "key list order is stable" "$(echo "$OUT" | jget '[k["comment"] for k in j]')" \
    "['k1', 'k2', 'ec', 'rsa']"

# Refusals: the whole file or nothing.
refused "a key the account has" 1 "$COFFER" key add bob "$T/k1.pub"
contains "duplicate explained" "$ERR" "already has key $(fp k1)"
{ cat "$T/k3.pub"; cat "$T/k2.pub"; } >"$T/newdup.pub"
refused "a new key and a key the account has" 1 "$COFFER" key add bob \
    "$T/newdup.pub"
{ cat "$T/k3.pub"; cat "$T/k3.pub"; } >"$T/twice.pub"
refused "the same key twice in a file" 1 "$COFFER" key add bob \
    "$T/twice.pub"
{ cat "$T/k3.pub"; echo "ssh-ed25519 !!!notbase64"; } >"$T/bad.pub"
refused "a malformed line after a good one" 1 "$COFFER" key add bob \
    "$T/bad.pub"
contains "malformed: file and line" "$ERR" "bad.pub:2: malformed key"
sed 's/ssh-ed25519/ssh-rsa/' "$T/k3.pub" >"$T/mismatch.pub"
refused "type and blob disagree" 1 "$COFFER" key add bob "$T/mismatch.pub"
printf 'ssh-dss AAAAB3NzaC1kc3MAAACBAP x\n' >"$T/dsa.pub"
refused "unsupported key type" 1 "$COFFER" key add bob "$T/dsa.pub"
ssh-keygen -q -t rsa -b 1024 -N '' -f "$T/small" 2>/dev/null &&
	refused "rsa 1024" 1 "$COFFER" key add bob "$T/small.pub"
refused "a private key" 1 "$COFFER" key add bob "$T/k3"
contains "private key explained" "$ERR" "private key"
refused "an empty file" 1 "$COFFER" key add bob /dev/null
refused "a missing file" 1 "$COFFER" key add bob "$T/none.pub"
refused "unknown account" 1 "$COFFER" key add nobody3 "$T/k3.pub"
refused "key add without a file" 2 "$COFFER" key add bob
refused "key without an action" 2 "$COFFER" key
refused "unknown action" 2 "$COFFER" key rotate bob
refused "key list: unknown account" 1 "$COFFER" key list nobody3
refused "key list: unknown option" 2 "$COFFER" key list bob --xml
eq "four keys still" "$(nkeys)" 4

# The database refuses the second key of a file: the first is taken back.
"$COFFER" add kim >/dev/null 2>&1
sqlite3 "$DB" "CREATE TRIGGER one_key BEFORE INSERT ON keys
    WHEN (SELECT COUNT(*) FROM keys k JOIN accounts a ON a.id = k.account_id
	  WHERE a.name = 'kim') >= 1
    BEGIN SELECT RAISE(ABORT, 'refused by test'); END;"
{ cat "$T/k2.pub"; cat "$T/k3.pub"; } >"$T/pair.pub"
run "$COFFER" key add kim "$T/pair.pub"
eq "second key refused by the database: exit 1" "$RC" 1
eq "second key refused by the database: one line" \
    "$(echo "$ERR" | wc -l | tr -d ' ')" 1
eq "second key refused by the database: the first is taken back" \
    "$(sqlite3 "$DB" "SELECT COUNT(*) FROM keys k JOIN accounts a
	ON a.id = k.account_id WHERE a.name = 'kim'")" 0
sqlite3 "$DB" "DROP TRIGGER one_key;"
"$COFFER" remove kim >/dev/null

# Remove by index and by fingerprint.
refused "remove: index out of range" 1 "$COFFER" key remove bob 9
refused "remove: index 0" 1 "$COFFER" key remove bob 0
refused "remove: not an index" 1 "$COFFER" key remove bob first
refused "remove: unknown fingerprint" 1 "$COFFER" key remove bob "$(fp k3)"
refused "remove: unknown account" 1 "$COFFER" key remove nobody3 1
refused "remove: no key given" 2 "$COFFER" key remove bob
run "$COFFER" key remove bob 2
eq "remove by index exits 0" "$RC" 0
run "$COFFER" key list bob --json
eq "the second key (k2) went" "$(echo "$OUT" | jget '[k["comment"] for k in j]')" \
    "['k1', 'ec', 'rsa']"
run "$COFFER" key remove bob "$(fp rsa)"
eq "remove by fingerprint exits 0" "$RC" 0
eq "two keys" "$(nkeys)" 2
"$COFFER" key remove bob 1 >/dev/null
run "$COFFER" key remove bob 1
eq "remove the last key" "$RC" 0
contains "hint: no way to log in now" "$ERR" "cannot log in"
eq "no keys" "$(nkeys)" 0
run "$COFFER" key list bob
contains "key list (text) with no key" "$OUT" "no keys"

# Keys go with their account.
"$COFFER" key add bob "$T/k1.pub" >/dev/null
"$COFFER" remove bob >/dev/null
eq "keys removed with the account" \
    "$(sqlite3 "$DB" "SELECT COUNT(*) FROM keys")" 0

done_testing
