#!/bin/sh
# rsync options against cofferd: delta transfer (--stats "Literal data"),
# -c, --size-only, --ignore-existing, --existing, -u, -W, --inplace,
# --partial after an interrupted upload, -P, -s, -H, --numeric-ids,
# filters both ways, --delete-after/-before/-during/-delay, --max-delete, older protocols, and
# options that are refused with a one-line message.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 2G
add_user alice
start_gateway
A="$T/store/alice"
L="$T/local"
D="$T/dl"
H=alice@127.0.0.1
mkdir -p "$L" "$D"
# shellcheck disable=SC2046,SC2086
rs() { rsync -e "ssh -p $PORT $(ssh_opts)" "$@"; }
literal() { sed -n 's/^Literal data: \([0-9,]*\) bytes$/\1/p' | tr -d ,; }

# -- delta: a big file changed in a few places sends a small fraction --------
mkdir -p "$L/big"
head -c 256M /dev/urandom >"$L/big/f"
check "upload 256 MiB" rs -a "$L/big/" "$H:big/"
eq "256 MiB on disk" "$(sha "$A/big/f")" "$(sha "$L/big/f")"
printf 'changed!' | dd of="$L/big/f" bs=1 seek=1000 conv=notrunc 2>/dev/null
printf 'changed!' | dd of="$L/big/f" bs=1 seek=200000000 conv=notrunc \
	2>/dev/null
touch -d '2023-03-03 03:03:03' "$L/big/f" # not "the same" by size+mtime
lit=$(rs -a --stats "$L/big/" "$H:big/" | literal)
check "delta upload: under 1 MiB of literal data for 2 small changes" \
	test "${lit:-99999999}" -lt 1048576
echo "# delta upload literal data: $lit bytes"
eq "delta upload: the file on disk is right" "$(sha "$A/big/f")" \
	"$(sha "$L/big/f")"
cp "$L/big/f" "$D/f"
printf 'server side' | dd of="$A/big/f" bs=1 seek=20000000 conv=notrunc \
	2>/dev/null
touch -d '2024-02-03 04:05:06' "$A/big/f" # same second as the copy is "same"
lit=$(rs -a --stats "$H:big/f" "$D/f" | literal)
check "delta download: under 1 MiB of literal data" \
	test "${lit:-99999999}" -lt 1048576
eq "delta download: the local file is right" "$(sha "$D/f")" \
	"$(sha "$A/big/f")"
lit=$(rs -aW --stats "$L/big/" "$H:big/" | literal)
eq "-W sends the whole file" "$lit" 268435456
eq "-W: the file on disk is right" "$(sha "$A/big/f")" "$(sha "$L/big/f")"

# -- delta: basis blocks out of order, repeated, after literal data ----------
# (the receiver reads the basis ahead along runs of blocks: every way a run
# breaks must still put the right bytes on disk)
mkdir -p "$L/ord"
head -c 3000001 /dev/urandom >"$L/ord/f" # not a multiple of the block
check "upload for the block-order cases" rs -a "$L/ord/" "$H:ord/"
{
	tail -c +1500001 "$L/ord/f"
	printf 'new bytes'
	head -c 1500000 "$L/ord/f"
	head -c 1048576 "$L/ord/f"
	tail -c 5000 "$L/ord/f"
} >"$L/ord.new"
mv "$L/ord.new" "$L/ord/f"
touch -d '2023-05-05 05:05:05' "$L/ord/f"
lit=$(rs -a --stats "$L/ord/" "$H:ord/" | literal)
check "blocks out of order: a delta (literal $lit bytes)" \
	test "${lit:-99999999}" -lt 65536
eq "blocks out of order: the file on disk is right" "$(sha "$A/ord/f")" \
	"$(sha "$L/ord/f")"
# Whole 4 KiB blocks in another order, no literal data between the runs.
blk() { dd if="$L/ord/f" bs=4096 skip="$1" count="$2" 2>/dev/null; }
{ blk 400 300; blk 100 200; blk 0 50; blk 700 100; } >"$L/ord.new"
mv "$L/ord.new" "$L/ord/f"
lit=$(rs -a -B 4096 --stats "$L/ord/" "$H:ord/" | literal)
eq "runs of blocks in another order: no literal data" "$lit" 0
eq "runs of blocks in another order: the file on disk is right" \
	"$(sha "$A/ord/f")" "$(sha "$L/ord/f")"
head -c 2000000 "$L/ord/f" | tail -c 1000000 >"$L/ord.new"
head -c 700000 "$L/ord/f" >>"$L/ord.new"
mv "$L/ord.new" "$L/ord/f"
lit=$(rs -a -B 700 --stats "$L/ord/" "$H:ord/" | literal)
check "700-byte blocks, a shorter file: a delta (literal $lit bytes)" \
	test "${lit:-99999999}" -lt 65536
eq "700-byte blocks: the file on disk is right" "$(sha "$A/ord/f")" \
	"$(sha "$L/ord/f")"

# -- --inplace: same inode, right content ------------------------------------
ino=$(stat -c %i "$A/big/f")
printf 'inplace' | dd of="$L/big/f" bs=1 seek=3000000 conv=notrunc 2>/dev/null
touch -d '2023-04-04 04:04:04' "$L/big/f"
lit=$(rs -a --inplace --stats "$L/big/" "$H:big/" | literal)
eq "--inplace: the file on disk is right" "$(sha "$A/big/f")" \
	"$(sha "$L/big/f")"
eq "--inplace: updated in place (same inode)" "$(stat -c %i "$A/big/f")" \
	"$ino"
check "--inplace: a delta too" test "${lit:-99999999}" -lt 1048576

# -- quick-check variants ----------------------------------------------------
mkdir -p "$L/q"
echo one >"$L/q/f"
check "upload for the quick-check cases" rs -a "$L/q/" "$H:q/"
echo two >"$L/q/f"
touch -r "$A/q/f" "$L/q/f" # same size, same mtime, other bytes
rs -a "$L/q/" "$H:q/"
eq "same size and mtime: skipped without -c" "$(cat "$A/q/f")" one
check "-c sees the difference" rs -ac "$L/q/" "$H:q/"
eq "-c transferred it" "$(cat "$A/q/f")" two
mkdir -p "$L/q5"
echo one >"$L/q5/f"
rs -a "$L/q5/" "$H:q5/"
echo ten >"$L/q5/f"
touch -r "$A/q5/f" "$L/q5/f"
check "-c with MD5 (--checksum-choice=md5) sees it too" rs -ac \
	--checksum-choice=md5 "$L/q5/" "$H:q5/"
eq "-c with MD5 transferred it" "$(cat "$A/q5/f")" ten
echo six >"$L/q/f"
touch -d '2001-01-01' "$L/q/f"
rs -a --size-only "$L/q/" "$H:q/"
eq "--size-only skips a same-size file" "$(cat "$A/q/f")" two
echo 4444 >"$L/q/f"
echo new >"$L/q/g"
rs -a --ignore-existing "$L/q/" "$H:q/"
eq "--ignore-existing leaves existing files" "$(cat "$A/q/f")" two
eq "--ignore-existing creates new ones" "$(cat "$A/q/g" 2>&1)" new
echo newer >"$L/q/h"
rs -a --existing "$L/q/" "$H:q/"
eq "--existing updates existing files" "$(cat "$A/q/f")" 4444
check_fail "--existing creates nothing" test -e "$A/q/h"
echo server >"$A/q/f"
touch -d '2035-01-01' "$A/q/f"
rs -au "$L/q/" "$H:q/"
eq "-u keeps a newer file on the server" "$(cat "$A/q/f")" server
eq "-u still sends the rest" "$(cat "$A/q/h" 2>&1)" newer

# -- --partial after an interrupted upload -----------------------------------
mkdir -p "$L/p"
head -c 24M /dev/urandom >"$L/p/f"
mkdir -p "$A/p"
echo old >"$A/p/f"
interrupted() {
	rsync -e "ssh -p $PORT $(ssh_opts)" -a --bwlimit=3000 "$@" "$L/p/" \
		"$H:p/" >/dev/null 2>&1 &
	_p=$!
	sleep 2
	kill "$_p"
	wait "$_p"
	wait_until 5 sh -c "! ls -A '$A/p' | grep -q '^\.f\.'"
}
interrupted
eq "interrupted upload: the old file is untouched" "$(cat "$A/p/f")" old
eq "interrupted upload: no temporary file left" \
	"$(ls -A "$A/p" | grep -c '^\.f\.')" 0
interrupted --partial
size=$(disk_size "$A/p/f")
check "--partial kept what arrived" test "$size" -gt 1000000
echo "# --partial kept $size bytes"
out=$(rs -a --partial --stats "$L/p/" "$H:p/")
eq "--partial: the next run completes the file" "$(sha "$A/p/f")" \
	"$(sha "$L/p/f")"
lit=$(echo "$out" | literal)
check "--partial: the next run reuses what arrived" \
	test "$lit" -lt $((24 * 1048576 - size + 1048576))

# -- -P, -s, -H, --numeric-ids -----------------------------------------------
mkdir -p "$L/h/d" "$L/s p/a b"
echo linked >"$L/h/one"
ln "$L/h/one" "$L/h/two"
ln "$L/h/one" "$L/h/d/three"
echo "x y" >"$L/s p/a b/c d"
out=$(rs -aP "$L/h/" "$H:h/" 2>&1)
contains "-P shows progress" "$out" "100%"
check "-H: the upload runs" rs -aH "$L/h/" "$H:hardlinks/"
eq "-H: three names, one file on disk" \
	"$(stat -c %h "$A/hardlinks/one") $(stat -c %i "$A/hardlinks/one")" \
	"3 $(stat -c %i "$A/hardlinks/d/three")"
check "-H: download" rs -aH "$H:hardlinks/" "$D/hl/"
eq "-H: three names, one file here" "$(stat -c %h "$D/hl/two")" 3
check "-s (secluded args) with spaces up" rs -as "$L/s p/" "$H:s p/"
eq "-s: on disk" "$(cat "$A/s p/a b/c d" 2>&1)" "x y"
check "-s (secluded args) with spaces down" rs -as "$H:s p/a b/c d" \
	"$D/cd"
eq "-s: downloaded" "$(cat "$D/cd" 2>&1)" "x y"
check "--numeric-ids both ways" sh -c "$(cat <<EOF
rsync -e "ssh -p $PORT $(ssh_opts)" -a --numeric-ids "$L/h/" "$H:num/" &&
rsync -e "ssh -p $PORT $(ssh_opts)" -a --numeric-ids "$H:num/" "$D/num/"
EOF
)"
eq "--numeric-ids: the files" "$(cat "$D/num/two" 2>&1)" linked

# -- filters -----------------------------------------------------------------
mkdir -p "$L/f/keep" "$L/f/skip" "$L/f/logs"
echo a >"$L/f/a.txt"
echo o >"$L/f/a.o"
echo k >"$L/f/keep/k.txt"
echo s >"$L/f/skip/s.txt"
echo l >"$L/f/logs/l.log"
check "upload with --exclude" rs -a --exclude '*.o' --exclude /skip \
	"$L/f/" "$H:f/"
check_fail "--exclude *.o: not uploaded" test -e "$A/f/a.o"
check_fail "--exclude /skip: not uploaded" test -e "$A/f/skip"
check "--exclude: the rest is there" test -f "$A/f/keep/k.txt"
rs -a "$L/f/" "$H:fall/"
check "download with --filter and --include" rs -a --include 'keep/***' \
	--include '*.txt' --filter '- *' "$H:fall/" "$D/filtered/"
eq "filters on download: only the included names came" \
	"$(cd "$D/filtered" && find . -type f | sort | tr '\n' ' ')" \
	"./a.txt ./keep/k.txt "
echo junk >"$A/f/junk"
echo mine >"$A/f/mine.bak"
rs -a --delete-after --filter 'P *.bak' --exclude '*.o' "$L/f/" "$H:f/"
check_fail "--delete-after removed junk" test -e "$A/f/junk"
check "a protect rule (P) kept mine.bak" test -f "$A/f/mine.bak"
check "--delete-after with -s also works" rs -as --delete-after \
	--exclude '*.o' "$L/f/" "$H:f/"
for when in before during delay; do
	echo junk >"$A/f/junk-$when"
	check "--delete-$when runs" rs -a "--delete-$when" --exclude '*.o' \
		--exclude '*.bak' "$L/f/" "$H:f/"
	check_fail "--delete-$when removed the extra file" \
		test -e "$A/f/junk-$when"
	eq "--delete-$when kept what the client has" "$(cat "$A/f/keep/k.txt")" k
done
for i in 1 2 3 4 5; do echo "$i" >"$A/f/extra$i"; done
out=$(rs -a --delete --max-delete=2 --exclude '*.o' --exclude '*.bak' \
	"$L/f/" "$H:f/" 2>&1)
eq "--max-delete: exit code 25" "$?" 25
eq "--max-delete=2 deletes two" "$(ls "$A/f" | grep -c extra)" 3
contains "--max-delete says it stopped" "$out" "--max-delete limit"

# -- older protocols -------------------------------------------------------
check "--protocol=30 upload" rs -a --protocol=30 "$L/h/" "$H:p30/"
eq "--protocol=30: on disk" "$(cat "$A/p30/d/three" 2>&1)" linked
check "--protocol=30 download" rs -a --protocol=30 "$H:p30/" "$D/p30/"
eq "--protocol=30: downloaded" "$(cat "$D/p30/two" 2>&1)" linked
check "--protocol=31 round trip" sh -c "$(cat <<EOF
rsync -e "ssh -p $PORT $(ssh_opts)" -a --protocol=31 --delete "$L/f/" \
	"$H:p31/" &&
rsync -e "ssh -p $PORT $(ssh_opts)" -a --protocol=31 "$H:p31/" "$D/p31/"
EOF
)"
same=$(cd "$L/f" && find . -type f -exec sha256sum {} + | sort)
eq "--protocol=31: identical" \
	"$(cd "$D/p31" && find . -type f -exec sha256sum {} + | sort)" "$same"
out=$(rs -a --protocol=29 "$L/h/" "$H:p29/" 2>&1)
contains "--protocol=29 is refused with a clear message" "$out" \
	"protocol version 29 is not supported by this server"

# -- refused options ---------------------------------------------------------
out=$(rs -aA "$L/h/" "$H:x/" 2>&1)
contains "-A is refused with one line" "$out" \
	"rsync: option --acls (-A) is not supported by this server"
out=$(rs -a -M--bogus "$L/h/" "$H:x/" 2>&1)
contains "an unknown option is refused with one line" "$out" \
	"rsync: option --bogus is not supported by this server"
out=$(rs -a --remove-source-files "$H:h/" "$D/rsf/" 2>&1)
contains "--remove-source-files is refused" "$out" \
	"option --remove-source-files is not supported"
check "refused options changed nothing" test -f "$A/h/one"
check_fail "refused options created nothing" test -e "$A/x"

check_log_clean
done_testing
