#!/bin/sh
# rsync and the account's limits: a read-only account can download and
# list but changes nothing; quota holds per write (clear message, no
# temporary file, the old file intact, never over the limit); paths and
# symlinks never reach outside the folder; a dropped connection leaves
# nothing half-written.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 1G
add_user ro --read-only
add_user q --quota 10M
add_user alice
make_canary
R="$T/store/ro"
Q="$T/store/q"
A="$T/store/alice"
L="$T/local"
D="$T/dl"
mkdir -p "$L/up" "$L/empty" "$D" "$R/sub"
head -c 50000 /dev/urandom >"$R/f"
echo "in sub" >"$R/sub/g"
ln -s f "$R/link"
echo "upload me" >"$L/up/new"
start_gateway
# shellcheck disable=SC2046,SC2086
rs() { rsync -e "ssh -p $PORT $(ssh_opts)" "$@"; }

# -- read-only ---------------------------------------------------------------
snapshot "$R" >"$T/ro.before"
out=$(rs -a "$L/up/" ro@127.0.0.1: 2>&1)
rc=$?
check "read-only: an upload fails" test "$rc" -ne 0
contains "read-only: a clear message" "$out" "this account is read-only"
out=$(rs -a --delete "$L/up/" ro@127.0.0.1:sub/ 2>&1)
contains "read-only: --delete refused too" "$out" "read-only"
out=$(rs -an "$L/up/" ro@127.0.0.1: 2>&1)
contains "read-only: even a dry-run upload is refused" "$out" "read-only"
check "read-only: download works" rs -a ro@127.0.0.1: "$D/ro/"
eq "read-only: downloaded bytes" "$(sha "$D/ro/f")" "$(sha "$R/f")"
out=$(rs ro@127.0.0.1: 2>&1)
contains "read-only: listing works" "$out" "sub"
snapshot "$R" >"$T/ro.after"
check "read-only: nothing changed on disk" cmp -s "$T/ro.before" "$T/ro.after"
check_log "read-only: the refusal is logged" "upload refused: read-only"

# -- quota -------------------------------------------------------------------
mkdir -p "$L/q1" "$L/q2"
head -c 6000000 /dev/urandom >"$L/q1/six"
head -c 6000000 /dev/urandom >"$L/q2/more"
echo small >"$L/q2/small"
check "quota: 6 MB of 10 MiB fits" rs -a "$L/q1/" q@127.0.0.1:
eq "quota: on disk" "$(sha "$Q/six")" "$(sha "$L/q1/six")"
out=$(rs -a "$L/q2/" q@127.0.0.1: 2>&1)
rc=$?
eq "quota: the upload past the limit ends with code 23" "$rc" 23
contains "quota: a clear message" "$out" \
	'write failed on "more": quota exceeded'
eq "quota: the file that fits still arrived" "$(cat "$Q/small" 2>&1)" small
check_fail "quota: the refused file is not there" test -e "$Q/more"
eq "quota: no temporary file left" "$(find "$Q" -name '.*' | wc -l)" 0
check "quota: never over the limit" test "$(du -sb "$Q" | cut -f1)" -le \
	$((10 * 1048576))
eq "quota: the earlier file is intact" "$(sha "$Q/six")" \
	"$(sha "$L/q1/six")"
head -c 6000000 /dev/urandom >"$L/q1/six"
touch -d '2022-02-02 02:02:02' "$L/q1/six" # not "the same" by size+mtime
out=$(rs -aW "$L/q1/" q@127.0.0.1: 2>&1)
contains "quota: replacing needs room for the new copy" "$out" \
	"quota exceeded"
eq "quota: the old copy stays when the new one can't fit" \
	"$(disk_size "$Q/six")" 6000000
check_fail "quota: and it is the old bytes" \
	test "$(sha "$Q/six")" = "$(sha "$L/q1/six")"
check "quota: --inplace needs no second copy" rs -a --inplace "$L/q1/" \
	q@127.0.0.1:
eq "quota: --inplace wrote the new bytes" "$(sha "$Q/six")" \
	"$(sha "$L/q1/six")"
check_log "quota: the refusal is logged" 'rsync: refused "more": over quota'

# -- escapes -----------------------------------------------------------------
mkdir -p "$A/dir"
echo mine >"$A/dir/mine"
ln -s "$T/canary/secret" "$A/planted_abs"
ln -s ../../canary/secret "$A/planted_rel"
ln -s "$T/canary" "$A/planted_dir"
out=$(rs alice@127.0.0.1:../../etc/passwd "$D/p1" 2>&1)
contains "host:../../etc/passwd is refused" "$out" '".." is not allowed'
check_fail "host:../../etc/passwd got nothing" test -e "$D/p1"
out=$(rs alice@127.0.0.1:/etc/passwd "$D/p2" 2>&1)
check_fail "host:/etc/passwd got nothing" test -e "$D/p2"
out=$(rs -a "alice@127.0.0.1:dir/../../.." "$D/p3" 2>&1)
check_fail "dir/../../.. got nothing" test -e "$D/p3"
out=$(rs -a "alice@127.0.0.1:~root/" "$D/p4" 2>&1)
contains "~root is refused" "$out" "only your own home"
check "a planted symlink downloads as a symlink" rs -a \
	alice@127.0.0.1:planted_abs "$D/pl"
eq "the symlink, not its target" "$(readlink "$D/pl")" "$T/canary/secret"
out=$(rs -r alice@127.0.0.1:planted_abs "$D/pl2" 2>&1)
check_fail "without -l a symlink is skipped, not followed" test -e "$D/pl2"
out=$(rs -a alice@127.0.0.1:planted_dir/ "$D/pl3/" 2>&1)
check_fail "a symlink to a folder outside lists nothing from there" \
	test -e "$D/pl3/secret"
out=$(rs -a "$L/up/" alice@127.0.0.1:../../escape/ 2>&1)
contains "upload to ../../ is refused" "$out" '".." is not allowed'
check_fail "no escape folder next to the store" test -e "$T/escape"
out=$(rs -a "$L/up/" alice@127.0.0.1:planted_dir/ 2>&1)
check_fail "an upload through a planted symlink stays inside" \
	test -e "$T/canary/new"
mkdir -p "$L/ln"
ln -s /etc "$L/ln/etc"
check "uploading a symlink to /etc" rs -a "$L/ln/" alice@127.0.0.1:ln/
eq "the symlink arrived as a symlink" "$(readlink "$A/ln/etc")" /etc
out=$(rs -a "$L/up/" alice@127.0.0.1:ln/etc/ 2>&1)
check_fail "an upload through it does not reach /etc" test -e /etc/new
# --delete through a planted symlink to a folder outside: the link is
# replaced or skipped, never followed.
mkdir -p "$A/deld" "$L/deld/sub"
ln -s "$T/canary" "$A/deld/sub"
echo keep >"$L/deld/sub/own"
rs -a --delete "$L/deld/" alice@127.0.0.1:deld/ >/dev/null 2>&1
check "--delete through a planted folder symlink: the canary is intact" \
	test -f "$T/canary/secret"
check_fail "--delete: nothing was written through the symlink" \
	test -e "$T/canary/own"
rs -a --delete "$L/empty/" alice@127.0.0.1:planted_dir/ >/dev/null 2>&1
check "--delete into a planted symlink target: the canary is intact" \
	test -f "$T/canary/sub/file"
# -H: a hard link whose name is a planted symlink on the server is made in
# the folder, not written through the link.
mkdir -p "$L/hl" "$A/hl"
echo "linked data" >"$L/hl/a"
ln "$L/hl/a" "$L/hl/b"
ln -s "$T/canary/secret" "$A/hl/b"
check "-H upload over a planted symlink" rs -aH "$L/hl/" alice@127.0.0.1:hl/
eq "-H: b is now the uploaded data" "$(cat "$A/hl/b" 2>&1)" "linked data"
check "-H: b is a regular file in the folder" test ! -L "$A/hl/b"
eq "-H: a and b are one file" "$(stat -c %i "$A/hl/a")" \
	"$(stat -c %i "$A/hl/b")"
rm -f "$D/pl" # a symlink: here it points at the canary, on purpose
no_leak "nothing from the host was downloaded" "$D"/* "$D"/*/*
check_canary "the canary folder is unchanged"

# -- a dropped connection leaves nothing half-written ------------------------
mkdir -p "$L/drop" "$A/drop"
head -c 20M /dev/urandom >"$L/drop/f"
echo good >"$A/drop/f"
rsync -e "ssh -p $PORT $(ssh_opts)" -a --bwlimit=2000 "$L/drop/" \
	alice@127.0.0.1:drop/ >/dev/null 2>&1 &
p=$!
sleep 2
kill "$p"
wait "$p"
wait_until 5 sh -c "! ls -A '$A/drop' | grep -q '^\.f\.'"
eq "dropped connection: the good file is untouched" "$(cat "$A/drop/f")" good
eq "dropped connection: no temporary file" \
	"$(ls -A "$A/drop" | grep -c '^\.')" 0
check_log "dropped connection: logged" "interrupted after"

check_log_clean
done_testing
