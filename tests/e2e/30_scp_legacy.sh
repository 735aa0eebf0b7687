#!/bin/sh
# Legacy scp (`scp -O`) against the real cofferd: uploads and downloads,
# -r, -p, odd names, a 256 MiB file, globs, "~", and every refusal —
# no such file, read-only account, quota (announced size and bytes
# actually written), hostile names, paths outside the root — with what
# landed on disk checked each time.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc
. tests/e2e/quota_lib.inc
LC_ALL=C
export LC_ALL

store_init 1G
add_user alice
add_user bob --quota 100K
add_user carol --read-only
start_gateway

H=127.0.0.1
S=$T/store
L=$T/local
D=$T/dl
mkdir -p "$L" "$D"

# shellcheck disable=SC2046
scpo() { scp -O -q -P "$PORT" $(ssh_opts) "$@"; }
# The sink driven by hand: raw protocol bytes on stdin.
# shellcheck disable=SC2046
raw() { _u=$1; shift; ssh -p "$PORT" $(ssh_opts) "$_u@$H" "$@"; }
# Bytes used by an account, from the ledger.
used() {
	"$COFFER" usage --json | /usr/bin/python3 -c "import json,sys
print([a['used'] for a in json.load(sys.stdin)['accounts']
    if a['name'] == '$1'][0])"
}
fresh_dl() { rm -rf "$D"; mkdir -p "$D"; }

# ---- uploads ------------------------------------------------------------

echo hello >"$L/a.txt"
echo world >"$L/b.txt"
printf 'data\n' >"$L/c.dat"
check "upload one file to the home" scpo "$L/a.txt" "alice@$H:"
eq "it landed, same bytes" "$(cat "$S/alice/a.txt" 2>&1)" hello
check "upload several files into a directory" \
	scpo "$L/a.txt" "$L/b.txt" "$L/c.dat" "alice@$H:/"
eq "all three landed" "$(cd "$S/alice" && ls | tr '\n' ' ')" \
	"a.txt b.txt c.dat "
check "upload under a new name" scpo "$L/b.txt" "alice@$H:renamed.txt"
eq "renamed file" "$(cat "$S/alice/renamed.txt" 2>&1)" world
mkdir -p "$S/alice/inbox"
check "upload into a subdirectory" scpo "$L/a.txt" "alice@$H:inbox"
check "… which holds it" test -f "$S/alice/inbox/a.txt"
check "upload to ~/x" scpo "$L/a.txt" "alice@$H:~/tilde.txt"
check "… lands in the home" test -f "$S/alice/tilde.txt"
check "upload to ~alice/x" scpo "$L/a.txt" "alice@$H:~alice/tilde2.txt"
check "… lands in the home" test -f "$S/alice/tilde2.txt"
printf 'longer content\n' >"$L/over"
printf 'short\n' >"$S/alice/over"
chmod 600 "$S/alice/over"
check "overwrite an existing file" scpo "$L/over" "alice@$H:over"
eq "… with the new content" "$(cat "$S/alice/over")" "longer content"
eq "… its mode kept (no -p)" "$(stat -c %a "$S/alice/over")" 600
eq "… no temporary file left" \
	"$(find "$S" -name '.coffer-scp.*' | wc -l)" 0
check_fail "-d with a file as target is refused" \
	scpo "$L/a.txt" "$L/b.txt" "alice@$H:a.txt"
eq "… and the file is untouched" "$(cat "$S/alice/a.txt")" hello

# -r: nested and empty directories
mkdir -p "$L/tree/sub/deeper" "$L/tree/empty" "$L/tree/sub/empty2"
echo 1 >"$L/tree/top"
echo 2 >"$L/tree/sub/mid"
echo 3 >"$L/tree/sub/deeper/leaf"
check "upload a tree with -r" scpo -r "$L/tree" "alice@$H:"
check "… same tree on disk (nested and empty dirs)" \
	diff -r "$L/tree" "$S/alice/tree"
check "upload a tree under a new name" scpo -r "$L/tree" "alice@$H:copy"
check "… same tree on disk" diff -r "$L/tree" "$S/alice/copy"
check_fail "a directory without -r is refused" scpo "$L/tree" "alice@$H:"

# -p: times and modes
echo p >"$L/pres"
chmod 640 "$L/pres"
touch -d '2001-02-03 04:05:06 UTC' "$L/pres"
mkdir -p "$L/pdir"
cp "$L/pres" "$L/pdir/inner"
touch -d '2001-02-03 04:05:06 UTC' "$L/pdir/inner"
chmod 750 "$L/pdir"
touch -d '2002-02-02 02:02:02 UTC' "$L/pdir"
check "upload with -p" scpo -p "$L/pres" "alice@$H:"
eq "-p: mtime on disk" "$(stat -c %Y "$S/alice/pres")" \
	"$(stat -c %Y "$L/pres")"
eq "-p: mode on disk" "$(stat -c %a "$S/alice/pres")" 640
check "upload a tree with -rp" scpo -rp "$L/pdir" "alice@$H:"
eq "-rp: directory mtime" "$(stat -c %Y "$S/alice/pdir")" \
	"$(stat -c %Y "$L/pdir")"
eq "-rp: directory mode" "$(stat -c %a "$S/alice/pdir")" 750
eq "-rp: file mtime" "$(stat -c %Y "$S/alice/pdir/inner")" \
	"$(stat -c %Y "$L/pdir/inner")"
echo q >"$L/nop"
chmod 600 "$L/nop"
check "upload without -p" scpo "$L/nop" "alice@$H:"
lacks "without -p the mtime is now, not the source's" \
	"$(stat -c %Y "$S/alice/nop")" "$(stat -c %Y "$L/pres")"
eq "without -p a new file still gets the mode sent" \
	"$(stat -c %a "$S/alice/nop")" 600

# names with spaces and quotes
q="it's a \"quoted\" name.txt"
echo quoted >"$L/$q"
echo spaced >"$L/with space.txt"
check "upload names with spaces and quotes" \
	scpo "$L/$q" "$L/with space.txt" "alice@$H:"
eq "quoted name on disk" "$(cat "$S/alice/$q" 2>&1)" quoted
eq "spaced name on disk" "$(cat "$S/alice/with space.txt" 2>&1)" spaced
mkdir -p "$S/alice/dir with space"
check "upload into a quoted directory name" \
	scpo "$L/a.txt" "alice@$H:'dir with space'"
check "… lands inside it" test -f "$S/alice/dir with space/a.txt"

# ---- downloads ----------------------------------------------------------

fresh_dl
check "download one file" scpo "alice@$H:a.txt" "$D/"
eq "same bytes" "$(cat "$D/a.txt" 2>&1)" hello
check "download several files" scpo "alice@$H:a.txt" "alice@$H:/b.txt" "$D/"
check "… both there" test -f "$D/b.txt"
check "download a tree with -r" scpo -r "alice@$H:tree" "$D/"
check "… same tree (nested and empty dirs)" diff -r "$L/tree" "$D/tree"
check "download with -p" scpo -p "alice@$H:pres" "$D/"
eq "-p: mtime kept" "$(stat -c %Y "$D/pres")" "$(stat -c %Y "$L/pres")"
eq "-p: mode kept" "$(stat -c %a "$D/pres")" 640
check "download a tree with -rp" scpo -rp "alice@$H:pdir" "$D/"
eq "-rp: directory mtime kept" "$(stat -c %Y "$D/pdir")" \
	"$(stat -c %Y "$L/pdir")"
check "download a spaced name (backslash)" \
	scpo "alice@$H:with\\ space.txt" "$D/"
eq "… content" "$(cat "$D/with space.txt" 2>&1)" spaced
# Quoted remote names need -T: the client can't match a quoted request
# against the name that comes back (as with any scp -O server).
check "download a quoted name (quotes, -T)" \
	scp -O -q -T -P "$PORT" $(ssh_opts) "alice@$H:\"$(echo "$q" |
	sed 's/"/\\"/g')\"" "$D/"
eq "… content" "$(cat "$D/$q" 2>&1)" quoted
check "download ~/x" scpo "alice@$H:~/tilde.txt" "$D/t1"
eq "… content" "$(cat "$D/t1" 2>&1)" hello
check "download the home with -r (named after the account)" \
	scpo -r "alice@$H:" "$D/home"
check "… holds the tree" diff -r "$L/tree" "$D/home/tree"

# globs
fresh_dl
check "download a glob" scpo "alice@$H:*.txt" "$D/"
eq "only the .txt files of the home" "$(cd "$D" && ls | tr '\n' ' ')" \
	"a.txt b.txt it's a \"quoted\" name.txt renamed.txt tilde.txt tilde2.txt with space.txt "
fresh_dl
check "a glob in a subdirectory" scpo "alice@$H:tree/sub/m*" "$D/"
eq "… only its files" "$(cd "$D" && ls)" mid
fresh_dl
check "a glob over directories with -r" scpo -r "alice@$H:tree/*/" "$D/"
eq "… the directories" "$(cd "$D" && ls | tr '\n' ' ')" "empty sub "
fresh_dl
check "?, [..] patterns" scpo "alice@$H:[ab].tx?" "$D/"
eq "… a.txt and b.txt" "$(cd "$D" && ls | tr '\n' ' ')" "a.txt b.txt "
check_fail "a glob matching nothing" scpo "alice@$H:*.none" "$D/"
contains "… says so" "$(cat "$T/.last")" "No such file or directory"

# 256 MiB, both ways
head -c 268435456 /dev/urandom >"$L/big"
check "upload 256 MiB" scpo "$L/big" "alice@$H:"
eq "sha256 on disk" "$(sha "$S/alice/big")" "$(sha "$L/big")"
check "download 256 MiB" scpo "alice@$H:big" "$D/big"
eq "sha256 downloaded" "$(sha "$D/big")" "$(sha "$L/big")"
rm -f "$L/big" "$D/big" "$S/alice/big"

# ---- refusals -----------------------------------------------------------

fresh_dl
check_fail "no such file" scpo "alice@$H:nope" "$D/"
contains "… says so" "$(cat "$T/.last")" "nope: No such file or directory"
check_fail "no such file, then one that exists (-r)" \
	scpo -r "alice@$H:nope a.txt" "$D/"
contains "… reports the missing one" "$(cat "$T/.last")" \
	"nope: No such file or directory"
check "… and still sends the next" test -f "$D/a.txt"
check_fail "a directory without -r" scpo "alice@$H:tree" "$D/"
contains "… is not a regular file" "$(cat "$T/.last")" \
	"tree: not a regular file"

# outside the root
fresh_dl
echo secret >"$S/bob/secret"
check_fail "../../etc/passwd" scpo "alice@$H:../../etc/passwd" "$D/"
check_fail "/../bob/secret (a sibling account)" \
	scpo "alice@$H:/../bob/secret" "$D/"
ln -s ../bob/secret "$S/alice/link"
ln -s /etc/passwd "$S/alice/abs"
check_fail "a planted symlink to a sibling" scpo "alice@$H:link" "$D/"
check_fail "a planted absolute symlink" scpo "alice@$H:abs" "$D/"
check_fail "a glob reaching out" scpo "alice@$H:../*/secret" "$D/"
eq "nothing came out" "$(ls -A "$D")" ""
rm -f "$S/alice/link" "$S/alice/abs"
snapshot "$S/bob" >"$T/bob.before"
check_fail "upload to ../bob" scpo "$L/a.txt" "alice@$H:../bob/x"
snapshot "$S/bob" >"$T/bob.after"
check "… bob's folder unchanged" cmp -s "$T/bob.before" "$T/bob.after"
check "… and nothing above the store" test ! -e "$T/bob/x" -a ! -e "$S/x"

# shell syntax is never run
check_fail "a ';' on the command line" \
	scpo "alice@$H:a.txt;touch $T/pwned" "$D/"
contains "… refused" "$(cat "$T/.last")" "shell operators are not supported"
check_fail "\$(...) on the command line" scpo "alice@$H:\$(touch $T/pwned)" "$D/"
contains "… refused" "$(cat "$T/.last")" "shell expansions are not supported"
check "… and nothing ran" test ! -e "$T/pwned"

# read-only account
echo ro >"$S/carol/ro.txt"
snapshot "$S/carol" >"$T/carol.before"
check_fail "read-only: upload refused" scpo "$L/a.txt" "carol@$H:"
contains "… says why, up front" "$(cat "$T/.last")" \
	"read-only account: uploads are refused"
check_fail "read-only: -r upload refused" scpo -r "$L/tree" "carol@$H:"
printf 'C0644 3 x\nabc\0' | raw carol scp -t / >"$T/raw" 2>&1
contains "read-only: raw sink refused" "$(tr -d '\000\001\002' <"$T/raw")" \
	"read-only account"
snapshot "$S/carol" >"$T/carol.after"
check "… carol's folder unchanged" cmp -s "$T/carol.before" "$T/carol.after"
fresh_dl
check "read-only: download works" scpo "carol@$H:ro.txt" "$D/"

# quota: 100 KiB for bob
rm -f "$S/bob/secret"
"$COFFER" rescan >/dev/null 2>&1
head -c 204800 /dev/urandom >"$L/200k"
head -c 61440 /dev/urandom >"$L/60k"
head -c 40960 /dev/urandom >"$L/40k"
snapshot "$S/bob" >"$T/bob.before"
check_fail "over quota: refused" scpo "$L/200k" "bob@$H:"
contains "… from the announced size" "$(cat "$T/.last")" \
	"200k: quota exceeded: 102400 bytes available"
snapshot "$S/bob" >"$T/bob.after"
check "… nothing on disk" cmp -s "$T/bob.before" "$T/bob.after"
eq "… nothing charged" "$(used bob)" 0
lacks "… not a byte was written first" "$(grep 200k "$T/cofferd.log")" \
	"removed partial"
check "under quota: accepted" scpo "$L/60k" "bob@$H:"
eq "… charged" "$(used bob)" 61440
check_fail "the next one would pass the limit: refused" \
	scpo "$L/60k" "bob@$H:second"
contains "… with the space left" "$(cat "$T/.last")" \
	"quota exceeded: 40960 bytes available"
check "… no partial file" test ! -e "$S/bob/second"
eq "… usage unchanged" "$(used bob)" 61440
h60=$(sha "$S/bob/60k")
check_fail "overwriting needs room for the new copy: refused" \
	scpo "$L/200k" "bob@$H:60k"
contains "… from the announced size" "$(cat "$T/.last")" \
	"60k: quota exceeded: 40960 bytes available"
eq "… the old file is intact" "$(sha "$S/bob/60k")" "$h60"
mkdir -p "$L/qtree"
cp "$L/40k" "$L/qtree/fits"
cp "$L/200k" "$L/qtree/toobig"
check_fail "-r with one file too big" scpo -r "$L/qtree" "bob@$H:"
check "… the one that fits landed" cmp -s "$L/40k" "$S/bob/qtree/fits"
check "… the other did not" test ! -e "$S/bob/qtree/toobig"
eq "… usage is what is on disk" "$(used bob)" $((61440 + 40960))
rm -rf "$S/bob/qtree" "$S/bob/60k"
"$COFFER" rescan >/dev/null 2>&1

# Quota passed by the bytes actually written: a second session takes
# the space while the first is mid-file.  The first is refused after its
# data, its partial file removed.
rm -f "$T/go"
(
	printf 'C0644 81920 race\n'
	head -c 1000 /dev/zero
	i=0
	while [ ! -f "$T/go" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	head -c 80920 /dev/zero
	printf '\0'
) | raw bob scp -t / >"$T/race" 2>&1 &
race=$!
i=0
while [ "$(stat -c %s "$S/bob/race" 2>/dev/null)" != 1000 ] && [ $i -lt 100 ]
do sleep 0.1; i=$((i + 1)); done
eq "mid-file: the first upload is under way" \
	"$(stat -c %s "$S/bob/race" 2>/dev/null)" 1000
check "mid-file: a second session takes the space" \
	scpo "$L/40k" "bob@$H:other"
touch "$T/go"
wait $race
contains "mid-file: the first is refused" "$(tr -d '\000\001\002' <"$T/race")" \
	"race: quota exceeded"
check "… its partial file is removed" test ! -e "$S/bob/race"
eq "… only the other file is left" "$(ls "$S/bob")" other
eq "… usage matches the disk" "$(used bob)" 40960

# ---- overwriting: the old file is kept until the new one has landed ----

temps() { find "$S" -name '.coffer-scp.*' | wc -l; }
# temp_size USER — the size of USER's one temporary file ("" if none).
temp_size() {
	find "$S/$1" -maxdepth 1 -name '.coffer-scp.*' -printf '%s\n' |
		head -n 1
}
# held USER NAME — a hand-driven sink in the background ($race) sends a
# 50 KiB NAME: 1000 bytes, then the rest once $T/go exists; its answers
# go to $T/race.  Returns once the first 1000 bytes are on disk.
held() {
	rm -f "$T/go"
	(
		printf 'C0644 51200 %s\n' "$2"
		head -c 1000 /dev/zero
		wait_until 20 test -f "$T/go"
		head -c 50200 /dev/zero
		printf '\0'
	) | raw "$1" scp -t / >"$T/race" 2>&1 &
	race=$!
	wait_until 10 temp_is "$1" 1000
}
temp_is() { [ "$(temp_size "$1")" = "$2" ]; }
no_temps() { [ "$(temps)" = 0 ]; }
temp_grown() { _s=$(temp_size "$1"); [ "${_s:-0}" -gt 0 ]; }
said_race() { tr -d '\000\001\002' <"$T/race"; }
rm -f "$S/bob/other"
"$COFFER" rescan >/dev/null 2>&1
cp "$L/40k" "$L/keep"
check "overwrite: a 40 KiB file to keep" scpo "$L/keep" "bob@$H:keep"
keep=$(sha "$S/bob/keep")

# Refused mid-file: the announced size fits (50 KiB, with 60 KiB free),
# then a second session takes the space.
held bob keep
eq "overwrite mid-file: written beside the old file" "$(temp_size bob)" 1000
eq "… the old file untouched meanwhile" "$(sha "$S/bob/keep")" "$keep"
check "… a second session takes the space" scpo "$L/40k" "bob@$H:other"
touch "$T/go"
wait $race
contains "… the overwrite is refused" "$(said_race)" "keep: quota exceeded"
eq "… the old file is intact (sha256)" "$(sha "$S/bob/keep")" "$keep"
eq "… no temporary file left" "$(temps)" 0
eq "… usage is what is on disk" "$(used bob)" "$(dsum "$S/bob")"
check_log "… logged: old file kept" 'scp: "/keep" kept as it was'

# Until the new copy replaces the old one both are on disk and both
# count: replacing a file needs room for the whole new copy.
rm -f "$S/bob/other"
"$COFFER" rescan >/dev/null 2>&1
head -c 61440 /dev/urandom >"$L/keep"
check "overwrite with a copy exactly the size of the space left" \
	scpo "$L/keep" "bob@$H:keep"
eq "… the new content" "$(sha "$S/bob/keep")" "$(sha "$L/keep")"
eq "… usage is the new copy's" "$(used bob)" 61440
eq "… no temporary file left" "$(temps)" 0
keep=$(sha "$S/bob/keep")
head -c 61440 /dev/urandom >"$L/keep1"
check_fail "a same-size overwrite without room for the copy: refused" \
	scpo "$L/keep1" "bob@$H:keep"
contains "… from the announced size" "$(cat "$T/.last")" \
	"keep: quota exceeded: 40960 bytes available"
eq "… the old file is intact" "$(sha "$S/bob/keep")" "$keep"
eq "… usage unchanged" "$(used bob)" 61440
check "a 40 KiB overwrite fits" scpo "$L/40k" "bob@$H:keep"
eq "… the new content" "$(sha "$S/bob/keep")" "$(sha "$L/40k")"
eq "… usage is the new copy's" "$(used bob)" 40960

# The old file removed by another session meanwhile, which then takes
# the space: the copy is refused mid-file and nothing takes the old name.
rm -f "$S/bob/other"
"$COFFER" rescan >/dev/null 2>&1
held bob keep
eq "old file removed meanwhile: the overwrite is under way" \
	"$(temp_size bob)" 1000
printf 'rm keep\n' | sftp_b bob >/dev/null 2>&1
check "… another session removed the old file" test ! -e "$S/bob/keep"
check "… and took 60 KiB" scpo "$L/60k" "bob@$H:other"
touch "$T/go"
wait $race
contains "… the overwrite is refused" "$(said_race)" "keep: quota exceeded"
eq "… no temporary file left" "$(temps)" 0
eq "… usage is what is on disk, within the quota" "$(used bob)" 61440
eq "… nothing took the old name" "$(ls "$S/bob")" other
rm -f "$S/bob/other"
"$COFFER" rescan >/dev/null 2>&1

# A client that disconnects mid-file over an existing file.
head -c 1048576 /dev/urandom >"$S/alice/victim"
chmod 600 "$S/alice/victim"
victim=$(sha "$S/alice/victim")
head -c 8388608 /dev/urandom >"$L/big8"
scpo -l 2000 "$L/big8" "alice@$H:victim" >/dev/null 2>&1 &
up=$!
wait_until 15 temp_grown alice
check "killed client: its upload was under way" temp_grown alice
for p in $(ps -o pid= --ppid "$up"); do kill -9 "$p" 2>/dev/null; done
kill -9 "$up" 2>/dev/null
wait "$up" 2>/dev/null
wait_until 10 no_temps
eq "… no temporary file left" "$(temps)" 0
eq "… the old file is intact (sha256)" "$(sha "$S/alice/victim")" \
	"$victim"
eq "… and keeps its mode" "$(stat -c %a "$S/alice/victim")" 600
check_log "… logged: old file kept" 'scp: "/?victim" kept as it was'

# The session's process stopped (SIGTERM, as a shutdown sends) mid-file:
# it ends at its next tick and drops the copy.
held alice victim
eq "SIGTERM mid-file: the overwrite is under way" "$(temp_size alice)" 1000
for p in $(pgrep -P "$_gw_pid"); do kill -TERM "$p"; done
wait_until 10 no_temps
touch "$T/go"
wait $race
eq "… no temporary file left" "$(temps)" 0
eq "… the old file is intact (sha256)" "$(sha "$S/alice/victim")" \
	"$victim"
check_log "… logged" 'stopping on SIGTERM: ending the session'

# The account made read-only mid-file: the new copy is removed all the
# same (removing it restores what was there).
held alice victim
eq "read-only mid-file: the overwrite is under way" \
	"$(temp_size alice)" 1000
"$COFFER" set alice --read-only >/dev/null
log_wait 10 'user=alice .*account is now read-only'
touch "$T/go"
wait $race
contains "… refused" "$(said_race)" "victim: read-only account"
eq "… no temporary file left" "$(temps)" 0
eq "… the old file is intact (sha256)" "$(sha "$S/alice/victim")" \
	"$victim"
"$COFFER" set alice --read-write >/dev/null
rm -f "$L/big8" "$S/alice/victim"

# a hostile client: names that are not one plain component
snapshot "$S" >"$T/store.before"
for rec in 'C0644 3 ../x\nabc\0' 'C0644 3 a/b\nabc\0' \
    'C0644 3 .\nabc\0' 'C0644 3 ..\nabc\0' 'C0644 3 \nabc\0' \
    'D0755 0 ..\nC0644 3 x\nabc\0E\n' 'C0644 3 /etc/x\nabc\0'; do
	# shellcheck disable=SC2059
	printf "$rec" | raw alice scp -r -t / >"$T/raw" 2>&1
	contains "hostile name [${rec%%\\*}] refused" \
		"$(tr -d '\000\001\002' <"$T/raw")" "unexpected filename"
done
snapshot "$S" >"$T/store.after"
check "hostile names: nothing changed anywhere in the store" \
	cmp -s "$T/store.before" "$T/store.after"
printf 'C0644 3 x\nabc\0' | raw alice scp -t /../.. >"$T/raw" 2>&1
check "a target of /../.. is the account's own root" \
	test -f "$S/alice/x"
check "… nothing above it" test ! -e "$S/x" -a ! -e "$T/x"

check_log_clean
done_testing
