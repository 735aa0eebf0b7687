#!/bin/sh
# list / usage / show figures after files are copied in by hand and the
# store is rescanned; the store command's limits.
. tests/lib/lib.sh
. tests/cli/cli_lib.inc

S=10485760 # 10M
store_init 10M 2>/dev/null
add() { "$COFFER" add "$@" >/dev/null 2>&1 || notok "add $*"; }
add bob --quota 4M
add carol
add team --folder /team --quota 6M
add xena --folder /team/x
u() { "$COFFER" usage --json | jget "$1"; }
acct() { "$COFFER" usage --json |
	jget "[a for a in j['accounts'] if a['name'] == '$1'][0]['$2']"; }

run "$COFFER" usage --json
json_ok "usage --json parses" "$OUT"
eq "empty store: used 0" "$(u 'j["store"]["used"]')" 0
eq "empty store: all available" "$(u 'j["store"]["available"]')" $S
eq "empty store: size" "$(u 'j["store"]["size"]')" $S
eq "bob: available is his quota" "$(acct bob available)" 4194304

# Files copied in by hand are not counted until a rescan.
head -c 1000000 /dev/zero >"$T/store/bob/a"
head -c 2000000 /dev/zero >"$T/store/team/t"
head -c 500000 /dev/zero >"$T/store/team/x/x"
head -c 100000 /dev/zero >"$T/store/top"
eq "before rescan: not counted" "$(u 'j["store"]["used"]')" 0
run "$COFFER" rescan
eq "rescan exits 0" "$RC" 0
contains "rescan reports the total" "$OUT" "3.4 MiB"
eq "store used" "$(u 'j["store"]["used"]')" 3600000
eq "store available" "$(u 'j["store"]["available"]')" $((S - 3600000))
eq "admin (the whole tree) used" "$(acct admin used)" 3600000
eq "bob used" "$(acct bob used)" 1000000
eq "bob available: his quota left" "$(acct bob available)" $((4194304 - 1000000))
eq "team used (with x inside)" "$(acct team used)" 2500000
eq "team available" "$(acct team available)" $((6291456 - 2500000))
eq "xena used" "$(acct xena used)" 500000
eq "xena (no quota) is bounded by team's folder" "$(acct xena available)" \
    $((6291456 - 2500000))
eq "carol (no quota) gets what the store has left" "$(acct carol available)" \
    $((S - 3600000))

# list and show agree.
run "$COFFER" list --json
json_ok "list --json parses" "$OUT"
eq "list --json: every account" \
    "$(echo "$OUT" | jget '[a["name"] for a in j]')" \
    "['admin', 'bob', 'carol', 'team', 'xena']"
eq "list --json: bob used" \
    "$(echo "$OUT" | jget '[a for a in j if a["name"] == "bob"][0]["used"]')" \
    1000000
eq "list --json: team quota" \
    "$(echo "$OUT" | jget '[a for a in j if a["name"] == "team"][0]["quota"]')" \
    6291456
eq "show --json: xena available" \
    "$("$COFFER" show xena --json | jget 'j["available"]')" \
    $((6291456 - 2500000))
run "$COFFER" list
eq "list exits 0" "$RC" 0
contains "list: header" "$OUT" "NAME"
contains "list: bob's row" "$OUT" "bob"
contains "list: human sizes" "$OUT" "4.0 MiB"
eq "list: one line per account plus a header" "$(echo "$OUT" | wc -l)" 6
run "$COFFER" usage
contains "usage (text): the store line" "$OUT" "used 3.4 MiB"
run "$COFFER" usage bob --json
eq "usage NAME: only that account" \
    "$(echo "$OUT" | jget '[a["name"] for a in j["accounts"]]')" "['bob']"
run "$COFFER" usage bob
contains "usage NAME (text)" "$OUT" "/bob"
lacks "usage NAME (text): no other account" "$OUT" "carol"

# rescan NAME: that folder, and the totals containing it follow.
head -c 1000000 /dev/zero >"$T/store/bob/b"
run "$COFFER" rescan bob
eq "rescan NAME exits 0" "$RC" 0
eq "rescan NAME: bob" "$(acct bob used)" 2000000
eq "rescan NAME: the store total follows" "$(u 'j["store"]["used"]')" 4600000
rm "$T/store/bob/a"
"$COFFER" rescan bob >/dev/null
eq "rescan NAME after a delete: bob" "$(acct bob used)" 1000000
eq "rescan NAME after a delete: store" "$(u 'j["store"]["used"]')" 3600000
head -c 300000 /dev/zero >"$T/store/team/x/y"
"$COFFER" rescan xena >/dev/null
eq "rescan nested: xena" "$(acct xena used)" 800000
eq "rescan nested: team contains it" "$(acct team used)" 2800000
eq "rescan nested: store" "$(u 'j["store"]["used"]')" 3900000

# Over the store size by hand: figures stay exact, available is 0.
head -c 7000000 /dev/zero >"$T/store/carol/huge"
"$COFFER" rescan carol >/dev/null
eq "over the size: store used" "$(u 'j["store"]["used"]')" 10900000
eq "over the size: nothing available" "$(u 'j["store"]["available"]')" 0
eq "over the size: bob has nothing either" "$(acct bob available)" 0
rm "$T/store/carol/huge"
"$COFFER" rescan >/dev/null

refused "usage: unknown account" 1 "$COFFER" usage nobody4
refused "usage: two names" 2 "$COFFER" usage bob carol
refused "rescan: unknown account" 1 "$COFFER" rescan nobody4
refused "rescan: unknown option" 2 "$COFFER" rescan --all
refused "show: unknown account" 1 "$COFFER" show nobody4
refused "list: extra argument" 2 "$COFFER" list bob

# The store's settings.
refused "store size below a quota" 1 "$COFFER" store --size 5M
contains "quota named" "$ERR" "team"
"$COFFER" store --max-accounts 4 >/dev/null
refused "more accounts than the maximum" 1 "$COFFER" add zed
refused "maximum below the accounts there are" 1 "$COFFER" store \
    --max-accounts 3
run "$COFFER" store --size 3M --max-accounts 9
eq "store: size below a quota is refused first" "$RC" 1
run "$COFFER" set team --quota 2M
contains "set quota below usage warns" "$ERR" "warning"
"$COFFER" set bob --quota 1M >/dev/null
run "$COFFER" store --size 3500000
eq "store size below usage: allowed" "$RC" 0
contains "store size below usage: warning" "$ERR" "warning: the store uses"
eq "store size below usage: nothing available" \
    "$(u 'j["store"]["available"]')" 0
run "$COFFER" store --size 0
eq "size 0 (disk only)" "$RC" 0
check "size 0: available is the disk's free space" test \
    "$(u 'j["store"]["available"]')" -gt 0
run "$COFFER" store
contains "store (text): unlimited" "$OUT" "unlimited"

done_testing
