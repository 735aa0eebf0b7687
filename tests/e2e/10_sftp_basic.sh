#!/bin/sh
# OpenSSH sftp -b against cofferd: every everyday command, checked on disk,
# and the log lines a session leaves.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 100M
add_user alice
start_gateway
A="$T/store/alice"
L="$T/local"
mkdir -p "$L"
head -c 100000 /dev/urandom >"$L/f1"
head -c 3000 /dev/urandom >"$L/f2"
: >"$L/empty"

# -- pwd, ls ----------------------------------------------------------
out=$(echo pwd | sftp_b alice 2>&1)
contains "pwd is /" "$out" "Remote working directory: /"
lacks "pwd shows no host path" "$out" "$T"

mkdir -p "$A/seen"
head -c 1234 /dev/urandom >"$A/listed"
out=$(echo 'ls -l' | sftp_b alice 2>&1)
contains "ls -l lists a file" "$out" "listed"
contains "ls -l shows its size" "$out" "1234"
contains "ls -l lists a folder as a directory" "$(echo "$out" |
	grep seen)" "drwx"
lacks "ls -l shows no host path" "$out" "$T"

# -- put / get ----------------------------------------------------------
check "put three files" sftp_b alice <<EOF
put $L/f1 /f1
put $L/f2 f2
put $L/empty empty
EOF
eq "put: f1 on disk is the same bytes" "$(sha "$A/f1")" "$(sha "$L/f1")"
eq "put: f2 on disk is the same bytes" "$(sha "$A/f2")" "$(sha "$L/f2")"
eq "put: empty file is empty on disk" "$(disk_size "$A/empty" 2>&1)" 0
mkdir -p "$T/dl"
check "get them back" sftp_b alice <<EOF
get /f1 $T/dl/f1
get f2 $T/dl/f2
get empty $T/dl/empty
get listed $T/dl/listed
EOF
eq "get: f1 same sha" "$(sha "$T/dl/f1")" "$(sha "$L/f1")"
eq "get: f2 same sha" "$(sha "$T/dl/f2")" "$(sha "$L/f2")"
eq "get: empty" "$(disk_size "$T/dl/empty" 2>&1)" 0
eq "get: a file put on disk" "$(sha "$T/dl/listed")" "$(sha "$A/listed")"
sftp_fails "get of a missing file fails" alice "not found|No such file" <<EOF
get nope $T/dl/nope
EOF

# -- mkdir / rmdir --------------------------------------------------------
check "mkdir d, d/e" sftp_b alice <<EOF
mkdir d
mkdir /d/e
put $L/f2 d/e/inner
EOF
check "mkdir made folders on disk" test -d "$A/d/e"
eq "file inside a new folder" "$(sha "$A/d/e/inner")" "$(sha "$L/f2")"
sftp_fails "mkdir of an existing folder fails" alice "Failure|exists" <<EOF
mkdir d
EOF
sftp_fails "rmdir of a non-empty folder fails" alice "Failure|not empty" <<EOF
rmdir d/e
EOF
check "d/e still on disk" test -f "$A/d/e/inner"
check "rm + rmdir" sftp_b alice <<EOF
rm d/e/inner
rmdir d/e
EOF
check_fail "rmdir removed d/e on disk" test -e "$A/d/e"
check "d is still there" test -d "$A/d"
sftp_fails "rmdir of / fails" alice "Failure|denied|busy|in use" <<EOF
rmdir /
EOF
check "the account folder survives rmdir /" test -d "$A"

# -- rename ---------------------------------------------------------------
check "rename a file and a folder" sftp_b alice <<EOF
put $L/f2 r1
rename r1 r2
mkdir rd
rename rd d/rd2
EOF
check_fail "rename: old name gone" test -e "$A/r1"
eq "rename: new name holds the bytes" "$(sha "$A/r2")" "$(sha "$L/f2")"
check "rename: folder moved into d" test -d "$A/d/rd2"
check "rename over an existing file (posix-rename)" sftp_b alice <<EOF
put $L/f1 r3
rename r3 r2
EOF
eq "posix-rename replaced the target" "$(sha "$A/r2")" "$(sha "$L/f1")"
check_fail "posix-rename: source gone" test -e "$A/r3"

# -- rm -------------------------------------------------------------------
check "rm" sftp_b alice <<EOF
put $L/f2 gone
rm gone
EOF
check_fail "rm removed the file on disk" test -e "$A/gone"
sftp_fails "rm of a folder fails" alice "Failure|directory|denied" <<EOF
rm d
EOF
check "rm left the folder" test -d "$A/d"

# -- chmod ----------------------------------------------------------------
check "chmod" sftp_b alice <<EOF
chmod 640 f2
chmod 700 d
chmod 604 f1
EOF
eq "chmod 640 on disk" "$(disk_mode "$A/f2")" 640
eq "chmod 700 on a folder, on disk" "$(disk_mode "$A/d")" 700
eq "chmod 604 on disk" "$(disk_mode "$A/f1")" 604
out=$(echo 'ls -l f2' | sftp_b alice 2>&1)
contains "ls -l shows the new mode" "$out" "-rw-r-----"

# -- symlink, readlink (what's on disk), ln -------------------------------
check "symlink with ln -s and symlink" sftp_b alice <<EOF
ln -s f2 sl1
symlink /d sl2
EOF
eq "ln -s made a symlink with the given target" \
	"$(readlink "$A/sl1")" "f2"
eq "symlink made a symlink to /d" "$(readlink "$A/sl2")" "/d"
check "get through a relative symlink" sftp_b alice <<EOF
get sl1 $T/dl/sl1
EOF
eq "symlink read gives the target's bytes" "$(sha "$T/dl/sl1")" \
	"$(sha "$L/f2")"
check "put through an absolute symlink to a folder" sftp_b alice <<EOF
put $L/f2 sl2/via-link
EOF
eq "absolute symlink target resolved in the account's folder" \
	"$(sha "$A/d/via-link" 2>&1)" "$(sha "$L/f2")"
out=$(echo 'ls -l' | sftp_b alice 2>&1)
contains "ls -l shows symlinks as links" "$(echo "$out" | grep sl1)" "lrwx"
check "chmod -h on a symlink (lsetstat)" sftp_b alice <<EOF
chmod -h 600 sl1
EOF
eq "chmod -h left the target's mode" "$(disk_mode "$A/f2")" 640

check "ln (hard link)" sftp_b alice <<EOF
ln f1 hl
EOF
eq "ln: link count 2 on disk" "$(disk_links "$A/f1")" 2
eq "ln: same inode" "$(stat -c %i "$A/hl")" "$(stat -c %i "$A/f1")"
sftp_fails "ln onto an existing name fails" alice "Failure|exists" <<EOF
ln f2 hl
EOF
eq "the existing name is untouched" "$(sha "$A/hl")" "$(sha "$L/f1")"

# -- df -------------------------------------------------------------------
out=$(echo df | sftp_b alice 2>&1)
contains "df prints a header" "$out" "Avail"
# The store is 100M: the account's size is the store's, 102400 KiB.
eq "df size is the store's size" "$(echo "$out" | awk 'NR==3 {print $1}')" \
	102400
out=$(echo 'df -h' | sftp_b alice 2>&1)
contains "df -h shows the size scaled" "$out" "100MB"

# -- the log --------------------------------------------------------------
check_log "log: login ok with method and address" \
	'login ok user=alice method=publickey addr=127\.0\.0\.1:[0-9]+'
check_log "log: upload closed with bytes written" \
	'user=alice .*close "/f1" read=0 written=100000'
check_log "log: download closed with bytes read" \
	'close "/f1" read=100000 written=0'
check_log "log: mkdir" 'user=alice .*mkdir "/?d"'
check_log "log: rmdir" 'rmdir "/?d/e"'
check_log "log: rename" 'rename "/?r1" -> "/?r2"'
check_log "log: remove" 'remove "/?gone"'
check_log "log: symlink" 'symlink "/?sl1" -> "f2"'
check_log "log: hard link" 'link "/?hl" -> "/?f1"'
check_log "log: session id on each line" 'sid=[0-9a-f]{8} user=alice'
check_log "log: connection closed" 'connection closed'
lacks "log names no host path for files" "$(grep -E 'close "' \
	"$T/cofferd.log")" "$T/store"

check_log_clean
done_testing
