#!/bin/sh
# rsync -z against cofferd: the compressed token stream ("zlibx") both
# ways, negotiated (-z) and chosen (--compress-choice=zlibx), whole files
# and delta re-syncs; the data really travels compressed (--stats); the
# old "zlib" variant (rsync before 3.2) with matched data in the history,
# both ways, both protocols; other algorithms refused with one line.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 2G
add_user alice
start_gateway
A="$T/store/alice"
L="$T/local"
D="$T/dl"
H=alice@127.0.0.1
mkdir -p "$L/z/sub" "$D"
# shellcheck disable=SC2046,SC2086
rs() { rsync -e "ssh -p $PORT $(ssh_opts)" "$@"; }
sent() { sed -n 's/^Total bytes sent: \([0-9,]*\).*$/\1/p' | tr -d ,; }
rcvd() { sed -n 's/^Total bytes received: \([0-9,]*\).*$/\1/p' | tr -d ,; }
literal() { sed -n 's/^Literal data: \([0-9,]*\) bytes$/\1/p' | tr -d ,; }
sums() { (cd "$1" && find . -type f -exec sha256sum {} + | sort); }

# A tree: compressible text (4 MiB), random data (3 MiB), small and empty
# files, a file of one repeated byte.
i=0
while [ $i -lt 60000 ]; do
	echo "line $i of a very compressible text file, lorem ipsum dolor"
	i=$((i + 1))
done >"$L/z/text"
head -c 3M /dev/urandom >"$L/z/sub/random"
head -c 1000 /dev/urandom >"$L/z/sub/small"
: >"$L/z/empty"
head -c 2M /dev/zero >"$L/z/sub/zeros"
tsize=$(stat -c %s "$L/z/text")

# -- upload, negotiated ------------------------------------------------------
out=$(rs -az --stats "$L/z/" "$H:z/" 2>&1)
check "-z upload succeeds" test $? = 0
eq "-z upload: every file on disk is right" "$(sums "$A/z")" "$(sums "$L/z")"
s=$(echo "$out" | sent)
echo "# -z upload: $s bytes sent for $(du -sb "$L/z" | cut -f1) bytes"
check "-z upload: compressed (sent < random + text/4)" \
	test "${s:-999999999}" -lt $((3145728 + tsize / 4))
contains "-z upload: zlibx was negotiated" "$(cat "$T/cofferd.log")" \
	"upload: protocol 31, live, zlibx"

# -- download, negotiated ----------------------------------------------------
out=$(rs -az --stats "$H:z/" "$D/z/" 2>&1)
check "-z download succeeds" test $? = 0
eq "-z download: every file is right" "$(sums "$D/z")" "$(sums "$L/z")"
r=$(echo "$out" | rcvd)
echo "# -z download: $r bytes received"
check "-z download: compressed (received < random + text/4)" \
	test "${r:-999999999}" -lt $((3145728 + tsize / 4))

# -- text only: well below its size both ways --------------------------------
mkdir -p "$L/t"
cp "$L/z/text" "$L/t/text"
s=$(rs -az --stats "$L/t/" "$H:t/" 2>&1 | sent)
check "-z upload of text: under a tenth of its size ($s of $tsize)" \
	test "${s:-999999999}" -lt $((tsize / 10))
r=$(rs -az --stats "$H:t/" "$D/t/" 2>&1 | rcvd)
check "-z download of text: under a tenth of its size ($r of $tsize)" \
	test "${r:-999999999}" -lt $((tsize / 10))
eq "text round trip" "$(sha "$D/t/text")" "$(sha "$L/t/text")"

# -- delta re-sync with -z: changed in a few places --------------------------
printf 'CHANGED one' | dd of="$L/z/sub/random" bs=1 seek=5000 conv=notrunc \
	2>/dev/null
printf 'CHANGED two' | dd of="$L/z/sub/random" bs=1 seek=2500000 \
	conv=notrunc 2>/dev/null
printf 'edited' | dd of="$L/z/text" bs=1 seek=1000000 conv=notrunc \
	2>/dev/null
echo "appended line" >>"$L/z/text"
touch -d '2023-03-03 03:03:03' "$L/z/sub/random" "$L/z/text"
out=$(rs -az --stats "$L/z/" "$H:z/" 2>&1)
lit=$(echo "$out" | literal)
check "-z delta upload: under 256 KiB of literal data ($lit)" \
	test "${lit:-99999999}" -lt 262144
eq "-z delta upload: every file on disk is right" "$(sums "$A/z")" \
	"$(sums "$L/z")"
printf 'server edit' | dd of="$A/z/sub/random" bs=1 seek=1500000 \
	conv=notrunc 2>/dev/null
printf 'server edit' | dd of="$A/z/text" bs=1 seek=300 conv=notrunc \
	2>/dev/null
touch -d '2024-02-03 04:05:06' "$A/z/sub/random" "$A/z/text"
out=$(rs -az --stats "$H:z/" "$D/z/" 2>&1)
lit=$(echo "$out" | literal)
check "-z delta download: under 256 KiB of literal data ($lit)" \
	test "${lit:-99999999}" -lt 262144
eq "-z delta download: every file is right" "$(sums "$D/z")" \
	"$(sums "$A/z")"

# -- blocks out of order (absolute block numbers), runs over 65535 blocks ---
mkdir -p "$L/o"
head -c 1M /dev/urandom >"$T/h1"
head -c 1M /dev/urandom >"$T/h2"
cat "$T/h1" "$T/h2" >"$L/o/swap"
check "-z upload of a file to reorder" rs -az "$L/o/" "$H:o/"
cat "$T/h2" "$T/h1" >"$L/o/swap"
touch -d '2023-05-05 05:05:05' "$L/o/swap"
lit=$(rs -az --stats "$L/o/" "$H:o/" | literal)
check "-z upload, halves swapped: a delta ($lit)" \
	test "${lit:-99999999}" -lt 65536
eq "-z upload, halves swapped: right" "$(sha "$A/o/swap")" "$(sha "$L/o/swap")"
head -c 48M /dev/urandom >"$L/o/long"
check "-z upload of 48 MiB" rs -az "$L/o/" "$H:o/"
lit=$(rs -az -I -B 700 --stats "$L/o/" "$H:o/" | literal)
eq "-z -I -B 700: 70k matching blocks, no literal data" "$lit" 0
rm -f "$D/o/swap"
check "-z download of 48 MiB" rs -az "$H:o/" "$D/o/"
lit=$(rs -az -I -B 700 --stats "$H:o/" "$D/o/" | literal)
eq "-z -I -B 700 download: 70k matching blocks, no literal" "$lit" 0
eq "48 MiB both ways: right" "$(sums "$D/o")" "$(sums "$L/o")"
check "--protocol=30 -z round trip" sh -c "$(cat <<EOF
rsync -e "ssh -p $PORT $(ssh_opts)" -az --protocol=30 "$L/o/" "$H:z30/" &&
rsync -e "ssh -p $PORT $(ssh_opts)" -az --protocol=30 "$H:z30/" "$D/z30/"
EOF
)"
eq "--protocol=30 -z: identical" "$(sums "$D/z30")" "$(sums "$L/o")"

# -- --compress-choice=zlibx (sent as --new-compress), levels, -zz ------------
check "--compress-choice=zlibx upload" rs -a --compress-choice=zlibx \
	"$L/z/" "$H:zx/"
eq "zlibx upload: every file is right" "$(sums "$A/zx")" "$(sums "$L/z")"
check "--compress-choice=zlibx download" rs -a --compress-choice=zlibx \
	"$H:zx/" "$D/zx/"
eq "zlibx download: every file is right" "$(sums "$D/zx")" "$(sums "$L/z")"
check "-z --compress-level=1 upload" rs -a -z --compress-level=1 \
	"$L/z/" "$H:zl/"
eq "level 1: every file is right" "$(sums "$A/zl")" "$(sums "$L/z")"
check "-z --compress-level=9 -W download" rs -a -z --compress-level=9 -W \
	"$H:zl/" "$D/zl/"
eq "level 9: every file is right" "$(sums "$D/zl")" "$(sums "$L/z")"
check "--protocol=31 -z round trip" sh -c "$(cat <<EOF
rsync -e "ssh -p $PORT $(ssh_opts)" -az --protocol=31 "$L/z/" "$H:z31/" &&
rsync -e "ssh -p $PORT $(ssh_opts)" -az --protocol=31 "$H:z31/" "$D/z31/"
EOF
)"
eq "--protocol=31 -z: identical" "$(sums "$D/z31")" "$(sums "$L/z")"

# -- the old "zlib" (rsync before 3.2, --old-compress, --compress-choice=zlib):
# matched blocks enter both histories, so text edited in places (literal
# data right after matched blocks, compressed against them) must come out
# exact both ways; blocks over 64 KiB (-B) are seen in pieces, the
# protocol-30 way and the 31 way.
mkdir -p "$L/zo"
cp "$L/z/text" "$L/zo/text"
head -c 3M /dev/urandom >"$L/zo/random"
check "zlib upload" rs -a --compress-choice=zlib "$L/zo/" "$H:zo/"
eq "zlib upload: every file is right" "$(sums "$A/zo")" "$(sums "$L/zo")"
contains "zlib: logged" "$(cat "$T/cofferd.log")" "live, zlib"
for off in 20000 900000 2000000 3500000; do
	printf 'EDIT at %s, line of a very compressible text' "$off" |
		dd of="$L/zo/text" bs=1 seek="$off" conv=notrunc 2>/dev/null
done
printf 'EDIT' | dd of="$L/zo/random" bs=1 seek=1000000 conv=notrunc \
	2>/dev/null
touch -d '2023-06-06 06:06:06' "$L/zo/text" "$L/zo/random"
out=$(rs -a --compress-choice=zlib --stats "$L/zo/" "$H:zo/" 2>&1)
eq "zlib delta upload: exit 0" "$?" 0
lit=$(echo "$out" | literal)
check "zlib delta upload: a delta ($lit)" test "${lit:-99999999}" -lt 262144
eq "zlib delta upload: every file is right" "$(sums "$A/zo")" \
	"$(sums "$L/zo")"
cp -r "$L/zo" "$D/zo"
for off in 100 1500000 3000000; do
	printf 'SERVER EDIT at %s, line of a very compressible text' "$off" |
		dd of="$A/zo/text" bs=1 seek="$off" conv=notrunc 2>/dev/null
done
touch -d '2024-06-06 06:06:06' "$A/zo/text"
out=$(rs -a --old-compress --stats "$H:zo/" "$D/zo/" 2>&1)
eq "zlib (--old-compress) delta download: exit 0" "$?" 0
lit=$(echo "$out" | literal)
check "zlib delta download: a delta ($lit)" test "${lit:-99999999}" -lt 262144
eq "zlib delta download: every file is right" "$(sums "$D/zo")" \
	"$(sums "$A/zo")"
for p in 30 31; do
	printf 'BIG BLOCK EDIT %s' "$p" | dd of="$L/zo/text" bs=1 \
		seek=$((p * 10000)) conv=notrunc 2>/dev/null
	touch -d "2023-07-0${p#3} 07:07:07" "$L/zo/text"
	check "zlib, protocol $p, 100000-byte blocks: upload" rs -a \
		--protocol=$p --compress-choice=zlib -B 100000 -I "$L/zo/" \
		"$H:zo$p/"
	check "zlib, protocol $p, 100000-byte blocks: delta upload" rs -a \
		--protocol=$p --compress-choice=zlib -B 100000 -I "$L/zo/" \
		"$H:zo$p/"
	eq "zlib, protocol $p: right on disk" "$(sums "$A/zo$p")" \
		"$(sums "$L/zo")"
	printf 'X' | dd of="$A/zo$p/text" bs=1 seek=777 conv=notrunc \
		2>/dev/null
	cp -r "$L/zo" "$D/zo$p"
	check "zlib, protocol $p, 100000-byte blocks: delta download" rs -a \
		--protocol=$p --compress-choice=zlib -B 100000 -I "$H:zo$p/" \
		"$D/zo$p/"
	eq "zlib, protocol $p: right locally" "$(sums "$D/zo$p")" \
		"$(sums "$A/zo$p")"
done
# Literal data right after a matched 100000-byte block that repeats the
# block's tail: it is compressed against the history, so both sides must
# have put the same pieces of that block into it (protocol 30 repeats the
# first piece, 31 does not).
# Within deflate's 32 KiB window: protocol 31 has the block's tail there,
# protocol 30 the first piece's bytes 1697..34465 again.
/usr/bin/python3 - "$T/zb" <<'PY'
import os, sys
r = [os.urandom(100000) for _ in range(4)]
open(sys.argv[1] + ".old", "wb").write(b"".join(r))
open(sys.argv[1] + ".new31", "wb").write(
    r[0] + r[1] + r[1][70000:] + os.urandom(70000) + r[3])
open(sys.argv[1] + ".new30", "wb").write(
    r[0] + r[1] + r[1][5000:30000] + os.urandom(75000) + r[3])
PY
for p in 30 31; do
	mkdir -p "$L/zb$p"
	cp "$T/zb.old" "$L/zb$p/f"
	check "zlib, protocol $p: big blocks, first copy" rs -a \
		--protocol=$p --compress-choice=zlib -B 100000 "$L/zb$p/" \
		"$H:zb$p/"
	cp "$T/zb.new$p" "$L/zb$p/f"
	touch -d '2023-08-08 08:08:08' "$L/zb$p/f"
	out=$(rs -a --protocol=$p --compress-choice=zlib -B 100000 --stats \
		"$L/zb$p/" "$H:zb$p/" 2>&1)
	eq "zlib, protocol $p: literal data against the history, exit 0" \
		"$?" 0
	lit=$(echo "$out" | literal)
	check "zlib, protocol $p: right the first time, no resend ($lit)" \
		test "${lit:-99999999}" -lt 200000
	eq "zlib, protocol $p: the file on disk is right" \
		"$(sha "$A/zb$p/f")" "$(sha "$T/zb.new$p")"
	cp "$T/zb.old" "$D/zb$p"
	touch -d '2021-01-01 01:01:01' "$D/zb$p"
	out=$(rs -a --protocol=$p --compress-choice=zlib -B 100000 \
		"$H:zb$p/f" "$D/zb$p" 2>&1)
	eq "zlib, protocol $p: download against the history, exit 0" \
		"$?" 0
	eq "zlib, protocol $p: the local file is right" "$(sha "$D/zb$p")" \
		"$(sha "$T/zb.new$p")"
done
out=$(RSYNC_COMPRESS_LIST=zlib rs -az "$L/z/" "$H:zn/" 2>&1)
eq "a client offering only zlib gets zlib" "$?" 0
eq "only-zlib client: every file is right" "$(sums "$A/zn")" "$(sums "$L/z")"
out=$(rs -a --compress-choice=zstd "$L/z/" "$H:zs/" 2>&1)
contains "--compress-choice=zstd is refused with one line" "$out" \
	'compression "zstd" is not supported by this server'
check_fail "the refusal created nothing" test -e "$A/zs"

check_log_clean
done_testing
