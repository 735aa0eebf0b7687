#!/bin/sh
# Quota and the admin: a quota lowered below usage (the CLI warns; writes
# are refused, deletes allowed, writes again once under the limit); quota
# and store-size changes reaching a running session within seconds; `df`
# in sftp; files copied in by hand, then `coffer rescan`: `coffer usage`
# and `coffer list --json` show exactly what is on disk, and the gateway
# enforces exactly that.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc
. tests/e2e/quota_lib.inc

# ujson NAME FIELD — one field of NAME in `coffer usage NAME --json`
ujson() {
	"$COFFER" usage "$1" --json | $PY -c 'import json, sys
print(json.load(sys.stdin)["accounts"][0][sys.argv[1]])' "$2"
}

store_init 20M
add_user d --quota 1M
add_user e --quota 2M
admin_key
start_gateway
L=$T/local
mkdir -p "$L"

# -- a quota lowered below usage ---------------------------------------------
qs d <<EOF
ok put /a $((400 * K))
ok put /b $((400 * K))
used d $((800 * K))
EOF
out=$("$COFFER" set d --quota 500K 2>&1)
eq "set --quota below usage succeeds" "$?" 0
contains "... with a warning" "$out" "warning"
eq "the new quota is stored" "$(ujson d quota)" $((500 * K))
qs d <<EOF
fail '^quota exceeded: 0 bytes available$' write /c 0 1
fail '^quota exceeded: 0 bytes available$' write /a $((400 * K)) 1
fail '^quota exceeded: 0 bytes available$' trunc /a $((400 * K + 1))
# Only growth is refused: rewriting in place and shrinking are fine.
ok write /a 0 1000
ok trunc /b $((300 * K))
disk /b $((300 * K))
fail '^quota exceeded: 0 bytes available$' write /c 0 1
ok rm /b
used d $((400 * K))
ok write /c 0 $((100 * K))
fail '^quota exceeded: 0 bytes available$' write /c $((100 * K)) 1
dusum $((500 * K))
EOF
qpy disk-matches "after the quota was lowered"

# -- changes reach a running session within seconds ----------------------------
# One session throughout: the admin raises d's quota, lowers it, removes
# it, then shrinks the store below usage (2M; d alone holds 2.5M) and
# restores it.
qs d <<EOF
fail '^quota exceeded: 0 bytes available$' write /live 0 1
sh $COFFER set d --quota 600K
within 5 ok write /live 0 $((100 * K))
fail '^quota exceeded: 0 bytes available$' write /live $((100 * K)) 1
sh $COFFER set d --quota 550K
within 5 fail '^quota exceeded: 0 bytes available$' write /x 0 1
ok rm /live
within 5 ok write /live 0 $((50 * K))
sh $COFFER set d --quota none
within 5 ok write /big 0 $((2 * M))
sh $COFFER store --size 2M
within 5 fail '^quota exceeded: 0 bytes available$' write /x 0 1
ok rm /big
ok write /x 0 1
sh $COFFER store --size 20M
within 5 ok write /x 1 $((2 * M))
ok rm /x
ok write /x 0 1
EOF

# -- df in sftp: the account's effective size, used, available ---------------
# d: no quota of its own now, the store is 20M with 551K+1 used in d.
used_d=$(dsum "$T/store/d")
free=$((20 * M - $(dsum "$T/store")))
eq "df as d: size used avail" "$(df_line d)" \
    "$(((used_d + free) / 1024)) $((used_d / 1024)) $((free / 1024))"
# e: quota 2M, holds 1.5M.
qs e <<EOF
ok put /f $((1536 * K))
ok statvfs / $((2 * M)) $((512 * K))
EOF
eq "df as e: 2048 1536 512" "$(df_line e)" "2048 1536 512"
out=$(echo 'df -h' | sftp_b e 2>&1)
contains "df -h as e shows 2.0MB size" "$out" "2.0MB"
contains "df -h as e shows 512KB available" "$out" "512KB"
# The main account sees the store.
total=$(dsum "$T/store")
eq "df as admin: the store" "$(df_line admin)" \
    "$((20 * 1024)) $((total / 1024)) $(((20 * M - total) / 1024))"

# -- files copied in by hand, then rescan ------------------------------------
mkdir -p "$T/store/e/hand/deep"
mkfile "$T/store/e/hand/one" 300000
mkfile "$T/store/e/hand/deep/two" 123457
cp "$T/store/e/hand/one" "$T/store/top-by-hand"
check "coffer rescan" "$COFFER" rescan
qpy disk-matches "after files copied by hand"
eq "e used, from usage --json" "$(ujson e used)" \
    $((1536 * K + 300000 + 123457))
left=$((2 * M - 1536 * K - 300000 - 123457))
qs e <<EOF
ok statvfs / $((2 * M)) $left
ok write /g 0 $left
fail '^quota exceeded: 0 bytes available$' write /g $left 1
EOF
# Files copied in that pass the quota: the account is over it until they go.
mkfile "$T/store/e/hand/three" 100000
check "coffer rescan e" "$COFFER" rescan e
qpy disk-matches "after an over-quota copy by hand" over-ok
qs e <<EOF
fail '^quota exceeded: 0 bytes available$' write /h 0 1
ok rm /hand/three
fail '^quota exceeded: 0 bytes available$' write /h 0 1
ok rm /hand/deep/two
ok write /h 0 123457
fail '^quota exceeded: 0 bytes available$' write /h 123457 1
EOF
qpy disk-matches "at the end"
check_log_clean
done_testing
