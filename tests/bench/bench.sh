#!/bin/sh
# tests/bench/bench.sh — `make bench`: Coffer against OpenSSH's sshd, side by
# side in one run, as ratios.  A benchmark, not a test: it never fails on a
# number (exit 0 unless setting up breaks) and is not part of `make test`.
#
#   make bench                      full run (1 GiB file, 6 runs per cell, ~40 min)
#   make bench BENCH_QUICK=1        small sizes, a few minutes
#
# Settings (environment; BENCH_QUICK changes the defaults marked *):
#   BENCH_RUNS=6            runs per cell; the median is reported (even:
#                           each side goes first as often as second)
#   BENCH_SIZE_MB=1024*     the big file (quick: 64)
#   BENCH_FILES=2000*       small files of 4 KiB (quick: 400) ...
#   BENCH_DIRS=20           ... spread over this many folders
#   BENCH_SESSIONS=50*      sequential sessions (quick: 20)
#   BENCH_PAR=20            parallel clients ...
#   BENCH_PAR_MB=50*        ... uploading this many MiB each (quick: 8)
#   BENCH_IDLE=50           idle sessions held open for the memory row
#   BENCH_MANY=10000*       tiny files for the rsync "many files" rows
#                           (quick: 1000), 100 bytes each, in 100 folders
#   BENCH_CIPHERS="default aes128-gcm@openssh.com"
#   BENCH_ONLY=PATTERN      only the rows whose id matches this shell
#                           pattern (e.g. 'big_down_scpO*'); ids are in
#                           results.json
#   BENCH_KEEP=1            keep the run folder (data, server logs)
#   BENCH_DIR=$O/bench      where the run folder is made
#   BENCH_FS=fresh          the run folder is a fresh ext4 (mkfs defaults,
#                           journal on) in a sparse image beside it,
#                           loop-mounted for the run; BENCH_FS=dir: the
#                           file system BENCH_DIR is on, as it is (see
#                           "Why a fresh file system" below)
#   BENCH_SOURCE            what was measured, for the JSON (default: git
#                           describe of the tree)
#
# What runs: a private sshd (tests/bench/servers.inc: own config, host key,
# pid file, loopback port; a chrooted internal-sftp user and a shell user
# for scp -O and rsync) and two cofferd, each with a fresh store made with
# the coffer CLI: one with a store size and an account quota (the normal
# case, compared with sshd) and one without either (the quota row).  Each
# cell runs OpenSSH and Coffer BENCH_RUNS times, in turn first (A B, B A,
# A B ...: the side that runs second was measured to pay for the first's
# writes, 0.93 vs 1.01 for the same pair of servers swapped), with the
# same client binaries, options and cipher.  Every transfer is checked by
# sha256 of what landed on disk; a wrong result makes the cell FAIL.
# Output: one table on stdout, the same figures in $O/bench/results.json,
# failure details in $O/bench/bench.log.
#
# Why a fresh file system: on an ext4 without a journal (this workplace's
# disks), the inode allocator passes over every inode freed in the last
# 5 s - 305 s when its table block is dirty - so after a row deletes its
# files, creating small files costs time that depends on where each
# server's folder sits among the recently freed inodes, not on the server:
# plain `rsync -a` of 10,000 small files into two sibling folders of such
# a disk measured from 4,600 to 15,700 files/s.  A fresh ext4 with a
# journal (what mkfs makes, and what servers run on) doesn't do that.
#
# Needs root: it adds two system users (coffer-bench-sftp,
# coffer-bench-shell) when missing, removed again at the end, and sshd's
# ChrootDirectory must be root-owned.
set -u

TOP=$(pwd)
O=${O:-build}
case "$O" in /*) ;; *) O="$TOP/$O" ;; esac
COFFER="$O/coffer"
COFFERD="$O/cofferd"
OUTDIR="$O/bench"
RUN=""
FS_IMG="" FS_DEV=""

setup_fail() {
	echo "bench: setup failed: $*" >&2
	exit 1
}

. "$TOP/tests/bench/servers.inc"

cleanup() {
	servers_stop
	if [ -n "$RUN" ] && [ -d "$RUN" ]; then
		if [ "${BENCH_KEEP:-0}" != 0 ]; then
			echo "bench: kept $RUN${FS_IMG:+ (mounted from $FS_IMG)}"
			return
		fi
		if [ -n "$FS_IMG" ]; then
			umount "$RUN" 2>/dev/null || umount -l "$RUN"
			losetup -d "$FS_DEV" 2>/dev/null
			rm -f "$FS_IMG"
			rmdir "$RUN"
		else
			rm -rf "$RUN"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

# ---- settings -------------------------------------------------------------

if [ "${BENCH_QUICK:-0}" != 0 ]; then
	QUICK=1 d_size=64 d_files=400 d_sess=20 d_par_mb=8 d_many=1000
else
	QUICK=0 d_size=1024 d_files=2000 d_sess=50 d_par_mb=50 d_many=10000
fi
ONLY=${BENCH_ONLY:-*}
MANY=${BENCH_MANY:-$d_many}
RUNS=${BENCH_RUNS:-6}
SIZE_MB=${BENCH_SIZE_MB:-$d_size}
FILES=${BENCH_FILES:-$d_files}
DIRS=${BENCH_DIRS:-20}
SESSIONS=${BENCH_SESSIONS:-$d_sess}
PAR=${BENCH_PAR:-20}
PAR_MB=${BENCH_PAR_MB:-$d_par_mb}
IDLE=${BENCH_IDLE:-50}
CIPHERS=${BENCH_CIPHERS:-default aes128-gcm@openssh.com}
for _v in RUNS SIZE_MB FILES DIRS SESSIONS PAR PAR_MB IDLE MANY; do
	eval "_x=\$$_v"
	case "$_x" in
	'' | *[!0-9]* | 0) setup_fail "$_v must be a positive integer" ;;
	esac
done
[ "$(id -u)" = 0 ] || setup_fail "run as root (system users, sshd chroot)"
for _t in /usr/sbin/sshd sftp scp ssh rsync sha256sum useradd; do
	command -v "$_t" >/dev/null 2>&1 || setup_fail "$_t not found"
done
[ -x "$COFFER" ] && [ -x "$COFFERD" ] ||
	setup_fail "no $COFFER / $COFFERD: run make O=... all first"

mkdir -p "$OUTDIR" "${BENCH_DIR:-$OUTDIR}"
RUN=$(mktemp -d "${BENCH_DIR:-$OUTDIR}/run.XXXXXX") ||
	setup_fail "mktemp"
case "$RUN" in *[!A-Za-z0-9/._-]*)
	setup_fail "run folder $RUN: keep its path to [A-Za-z0-9/._-]" ;;
esac
chmod 755 "$RUN"
LOG="$OUTDIR/bench.log"
: >"$LOG"

# fresh_fs: a sparse image beside $RUN, made ext4 (journal on, inode
# tables written now so no background init runs during the bench) and
# mounted on $RUN.  Room: every copy the bench keeps at once, twice.
fresh_fs() {
	_mb=$((SIZE_MB * 12 + PAR * PAR_MB * 3 + FILES / 32 + MANY / 64 + 2048))
	_free=$(df -Pm "$RUN" | awk 'NR == 2 { print $4 }')
	if [ "${_free:-0}" -lt $((_mb / 2)) ]; then
		echo "only ${_free} MiB free, the image may need $((_mb / 2))"
		return 1
	fi
	FS_IMG="$RUN.img"
	truncate -s "${_mb}M" "$FS_IMG" &&
	    mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 \
	    "$FS_IMG" 2>&1 &&
	    FS_DEV=$(losetup -f --show --direct-io=on "$FS_IMG" 2>&1) &&
	    mount "$FS_DEV" "$RUN" 2>&1 || {
		echo "$FS_DEV"
		[ -b "$FS_DEV" ] && losetup -d "$FS_DEV"
		rm -f "$FS_IMG"
		FS_IMG="" FS_DEV=""
		return 1
	}
	chmod 755 "$RUN"
}
case ${BENCH_FS:-fresh} in
fresh)
	if ! command -v mkfs.ext4 >/dev/null 2>&1; then
		_why="no mkfs.ext4"
	elif fresh_fs >"$OUTDIR/fresh_fs.out" 2>&1; then
		_why=""
	else
		_why=$(cat "$OUTDIR/fresh_fs.out")
	fi
	rm -f "$OUTDIR/fresh_fs.out"
	if [ -z "$FS_IMG" ]; then
		_why=$(echo "$_why" | tr '\n' ' ')
		say_fs="the run folder's own file system (a fresh ext4 failed: ${_why:-?})"
		echo "bench: cannot make a fresh file system (${_why:-?});" \
		    "measuring on $(df -PT "$RUN" | awk 'NR == 2 { print $2 }')" \
		    "as it is" >&2
	else
		say_fs="fresh ext4 in a loop-mounted sparse image (mkfs.ext4 defaults, journal on)"
	fi
	;;
dir) say_fs="the run folder's own file system, as it is (BENCH_FS=dir)" ;;
*) setup_fail "BENCH_FS must be fresh or dir" ;;
esac
SERVER_FS="$say_fs: $(df -PT "$RUN" | awk 'NR == 2 { print $2 }')$(
	findmnt -no OPTIONS -T "$RUN" 2>/dev/null | sed 's/^/, /')"
SRC="$RUN/src"
DL="$RUN/dl"
mkdir -p "$SRC" "$DL"

say() { echo "$*"; echo "$*" >>"$LOG"; }
now() { date +%s.%N; }

# ---- data -----------------------------------------------------------------

say "bench: servers' folders on $SERVER_FS"
say "bench: preparing data in $RUN"
head -c $((SIZE_MB * 1048576)) /dev/urandom >"$SRC/big.bin" ||
	setup_fail "cannot write $SRC/big.bin"
cp "$SRC/big.bin" "$SRC/big2.bin"
# The delta row: 1 MiB changed in the middle.
dd if=/dev/urandom of="$SRC/big2.bin" bs=1048576 count=1 \
    seek=$((SIZE_MB / 2)) conv=notrunc status=none
head -c $((PAR_MB * 1048576)) /dev/urandom >"$SRC/par.bin"
head -c 1024 /dev/urandom >"$SRC/tiny.bin"
/usr/bin/python3 - "$SRC/small" "$FILES" "$DIRS" <<'PY' ||
import os, sys
root, files, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(files):
    d = os.path.join(root, "d%02d" % (i % dirs))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(os.urandom(4096))
PY
	setup_fail "cannot write the small files"
/usr/bin/python3 - "$SRC/many" "$MANY" <<'PY' ||
import os, sys
root, files = sys.argv[1], int(sys.argv[2])
for i in range(files):
    d = os.path.join(root, "m%02d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(os.urandom(100))
PY
	setup_fail "cannot write the many files"

sha_of() { sha256sum <"$1" | cut -d' ' -f1; }
# One digest over a tree: relative names and contents.
tree_sum() {
	(cd "$1" 2>/dev/null && find . -type f -print0 | LC_ALL=C sort -z |
		xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1)
}
same_file() { [ -f "$1" ] && [ "$(sha_of "$1")" = "$2" ]; }
same_tree() { [ -d "$1" ] && [ "$(tree_sum "$1")" = "$2" ]; }
BIG_SHA=$(sha_of "$SRC/big.bin")
BIG2_SHA=$(sha_of "$SRC/big2.bin")
PAR_SHA=$(sha_of "$SRC/par.bin")
SMALL_SUM=$(tree_sum "$SRC/small")
MANY_SUM=$(tree_sum "$SRC/many")
BIG_MB=$(awk -v m="$SIZE_MB" 'BEGIN { printf "%.6f", m * 1.048576 }')
PAR_TOTAL_MB=$(awk -v m="$PAR_MB" -v n="$PAR" \
    'BEGIN { printf "%.6f", m * n * 1.048576 }')
ssh-keygen -q -t ed25519 -N '' -C bench -f "$RUN/id_ed25519" ||
	setup_fail "ssh-keygen"

# ---- servers --------------------------------------------------------------

say "bench: starting sshd and cofferd"
openssh_start
# Room for every copy the bench keeps at once, with margin.
QUOTA_MB=$((SIZE_MB * 6 + PAR * PAR_MB + FILES / 64 + MANY / 128 + 1024))
coffer_start coffer "$((QUOTA_MB * 2))M" "${QUOTA_MB}M"

# Client options: identical for both servers; -F /dev/null so no user or
# system ssh_config changes anything.
CIPHER=default
KEX=default
client_opts() {
	_o="-F /dev/null -o StrictHostKeyChecking=no"
	_o="$_o -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
	_o="$_o -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=30"
	_o="$_o -i $RUN/id_ed25519"
	[ "$CIPHER" = default ] || _o="$_o -o Ciphers=$CIPHER"
	[ "$KEX" = default ] || _o="$_o -o KexAlgorithms=$KEX"
	echo "$_o"
}

# side A|B|Z: OpenSSH, Coffer, the same Coffer (Z: for the quota row,
#   whose prep turns the limits off for Z and on again for B).
#   PORT, SUSER (sftp/scp user), XUSER (scp -O/rsync user), XPATH (remote
#   path prefix for those), SDISK/XDISK (where their files land on disk)
side() {
	case $1 in
	A)
		KIND=openssh PORT=$SSHD_PORT SPID=$SSHD_PID
		SUSER=$BENCH_SFTP_USER XUSER=$BENCH_SHELL_USER
		XPATH="$SHELL_DISK/" SDISK=$SFTP_DISK XDISK=$SHELL_DISK
		;;
	B)
		KIND=coffer CNAME=coffer PORT=$coffer_PORT SPID=$coffer_PID
		SUSER=bench XUSER=bench XPATH="" SDISK=$coffer_DISK
		XDISK=$coffer_DISK
		;;
	Z)
		side B
		return
		;;
	esac
}

# Removes names from the server's folders behind its back; Coffer's
# ledger is then recounted (untimed) so quota stays exact.
srv_rm() {
	for _n in "$@"; do
		rm -rf "${SDISK:?}/$_n" "${XDISK:?}/$_n"
	done
	[ "$KIND" = coffer ] && coffer_rescan "$CNAME"
	return 0
}
# srv_put SRC NAME: a copy on the server, owned like the folder.
srv_put() {
	srv_rm "$2"
	for _d in "$SDISK" "$XDISK"; do
		[ -e "$_d/$2" ] && continue
		cp -r "$1" "$_d/$2" && chown -R --reference="$_d" "$_d/$2" ||
			return 1
	done
	[ "$KIND" = coffer ] && coffer_rescan "$CNAME"
	return 0
}

sftp_b() {
	# shellcheck disable=SC2046
	sftp -P "$PORT" $(client_opts) -b - "$SUSER@127.0.0.1"
}
rsync_e() { echo "ssh -p $PORT $(client_opts)"; }

# ---- what is measured: STEM_prep, STEM_run (timed), STEM_check ------------

big_up_prep() { srv_rm big.bin; }
big_up_sftp_run() { echo "put $SRC/big.bin big.bin" | sftp_b; }
big_up_sftp_check() { same_file "$SDISK/big.bin" "$BIG_SHA"; }
big_up_scp_run() {
	scp -q -P "$PORT" $(client_opts) "$SRC/big.bin" \
	    "$SUSER@127.0.0.1:big.bin"
}
big_up_scp_check() { same_file "$SDISK/big.bin" "$BIG_SHA"; }
big_up_scpO_run() {
	scp -q -O -P "$PORT" $(client_opts) "$SRC/big.bin" \
	    "$XUSER@127.0.0.1:${XPATH}big.bin"
}
big_up_scpO_check() { same_file "$XDISK/big.bin" "$BIG_SHA"; }
big_up_rsync_run() {
	rsync -a -e "$(rsync_e)" "$SRC/big.bin" \
	    "$XUSER@127.0.0.1:${XPATH}big.bin"
}
big_up_rsync_check() { same_file "$XDISK/big.bin" "$BIG_SHA"; }

dl_prep() { rm -rf "$DL" && mkdir -p "$DL"; }
big_down_sftp_run() { echo "get big.bin $DL/big.bin" | sftp_b; }
big_down_scp_run() {
	scp -q -P "$PORT" $(client_opts) "$SUSER@127.0.0.1:big.bin" \
	    "$DL/big.bin"
}
big_down_scpO_run() {
	scp -q -O -P "$PORT" $(client_opts) \
	    "$XUSER@127.0.0.1:${XPATH}big.bin" "$DL/big.bin"
}
big_down_rsync_run() {
	rsync -a -e "$(rsync_e)" "$XUSER@127.0.0.1:${XPATH}big.bin" \
	    "$DL/big.bin"
}
big_down_check() { same_file "$DL/big.bin" "$BIG_SHA"; }

small_up_prep() { srv_rm small; }
small_up_sftp_run() { echo "put -r $SRC/small small" | sftp_b; }
small_up_sftp_check() { same_tree "$SDISK/small" "$SMALL_SUM"; }
small_up_scp_run() {
	scp -q -r -P "$PORT" $(client_opts) "$SRC/small" \
	    "$SUSER@127.0.0.1:small"
}
small_up_scp_check() { same_tree "$SDISK/small" "$SMALL_SUM"; }
small_up_rsync_run() {
	rsync -a -e "$(rsync_e)" "$SRC/small/" \
	    "$XUSER@127.0.0.1:${XPATH}small/"
}
small_up_rsync_check() { same_tree "$XDISK/small" "$SMALL_SUM"; }

small_down_sftp_run() { echo "get -r small $DL/small" | sftp_b; }
small_down_scp_run() {
	scp -q -r -P "$PORT" $(client_opts) "$SUSER@127.0.0.1:small" \
	    "$DL/small"
}
small_down_rsync_run() {
	rsync -a -e "$(rsync_e)" "$XUSER@127.0.0.1:${XPATH}small/" \
	    "$DL/small/"
}
small_down_check() { same_tree "$DL/small" "$SMALL_SUM"; }

many_up_prep() { srv_rm many; }
many_up_run() {
	rsync -a -e "$(rsync_e)" "$SRC/many/" "$XUSER@127.0.0.1:${XPATH}many/"
}
many_up_check() { same_tree "$XDISK/many" "$MANY_SUM"; }
many_down_run() {
	rsync -a -e "$(rsync_e)" "$XUSER@127.0.0.1:${XPATH}many/" \
	    "$DL/many/"
}
many_down_check() { same_tree "$DL/many" "$MANY_SUM"; }

delta_prep() { srv_put "$SRC/big.bin" big.bin; }
delta_run() {
	rsync -a --no-whole-file -I -e "$(rsync_e)" "$SRC/big2.bin" \
	    "$XUSER@127.0.0.1:${XPATH}big.bin"
}
delta_check() { same_file "$XDISK/big.bin" "$BIG2_SHA"; }

sessions_prep() { :; }
sessions_run() {
	_i=0
	while [ $_i -lt "$SESSIONS" ]; do
		echo ls | sftp_b >/dev/null || return 1
		_i=$((_i + 1))
	done
}
sessions_check() { :; }

par_names() {
	_i=1
	while [ $_i -le "$PAR" ]; do echo "p$_i.bin"; _i=$((_i + 1)); done
}
par_prep() { srv_rm $(par_names); }
par_run() {
	_ps=""
	for _n in $(par_names); do
		echo "put $SRC/par.bin $_n" | sftp_b >"$RUN/par.$_n.out" 2>&1 &
		_ps="$_ps $!"
	done
	_bad=0
	for _p in $_ps; do wait "$_p" || _bad=1; done
	[ $_bad = 0 ] || cat "$RUN"/par.*.out
	return $_bad
}
par_check() {
	for _n in $(par_names); do
		same_file "$SDISK/$_n" "$PAR_SHA" || return 1
	done
}

# ---- the runner -----------------------------------------------------------

COFFER_SCPO=1
COFFER_RSYNC=1
# supported STEM: 0 unless Coffer's front end refused this protocol.
supported() {
	[ "$KIND" = openssh ] && return 0
	case $1 in
	*scpO*) [ $COFFER_SCPO = 1 ] ;;
	*rsync* | delta* | many*) [ $COFFER_RSYNC = 1 ] ;;
	*) return 0 ;;
	esac
}

side_name() {
	case $1 in A) echo OpenSSH ;; B) echo Coffer ;; Z) echo "Coffer/no-limits" ;; esac
}

# wanted ID: 0 if BENCH_ONLY selects this row.
wanted() {
	# shellcheck disable=SC2254
	case $1 in $ONLY) return 0 ;; esac
	return 1
}
# metric ID LABEL UNIT BETTER GOAL REFNAME COMMAND — one row of the table.
metric() { wanted "$1" || return 0; printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RUN/meta.tsv"; }
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" \
    >>"$RUN/raw.tsv"; }

# measure ID PREP RUN CHECK WORK SIDE_A SIDE_B
#   value = WORK / seconds of RUN (MB/s, files/s, sessions/s)
measure() {
	_id=$1 _prep=$2 _run=$3 _check=$4 _work=$5 _sa=$6 _sb=$7
	wanted "$_id" || return 0
	_r=1
	while [ $_r -le "$RUNS" ]; do
		# Each side first in turn: a run pays for the last one's
		# writes (page cache, freed extents).
		_order="A B"
		[ $((_r % 2)) = 0 ] && _order="B A"
		for _pos in $_order; do
			if [ $_pos = A ]; then _s=$_sa; else _s=$_sb; fi
			side "$_s"
			if ! supported "$_run"; then
				rec "$_id" $_pos $_r NA
				continue
			fi
			_cpu=""
			if ! $_prep >"$RUN/prep.out" 2>&1; then
				_v=FAIL
				{ echo "[$_id run $_r $(side_name "$_s")]" \
				    "preparation failed:"
				  cat "$RUN/prep.out"; } >>"$LOG"
			else
				sync
				settle "$SPID"
				_c0=$(server_cpu "$SPID")
				_t0=$(now)
				$_run >"$RUN/last.out" 2>&1
				_rc=$?
				_t1=$(now)
				settle "$SPID"
				_cpu=$(awk -v a="$_c0" -v b="$(server_cpu "$SPID")" \
				    'BEGIN { printf "%.2f", b - a }')
				if [ $_rc != 0 ]; then
					if grep -qi 'not supported' \
					    "$RUN/last.out"; then
						_v=NA
					else
						_v=FAIL
					fi
				elif ! $_check >"$RUN/check.out" 2>&1; then
					_v=FAIL
					echo "wrong result: what landed differs" \
					    "from the source" >>"$RUN/last.out"
				else
					_v=$(awk -v w="$_work" -v a="$_t0" \
					    -v b="$_t1" 'BEGIN { d = b - a;
					    if (d <= 0) d = 1e-6;
					    printf "%.3f", w / d }')
				fi
				if [ $_v = FAIL ]; then
					{ echo "[$_id run $_r $(side_name "$_s")]" \
					    "exit $_rc:"
					  tail -n 20 "$RUN/last.out"; } >>"$LOG"
				fi
			fi
			rec "$_id" $_pos $_r "$_v" "$_cpu"
			say "  $_id run $_r $(side_name "$_s"): $_v" \
			    "(server CPU ${_cpu}s)"
		done
		_r=$((_r + 1))
	done
}

# ---- probes ---------------------------------------------------------------

side A
echo "put $SRC/tiny.bin tiny.bin" | sftp_b >"$RUN/probe.out" 2>&1 || {
	cat "$RUN/probe.out" >&2; setup_fail "sftp to the private sshd"; }
rsync -e "$(rsync_e)" "$SRC/tiny.bin" \
    "$XUSER@127.0.0.1:${XPATH}tiny.bin" >"$RUN/probe.out" 2>&1 || {
	cat "$RUN/probe.out" >&2; setup_fail "rsync to the private sshd"; }
srv_rm tiny.bin
for _s in B Z; do
	side $_s
	echo "put $SRC/tiny.bin tiny.bin" | sftp_b >"$RUN/probe.out" 2>&1 || {
		cat "$RUN/probe.out" >&2; setup_fail "sftp to cofferd"; }
	srv_rm tiny.bin
done
side B
# Is Coffer's scp -O / rsync front end there yet?
if ! scp -q -O -P "$PORT" $(client_opts) "$SRC/tiny.bin" \
    "$XUSER@127.0.0.1:tiny.bin" >"$RUN/probe.out" 2>&1 &&
    grep -qi 'not supported' "$RUN/probe.out"; then
	COFFER_SCPO=0
	say "bench: Coffer refuses scp -O (\"$(head -n 1 "$RUN/probe.out")\"): n/a"
fi
if ! rsync -e "$(rsync_e)" "$SRC/tiny.bin" "$XUSER@127.0.0.1:tiny.bin" \
    >"$RUN/probe.out" 2>&1 && grep -qi 'not supported' "$RUN/probe.out"
then
	COFFER_RSYNC=0
	say "bench: Coffer refuses rsync (\"$(head -n 1 "$RUN/probe.out")\"): n/a"
fi
srv_rm tiny.bin

# What each side negotiates with the client's defaults.
negotiated() {
	side "$1"
	ssh -v -p "$PORT" $(client_opts) "$SUSER@127.0.0.1" true 2>&1 |
		sed -n 's/.*kex: algorithm: \(.*\)/kex=\1/p;
		    s/.*kex: host key algorithm: \(.*\)/hostkey=\1/p;
		    s/.*kex: client->server cipher: \([^ ]*\).*/cipher=\1/p' |
		tr '\n' ' '
}

{
	printf 'date\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	printf 'runs\t%s\n' "$RUNS"
	printf 'size_mb\t%s\n' "$SIZE_MB"
	printf 'small_files\t%s in %s folders, 4096 bytes each\n' "$FILES" "$DIRS"
	printf 'sessions\t%s\n' "$SESSIONS"
	printf 'parallel\t%s clients x %s MiB\n' "$PAR" "$PAR_MB"
	printf 'idle_sessions\t%s\n' "$IDLE"
	printf 'ciphers\t%s\n' "$CIPHERS"
	printf 'quick\t%s\n' "$QUICK"
	printf 'server_fs\t%s\n' "$SERVER_FS"
	printf 'coffer_quota\tstore %sM, account quota %sM (quota row: store 0, no quota)\n' \
	    "$((QUOTA_MB * 2))" "$QUOTA_MB"
	printf 'client_options\t%s\n' "$(client_opts)"
	printf 'command_placeholders\t%s\n' "OPTS = client_options (+ -o Ciphers=C for a non-default cipher); PORT = the server's port; USER = coffer-bench-sftp (OpenSSH, sftp and scp) or coffer-bench-shell (OpenSSH, scp -O and rsync) or bench (Coffer); PATH = the shell user's folder (OpenSSH) or the account's home (Coffer, relative paths); SRC/SRC2 = the source file(s), DEST = a local folder"
	printf 'openssh_server\t%s\n' \
	    "$(dpkg-query -W -f '${Version}' openssh-server 2>/dev/null)"
	printf 'openssh_client\t%s\n' "$(ssh -V 2>&1)"
	printf 'rsync\t%s\n' "$(rsync --version | head -n 1)"
	printf 'cofferd\t%s\n' "$("$COFFERD" -V 2>&1)"
	printf 'source\t%s\n' "${BENCH_SOURCE:-$(git -C "$TOP" describe \
	    --always --dirty 2>/dev/null || echo "not a git tree: $TOP")}"
	printf 'sshd_setup\tinternal-sftp chrooted (ForceCommand internal-sftp -d /up), UsePAM no, ed25519 host key; scp -O and rsync as a shell user\n'
	for CIPHER in $CIPHERS; do
		printf 'negotiated_openssh_%s\t%s\n' "$CIPHER" "$(negotiated A)"
		printf 'negotiated_coffer_%s\t%s\n' "$CIPHER" "$(negotiated B)"
	done
	CIPHER=default
} >"$RUN/info.tsv"
sed 's/\t/: /' "$RUN/info.tsv" >>"$LOG"

# ---- the runs -------------------------------------------------------------

C_SFTP='echo "put SRC big.bin" | sftp -P PORT OPTS -b - USER@127.0.0.1'
say "bench: $RUNS run(s) per cell; OpenSSH and Coffer in turn first"
for CIPHER in $CIPHERS; do
	case $CIPHER in
	default) cl=default ;;
	*) cl=$(echo "$CIPHER" | sed 's/@.*//') ;;
	esac
	for t in sftp scp scpO rsync; do
		case $t in
		sftp) tl=sftp g=1.2
			c='echo "put SRC big.bin" | sftp -P PORT OPTS -b - USER@127.0.0.1' ;;
		scp) tl="scp (SFTP)" g=""
			c='scp -q -P PORT OPTS SRC USER@127.0.0.1:big.bin' ;;
		scpO) tl="scp -O" g=1.0
			c='scp -q -O -P PORT OPTS SRC USER@127.0.0.1:PATH/big.bin' ;;
		rsync) tl=rsync g=1.0
			c='rsync -a -e "ssh -p PORT OPTS" SRC USER@127.0.0.1:PATH/big.bin' ;;
		esac
		metric "big_up_$t@$cl" "big file upload, $tl [$cl]" MB/s \
		    higher "$g" OpenSSH "$c"
		measure "big_up_$t@$cl" big_up_prep "big_up_${t}_run" \
		    "big_up_${t}_check" "$BIG_MB" A B
	done
	for s in A B; do side $s; srv_put "$SRC/big.bin" big.bin ||
		setup_fail "cannot place big.bin"; done
	for t in sftp scp scpO rsync; do
		case $t in
		sftp) tl=sftp g=1.2
			c='echo "get big.bin DEST" | sftp -P PORT OPTS -b - USER@127.0.0.1' ;;
		scp) tl="scp (SFTP)" g=""
			c='scp -q -P PORT OPTS USER@127.0.0.1:big.bin DEST' ;;
		scpO) tl="scp -O" g=1.0
			c='scp -q -O -P PORT OPTS USER@127.0.0.1:PATH/big.bin DEST' ;;
		rsync) tl=rsync g=1.0
			c='rsync -a -e "ssh -p PORT OPTS" USER@127.0.0.1:PATH/big.bin DEST' ;;
		esac
		metric "big_down_$t@$cl" "big file download, $tl [$cl]" MB/s \
		    higher "$g" OpenSSH "$c"
		measure "big_down_$t@$cl" dl_prep "big_down_${t}_run" \
		    big_down_check "$BIG_MB" A B
	done
	for s in A B; do side $s; srv_rm big.bin; done

	for t in sftp scp rsync; do
		case $t in
		sftp) tl="sftp -r"
			c='echo "put -r SRC/small small" | sftp -P PORT OPTS -b - USER@127.0.0.1' ;;
		scp) tl="scp -r"
			c='scp -q -r -P PORT OPTS SRC/small USER@127.0.0.1:small' ;;
		rsync) tl="rsync -a"
			c='rsync -a -e "ssh -p PORT OPTS" SRC/small/ USER@127.0.0.1:PATH/small/' ;;
		esac
		metric "small_up_$t@$cl" "$FILES x 4 KiB upload, $tl [$cl]" \
		    files/s higher 1.0 OpenSSH "$c"
		measure "small_up_$t@$cl" small_up_prep "small_up_${t}_run" \
		    "small_up_${t}_check" "$FILES" A B
	done
	for s in A B; do side $s; srv_put "$SRC/small" small ||
		setup_fail "cannot place the small files"; done
	for t in sftp scp rsync; do
		case $t in
		sftp) tl="sftp -r"
			c='echo "get -r small DEST/small" | sftp -P PORT OPTS -b - USER@127.0.0.1' ;;
		scp) tl="scp -r"
			c='scp -q -r -P PORT OPTS USER@127.0.0.1:small DEST/small' ;;
		rsync) tl="rsync -a"
			c='rsync -a -e "ssh -p PORT OPTS" USER@127.0.0.1:PATH/small/ DEST/small/' ;;
		esac
		metric "small_down_$t@$cl" "$FILES x 4 KiB download, $tl [$cl]" \
		    files/s higher 1.0 OpenSSH "$c"
		measure "small_down_$t@$cl" dl_prep "small_down_${t}_run" \
		    small_down_check "$FILES" A B
	done
	for s in A B; do side $s; srv_rm small; done

	metric "parallel@$cl" "$PAR parallel sftp uploads x $PAR_MB MiB [$cl]" \
	    MB/s higher "" OpenSSH \
	    "$PAR x (echo \"put SRC pN.bin\" | sftp -P PORT OPTS -b - USER@127.0.0.1 &); wait"
	measure "parallel@$cl" par_prep par_run par_check "$PAR_TOTAL_MB" A B
	for s in A B; do side $s; par_prep; done
done
CIPHER=default

metric delta "delta: rsync big file, 1 MiB changed (file MB/s)" MB/s \
    higher 1.0 OpenSSH \
    'rsync -a --no-whole-file -I -e "ssh -p PORT OPTS" SRC2 USER@127.0.0.1:PATH/big.bin (server holds SRC)'
measure delta delta_prep delta_run delta_check "$BIG_MB" A B
for s in A B; do side $s; srv_rm big.bin; done

metric many_up "$MANY x 100 B upload, rsync -a" files/s higher 1.0 \
    OpenSSH 'rsync -a -e "ssh -p PORT OPTS" SRC/many/ USER@127.0.0.1:PATH/many/'
measure many_up many_up_prep many_up_run many_up_check "$MANY" A B
for s in A B; do side $s; srv_put "$SRC/many" many ||
	setup_fail "cannot place the many files"; done
metric many_down "$MANY x 100 B download, rsync -a" files/s higher 1.0 \
    OpenSSH 'rsync -a -e "ssh -p PORT OPTS" USER@127.0.0.1:PATH/many/ DEST/many/'
measure many_down dl_prep many_down_run many_down_check "$MANY" A B
for s in A B; do side $s; srv_rm many; done

metric sessions "$SESSIONS sequential sessions (connect, auth, ls)" \
    sessions/s higher 1.0 OpenSSH \
    'N x (echo ls | sftp -P PORT OPTS -b - USER@127.0.0.1)'
measure sessions sessions_prep sessions_run sessions_check "$SESSIONS" A B
# The client's default key exchange (sntrup761x25519) is one libssh lacks,
# so the row above compares different handshakes; this one, the same.
KEX=curve25519-sha256
metric sessions_kex "$SESSIONS sequential sessions, both kex $KEX" \
    sessions/s higher "" OpenSSH \
    "N x (echo ls | sftp -P PORT OPTS -o KexAlgorithms=$KEX -b - USER@127.0.0.1)"
measure sessions_kex sessions_prep sessions_run sessions_check "$SESSIONS" A B
KEX=default

# Memory: IDLE sessions held open; the summed RSS (and PSS) of the server
# processes that appeared for them (sshd: monitor + session child per
# connection; cofferd: one child per connection), divided by IDLE.
metric mem_rss "RSS per idle sftp session ($IDLE open)" MiB lower 1.0 \
    OpenSSH "$IDLE x sftp -P PORT OPTS USER@127.0.0.1 (stdin held open); sum VmRSS of the server's new descendants / $IDLE"
metric mem_pss "PSS per idle sftp session (shared pages split)" MiB lower \
    "" OpenSSH "same sessions; sum Pss from /proc/PID/smaps_rollup / $IDLE"
_r=1
wanted mem_rss || _r=$((RUNS + 1))
while [ $_r -le "$RUNS" ]; do
	for _pos in A B; do
		if [ $_pos = A ]; then side A; else side B; fi
		# shellcheck disable=SC2046
		if _m=$(/usr/bin/python3 "$TOP/tests/bench/procs.py" idle \
		    "$IDLE" "$SPID" sftp -P "$PORT" $(client_opts) \
		    "$SUSER@127.0.0.1" 2>>"$LOG"); then
			set -- $_m
			_rss=$(awk -v k="$1" -v n="$IDLE" \
			    'BEGIN { printf "%.3f", k / 1024 / n }')
			_pss=$(awk -v k="$2" -v n="$IDLE" \
			    'BEGIN { printf "%.3f", k / 1024 / n }')
			echo "[mem run $_r $(side_name "$_pos")] rss=$1 KiB" \
			    "pss=$2 KiB processes=$3" >>"$LOG"
		else
			_rss=FAIL _pss=FAIL
		fi
		rec mem_rss $_pos $_r "$_rss"
		rec mem_pss $_pos $_r "$_pss"
		say "  mem run $_r $(side_name "$_pos"): rss $_rss MiB," \
		    "pss $_pss MiB per session"
		sleep 1 # let the sessions' processes exit
	done
	_r=$((_r + 1))
done

# The quota row: one server and one store, its limits switched between
# runs with the coffer CLI (new sessions read them), so both columns
# share the disk, the folder and the process.
coffer_cli() { COFFER_CONF="$RUN/coffer/coffer.conf" "$COFFER" "$@"; }
# quota_prep Z|B: limits off (Z) or on (B), then the upload's own prep.
quota_prep() {
	if [ "$1" = Z ]; then
		coffer_cli store --size 0 && coffer_cli set bench --quota none
	else
		coffer_cli store --size "$((QUOTA_MB * 2))M" &&
		    coffer_cli set bench --quota "${QUOTA_MB}M"
	fi || return 1
	# What the servers will read: no account quota for Z, one for B.
	_q=$(coffer_cli show bench --json | tr -d ' \n' |
	    sed -n 's/.*"quota":\([0-9]*\).*/\1/p')
	if { [ "$1" = Z ] && [ "$_q" != 0 ]; } ||
	    { [ "$1" = B ] && [ "$_q" = 0 ]; }; then
		echo "quota row: account quota is '$_q' for side $1"
		return 1
	fi
	big_up_prep
}
quota_run() { big_up_sftp_run; }
quota_check() { big_up_sftp_check; }
metric quota "quota on vs off: big sftp upload (1st col = quota off)" \
    MB/s higher 0.97 "Coffer quota off" \
    "$C_SFTP; between runs: coffer store --size 0 && coffer set bench --quota none, and back"
# measure() runs prep right after side(); _s is the side it set.
quota_side_prep() { quota_prep "$_s"; }
measure quota quota_side_prep quota_run quota_check "$BIG_MB" Z B
quota_prep B >/dev/null 2>&1
side B
srv_rm big.bin

/usr/bin/python3 "$TOP/tests/bench/report.py" "$RUN" \
    "$OUTDIR/results.json" | tee -a "$LOG" || setup_fail "report"
exit 0
