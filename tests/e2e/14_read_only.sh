#!/bin/sh
# A read-only account (coffer add --read-only): every write refused with
# "Permission denied", through sftp and as raw SFTP requests (paramiko);
# listing and downloads work; the tree on disk is byte for byte the same.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 1G
add_user ro --read-only
R="$T/store/ro"
L="$T/local"
mkdir -p "$L" "$T/dl" "$R/sub" "$R/empty"
head -c 50000 /dev/urandom >"$R/f"
echo "in sub" >"$R/sub/g"
ln -s f "$R/link"
head -c 1000 /dev/urandom >"$L/up"
head -c 10 "$R/f" >"$L/f"    # a prefix, for reget
{ cat "$R/f"; echo more; } >"$L/longer"    # for reput
start_gateway
snapshot "$R" >"$T/ro.before"

# -- sftp: each write in its own batch, each must be refused ---------------
D="Permission denied"
sftp_fails "put of a new file refused" ro "$D" <<EOF
put $L/up up
EOF
sftp_fails "put over an existing file refused" ro "$D" <<EOF
put $L/up f
EOF
sftp_fails "reput (append) refused" ro "$D" <<EOF
reput $L/longer f
EOF
sftp_fails "put -r refused" ro "$D|No such file" <<EOF
put -r $L tree
EOF
sftp_fails "mkdir refused" ro "$D" <<EOF
mkdir newdir
EOF
sftp_fails "rmdir refused" ro "$D" <<EOF
rmdir empty
EOF
sftp_fails "rm refused" ro "$D" <<EOF
rm f
EOF
sftp_fails "rename refused" ro "$D" <<EOF
rename f f2
EOF
sftp_fails "rename of a folder refused" ro "$D" <<EOF
rename sub sub2
EOF
sftp_fails "chmod refused" ro "$D" <<EOF
chmod 777 f
EOF
sftp_fails "chmod -h (lsetstat) refused" ro "$D" <<EOF
chmod -h 777 link
EOF
sftp_fails "symlink refused" ro "$D" <<EOF
ln -s f sl
EOF
sftp_fails "ln (hard link) refused" ro "$D" <<EOF
ln f hl
EOF
# scp over SFTP too.
# shellcheck disable=SC2046
check_fail "scp upload refused" scp -q -P "$PORT" $(ssh_opts) "$L/up" \
	"ro@127.0.0.1:up"

snapshot "$R" >"$T/ro.mid"
check "after refused sftp writes the tree is byte-for-byte the same" \
	cmp "$T/ro.before" "$T/ro.mid"

# -- reading works ---------------------------------------------------------
out=$(echo 'ls -l' | sftp_b ro 2>&1)
contains "ls -l works" "$out" "sub"
check "get, get -r, reget work" sftp_b ro <<EOF
get f $T/dl/f
get link $T/dl/link
get -r sub $T/dl/sub
reget f $L/f
EOF
eq "download: same bytes" "$(sha "$T/dl/f" 2>&1)" "$(sha "$R/f")"
eq "download through a symlink" "$(sha "$T/dl/link" 2>&1)" "$(sha "$R/f")"
check "get -r: the folder" diff -r "$R/sub" "$T/dl/sub"
eq "reget completed the local copy" "$(sha "$L/f")" "$(sha "$R/f")"
out=$(echo df | sftp_b ro 2>&1)
contains "df works" "$out" "Avail"

# -- every write request, raw (paramiko) ------------------------------------
run_py readonly "$PORT" ro "$T/id_ed25519" "$R"

snapshot "$R" >"$T/ro.after"
check "at the end the tree is byte-for-byte the same" \
	cmp "$T/ro.before" "$T/ro.after"
check_log "log: refusals are logged as read-only" \
	'user=ro .*refused (open|write|mkdir|remove).*read-only account'
# Each kind of request is refused by the request table (one rule, one
# place), which logs it; the fs layer beneath would refuse silently.
for op in open write setstat fsetstat remove mkdir rmdir rename symlink \
    posix-rename@openssh.com hardlink@openssh.com lsetstat@openssh.com \
    copy-data; do
	check_log "log: $op refused by the request table" \
		"user=ro .*refused $op: read-only account"
done
check_log "log: the session ran under a read-only Landlock" \
	'user=ro .*Landlock.*read-only'
check_log_clean
done_testing
