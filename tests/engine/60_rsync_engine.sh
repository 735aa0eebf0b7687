#!/bin/sh
# The rsync front end without sshd: the real rsync client against
# exec-engine (rsync -e WRAPPER), then hostile streams: a recorded client
# stream replayed with unsafe names patched in, cut short at every few
# bytes, and with bytes flipped.  The engine must end every one with an
# error status, never a crash; nothing may appear outside its folder, no
# temporary file may stay behind, a good file is never half-replaced.
. tests/lib/lib.sh

ENGINE="$O/exec-engine"
ROOT="$T/root"
mkdir -p "$ROOT" "$T/src/sub" "$T/canary"
echo secret >"$T/canary/secret"
snapshot "$T/canary" >"$T/canary.before"

cat >"$T/wrap.sh" <<EOF
#!/bin/sh
# rsync -e: drop the host, serve from \$ENGINE_ROOT
shift
trap '' PIPE
exec "$ENGINE" "\$ENGINE_ROOT" "\$@"
EOF
cat >"$T/rec.sh" <<EOF
#!/bin/sh
# rsync -e: as wrap.sh, recording the command and the client's bytes
# (the engine is the process rsync waits for; tee ends at the EOF).
shift
echo "\$@" >"\$REC.cmd"
rm -f "\$REC.fifo"
mkfifo "\$REC.fifo"
exec 3<&0
tee "\$REC.in" <&3 >"\$REC.fifo" &
exec 3<&-
trap '' PIPE
exec "$ENGINE" "\$ENGINE_ROOT" "\$@" <"\$REC.fifo"
EOF
chmod 755 "$T/wrap.sh" "$T/rec.sh"
ers() { ENGINE_ROOT=$ROOT rsync -e "$T/wrap.sh" "$@"; }

# -- the real client, both ways ------------------------------------------------
head -c 200000 /dev/urandom >"$T/src/sub/f"
echo small >"$T/src/s"
ln -s s "$T/src/l"
check "engine: upload" ers -a "$T/src/" h:up/
check "engine: the upload is identical" diff -r "$T/src" "$ROOT/up"
check "engine: download" ers -a h:up/ "$T/down/"
check "engine: the download is identical" diff -r "$T/src" "$T/down"
out=$(ers -ai "$T/src/" h:up/ 2>&1)
eq "engine: nothing to do the second time" "$out" ""

# -- older clients: capabilities taken out of -e, as an rsync 3.0/3.1
# would send it: no 'v' (no checksum negotiation: MD5; file-list flags as
# bytes), no 'C' (MD5 block sums with the seed after the data), no 'f'.
cat >"$T/strip.sh" <<EOF
#!/bin/sh
# rsync -e: the engine, with the letters in \$STRIP removed after "e."
shift
trap '' PIPE
cmd=\$(printf '%s ' "\$@" | awk -v s="\$STRIP" '{
	i = index(\$0, "e.")
	if (i > 0) {
		h = substr(\$0, 1, i + 1); t = substr(\$0, i + 2)
		j = match(t, /[^A-Za-z]/)
		c = substr(t, 1, j - 1); r = substr(t, j)
		gsub("[" s "]", "", c)
		\$0 = h c r
	}
	print }')
exec "$ENGINE" "\$ENGINE_ROOT" "\$cmd"
EOF
chmod 755 "$T/strip.sh"
head -c 3000000 /dev/urandom >"$T/src/sub/g"
for strip in v vC vCf; do
	srs() { STRIP=$strip ENGINE_ROOT=$ROOT rsync --blocking-io \
		-e "$T/strip.sh" "$@"; }
	out=$(srs -a --debug=nstr "$T/src/" "h:old$strip/" 2>&1)
	contains "without '$strip': MD5 without negotiation" "$out" \
		"Client checksum: md5"
	check "without '$strip': upload identical" diff -r "$T/src" \
		"$ROOT/old$strip"
	check "without '$strip': download" srs -a "h:old$strip/" \
		"$T/dold$strip/"
	check "without '$strip': download identical" diff -r "$T/src" \
		"$T/dold$strip"
	printf 'x' | dd of="$ROOT/old$strip/sub/g" bs=1 seek=1000000 \
		conv=notrunc 2>/dev/null
	touch -d 2001-01-01 "$ROOT/old$strip/sub/g"
	lit=$(srs -a --stats "$T/src/" "h:old$strip/" |
		sed -n 's/^Literal data: \([0-9,]*\) bytes$/\1/p' | tr -d ,)
	check "without '$strip': a delta (literal $lit bytes)" \
		test "${lit:-9999999}" -lt 100000
	check "without '$strip': the delta result is right" cmp \
		"$T/src/sub/g" "$ROOT/old$strip/sub/g"
done

# -- recorded streams ----------------------------------------------------------
# replay NAME ROOT — feeds $T/NAME.in (possibly altered) to the engine
# with the recorded command; the status is in $st, stderr in $T/err.
replay() {
	# shellcheck disable=SC2046
	timeout 10 "$ENGINE" "$2" $(cat "$T/$1.cmd") <"$T/$1.in" \
		>/dev/null 2>"$T/err"
	st=$?
}
no_temp() { find "$1" -name '.*.??????' | wc -l; }
crashed=0
tally() {
	if [ "$st" -ge 124 ] || grep -qE 'AddressSanitizer|runtime error' \
		"$T/err"; then
		crashed=$((crashed + 1))
		echo "# status $st at $1"
		head -n 5 "$T/err" | sed 's/^/#   /'
	fi
}

mkdir -p "$T/up1"
echo "new content" >"$T/up1/AAAAAAA"
mkdir -p "$T/r0"
REC=$T/u ENGINE_ROOT=$T/r0 rsync -rtW --checksum-seed=1 -e "$T/rec.sh" \
	"$T/up1/" h:dst/
sleep 0.5 # tee's last bytes
rm -rf "$T/r1"
mkdir -p "$T/r1"
replay u "$T/r1"
eq "replay: the recorded upload replays cleanly" "$st" 0
eq "replay: and lands" "$(cat "$T/r1/dst/AAAAAAA" 2>&1)" "new content"

# Unsafe names in place of "AAAAAAA" (same length: the frames still add up).
for bad in "../evil" "/etc/pw" "a/../bb" "./AAAAA" "AA//AAA"; do
	rm -rf "$T/r2"
	mkdir -p "$T/r2/x"
	/usr/bin/python3 - "$T/u.in" "$T/bad.in" "$bad" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
i = data.find(b'AAAAAAA')
assert i > 0
open(sys.argv[2], 'wb').write(data[:i] + sys.argv[3].encode() + data[i + 7:])
EOF
	cp "$T/u.cmd" "$T/bad.cmd"
	(cd "$T/r2/x" && replay bad "$T/r2/x")
	st=$(timeout 10 "$ENGINE" "$T/r2/x" $(cat "$T/u.cmd") <"$T/bad.in" \
		2>/dev/null | strings | grep -c 'unsafe file name')
	eq "unsafe name \"$bad\" is refused" "$st" 1
	eq "unsafe name \"$bad\": nothing outside the folder" \
		"$(ls "$T/r2" | tr '\n' ' ')" "x "
done

# A NUL in the name.
/usr/bin/python3 - "$T/u.in" "$T/bad.in" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
i = data.find(b'AAAAAAA')
open(sys.argv[2], 'wb').write(data[:i] + b'AA\0AAAA' + data[i + 7:])
EOF
rm -rf "$T/r3"
mkdir -p "$T/r3"
n=$(timeout 10 "$ENGINE" "$T/r3" $(cat "$T/u.cmd") <"$T/bad.in" \
	2>/dev/null | strings | grep -c 'unsafe file name')
eq "a NUL in a name is refused" "$n" 1

# variants IN STEP — every cut ($T/v/IN.cut.N: the first N bytes) and
# every flipped byte ($T/v/IN.flip.N) of $T/IN.in, one in STEP.
variants() {
	mkdir -p "$T/v"
	/usr/bin/python3 - "$T/$1.in" "$T/v/$1" "$2" <<'EOF'
import sys
d = open(sys.argv[1], 'rb').read()
step = int(sys.argv[3])
for i in range(1, len(d), step):
    open('%s.cut.%d' % (sys.argv[2], i), 'wb').write(d[:i])
    f = bytearray(d)
    f[i] ^= 0xa5
    open('%s.flip.%d' % (sys.argv[2], i), 'wb').write(bytes(f))
EOF
}
# vreplay FILE CMD ROOT — one variant into the engine.
vreplay() {
	# shellcheck disable=SC2046
	timeout 10 "$ENGINE" "$3" $(cat "$2") <"$1" >/dev/null 2>"$T/err"
	st=$?
}

# Cut short everywhere: the good file stays or is whole, never half.
variants u 1
bad_state=0
for v in "$T"/v/u.cut.*; do
	rm -rf "$T/r4"
	mkdir -p "$T/r4/dst"
	echo GOOD >"$T/r4/dst/AAAAAAA"
	touch -d 2000-01-01 "$T/r4/dst/AAAAAAA"
	vreplay "$v" "$T/u.cmd" "$T/r4"
	tally "$v"
	c=$(cat "$T/r4/dst/AAAAAAA" 2>&1)
	if [ "$c" != GOOD ] && [ "$c" != "new content" ]; then
		bad_state=$((bad_state + 1))
		echo "# $v: the file holds [$c]"
	fi
	if [ "$(no_temp "$T/r4")" != 0 ]; then
		bad_state=$((bad_state + 1))
		echo "# $v: a temporary file stayed"
	fi
done
eq "truncated uploads: no crash" "$crashed" 0
eq "truncated uploads: never a half-written file, never a temp file" \
	"$bad_state" 0

# Bytes flipped everywhere.
crashed=0
bad_state=0
for v in "$T"/v/u.flip.*; do
	rm -rf "$T/r5"
	mkdir -p "$T/r5/dst"
	vreplay "$v" "$T/u.cmd" "$T/r5"
	tally "$v"
	[ "$(no_temp "$T/r5")" = 0 ] || bad_state=$((bad_state + 1))
done
eq "corrupted uploads: no crash" "$crashed" 0
eq "corrupted uploads: no temporary file" "$bad_state" 0

# Downloads: the client's generator stream, cut and corrupted.
mkdir -p "$T/dlroot/d"
head -c 100000 /dev/urandom >"$T/dlroot/d/big"
echo x >"$T/dlroot/d/x"
mkdir -p "$T/mine"
head -c 60000 "$T/dlroot/d/big" >"$T/mine/big"
REC=$T/dn ENGINE_ROOT=$T/dlroot rsync -rt --checksum-seed=1 \
	-e "$T/rec.sh" h:d/ "$T/mine/"
sleep 0.5
eq "the recorded download worked" "$(sha "$T/mine/big")" \
	"$(sha "$T/dlroot/d/big")"
variants dn 1
crashed=0
for v in "$T"/v/dn.*; do
	vreplay "$v" "$T/dn.cmd" "$T/dlroot"
	tally "$v"
done
eq "hostile download streams: no crash" "$crashed" 0

snapshot "$T/canary" >"$T/canary.after"
check "nothing outside the roots changed" cmp -s "$T/canary.before" \
	"$T/canary.after"
done_testing
