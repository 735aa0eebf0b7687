#!/bin/sh
# sftp -b: a 64 MiB file both ways, resumed transfers (reput, reget), and
# put -r / get -r of a tree of a few hundred files, all compared on disk.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 1G
add_user alice
start_gateway
A="$T/store/alice"
L="$T/local"
mkdir -p "$L" "$T/dl"

# -- 64 MiB ---------------------------------------------------------------
head -c 64M /dev/urandom >"$L/big"
want=$(sha "$L/big")
check "put 64 MiB" sftp_b alice <<EOF
put $L/big big
EOF
eq "64 MiB on disk: size" "$(disk_size "$A/big" 2>&1)" 67108864
eq "64 MiB on disk: sha256" "$(sha "$A/big")" "$want"
check "get 64 MiB" sftp_b alice <<EOF
get big $T/dl/big
EOF
eq "64 MiB downloaded: sha256" "$(sha "$T/dl/big")" "$want"
check_log "log: 64 MiB upload closed with its byte count" \
	'close "/big" read=0 written=67108864'
check_log "log: 64 MiB download closed with its byte count" \
	'close "/big" read=67108864 written=0'
rm -f "$T/dl/big" "$A/big"

# -- resume -----------------------------------------------------------------
head -c 3000000 /dev/urandom >"$L/r"
want=$(sha "$L/r")
head -c 1000000 "$L/r" >"$A/r"   # a partial upload, on the server
check "reput resumes a partial upload" sftp_b alice <<EOF
reput $L/r r
EOF
eq "reput: the file on disk is whole" "$(sha "$A/r")" "$want"
check_log "reput sent only the missing 2000000 bytes" \
	'close "/r" read=0 written=2000000'
head -c 1200000 "$L/r" >"$T/dl/r"   # a partial download, here
check "reget resumes a partial download" sftp_b alice <<EOF
reget r $T/dl/r
EOF
eq "reget: the local copy is whole" "$(sha "$T/dl/r")" "$want"
check_log "reget read only the missing 1800000 bytes" \
	'close "/r" read=1800000 written=0'
cp "$L/r" "$L/r2"
head -c 10 /dev/zero >"$A/r2"   # first bytes differ: resume trusts them
check "reput onto a different prefix keeps the server's prefix" \
	sftp_b alice <<EOF
reput $L/r2 r2
EOF
eq "reput appended after the server's 10 bytes" \
	"$( (head -c 10 /dev/zero; tail -c +11 "$L/r2") | sha256sum |
	cut -d' ' -f1)" "$(sha "$A/r2")"

# -- trees --------------------------------------------------------------
# 300 files in nested folders, sizes 0..8 KiB, one empty folder.
$PY - "$L/tree" <<'PY'
import os, sys
root = sys.argv[1]
r = open("/dev/urandom", "rb")
for i in range(300):
    d = os.path.join(root, "d%d" % (i % 7), "e%d" % (i % 3))
    os.makedirs(d, exist_ok=True)
    n = (i * 2654435761) % 8193
    with open(os.path.join(d, "file %03d.bin" % i), "wb") as f:
        f.write(r.read(n))
os.makedirs(os.path.join(root, "emptydir"))
with open(os.path.join(root, "top.txt"), "w") as f:
    f.write("top\n")
PY
tree_list() {
	(cd "$1" && find . -printf '%p %y %s\n' | sort &&
		find . -type f -exec sha256sum {} + | sort)
}
tree_list "$L/tree" >"$T/tree.want"
eq "the local tree has 301 files" "$(grep -c ' f ' "$T/tree.want")" 301
check "put -r a tree" sftp_b alice <<EOF
put -r $L/tree tree
EOF
tree_list "$A/tree" >"$T/tree.disk"
check "put -r: the tree on disk is identical" cmp "$T/tree.want" \
	"$T/tree.disk"
check "get -r the tree back" sftp_b alice <<EOF
get -r tree $T/dl/tree
EOF
tree_list "$T/dl/tree" >"$T/tree.dl"
check "get -r: the downloaded tree is identical" cmp "$T/tree.want" \
	"$T/tree.dl"
eq "log: a close line for every file sent and fetched" \
	"$(grep -c 'close "/tree/.*written=' "$T/cofferd.log")" 602

check_log_clean
done_testing
