#!/bin/sh
# The legacy scp engine without a network: exec-engine runs scp_main on
# stdin/stdout rooted at a folder.  The command line (words, quotes, "~",
# globs, refusals), the source and sink state machines driven by hand
# with raw protocol bytes, and a round trip with the real `scp -O -S`.
. tests/lib/lib.sh
LC_ALL=C
export LC_ALL

E="$O/exec-engine"
R="$T/root"
mkdir -p "$R"

# sent CMD — the names a source sends (one per line) when the client
# answers 0 to everything.
sent() {
	head -c 200000 /dev/zero | "$E" ${RO:-} "$R" "$1" 2>/dev/null |
		tr '\000' '\n' | grep -a '^[CD][0-7]' | cut -d' ' -f3-
}
# said CMD [INPUT] — what the engine answered, control bytes removed;
# $RC its exit status.
said() {
	if [ $# -ge 2 ]; then
		# shellcheck disable=SC2059
		printf "$2"
	else
		head -c 4096 /dev/zero
	fi | "$E" ${RO:-} "$R" "$1" >"$T/out" 2>/dev/null
	RC=$?
	tr -d '\000\001\002' <"$T/out"
}
# sink RECORDS [CMD] — raw records (printf format) into a sink.
sink() {
	# shellcheck disable=SC2059
	printf "$1" | "$E" ${RO:-} "$R" "${2:-scp -r -t /}" >"$T/out" \
		2>/dev/null
	RC=$?
	OUT=$(od -An -c "$T/out" | tr -s ' \n' ' ')
}
lines() { tr '\n' '|'; }

for f in a.txt b.txt c.dat .hidden.txt "sp ace.txt" "it's.txt" \
    'q"uote.txt' '*.txt' -dash; do
	printf x >"$R/$f"
done
mkdir -p "$R/sub/deep" "$R/d1" "$R/d2"
printf x >"$R/sub/one.txt"
printf x >"$R/sub/two.dat"
printf x >"$R/sub/deep/three.txt"

# ---- words and quotes ---------------------------------------------------

eq "plain word" "$(sent 'scp -f a.txt' | lines)" "a.txt|"
eq "two words" "$(sent 'scp -f a.txt b.txt' | lines)" "a.txt|b.txt|"
eq "blanks and tabs" "$(sent "scp 	-f   a.txt	 b.txt " | lines)" \
	"a.txt|b.txt|"
eq "single quotes" "$(sent "scp -f 'sp ace.txt'" | lines)" "sp ace.txt|"
eq "double quotes" "$(sent 'scp -f "sp ace.txt"' | lines)" "sp ace.txt|"
eq "backslash" "$(sent 'scp -f sp\ ace.txt' | lines)" "sp ace.txt|"
eq "quotes inside a word" "$(sent "scp -f sp' 'ace.txt" | lines)" \
	"sp ace.txt|"
eq "quote in double quotes" "$(sent "scp -f \"it's.txt\"" | lines)" \
	"it's.txt|"
eq "escaped single quote" "$(sent "scp -f it\\'s.txt" | lines)" "it's.txt|"
eq "'\\'' idiom" "$(sent "scp -f 'it'\\''s.txt'" | lines)" "it's.txt|"
eq "double quote in single quotes" "$(sent "scp -f 'q\"uote.txt'" | lines)" \
	'q"uote.txt|'
eq "escaped double quote in double quotes" \
	"$(sent 'scp -f "q\"uote.txt"' | lines)" 'q"uote.txt|'
eq "a comment" "$(sent 'scp -f a.txt # b.txt' | lines)" "a.txt|"
eq "-- ends the options" "$(sent 'scp -f -- -dash' | lines)" "-dash|"
eq "\$ not starting an expansion is literal" \
	"$(said 'scp -f a$')" "scp: a$: No such file or directory"
eq "'\$HOME' quoted is literal" "$(said "scp -f '\$HOME'")" \
	"scp: \$HOME: No such file or directory"

# ---- ~ ------------------------------------------------------------------

eq "~/x" "$(sent 'scp -f ~/a.txt' | lines)" "a.txt|"
eq "~/dir/x" "$(sent 'scp -f ~/sub/one.txt' | lines)" "one.txt|"
eq "~USER/x (the account's own)" "$(sent 'scp -f ~test/a.txt' | lines)" \
	"a.txt|"
eq "~ alone, -r: the root, named after the account" \
	"$(sent 'scp -r -f ~' | head -n 1)" "test"
eq "~other/x is not expanded" "$(said 'scp -f ~bob/a.txt')" \
	"scp: ~bob/a.txt: No such file or directory"
eq "a quoted ~ is not expanded" "$(said "scp -f '~'/a.txt")" \
	"scp: ~/a.txt: No such file or directory"

# ---- globs --------------------------------------------------------------

eq "*.txt: sorted, no dotfiles" "$(sent 'scp -f *.txt' | lines)" \
	"*.txt|a.txt|b.txt|it's.txt|q\"uote.txt|sp ace.txt|"
eq "'*.txt' quoted: literal" "$(sent "scp -f '*.txt'" | lines)" "*.txt|"
eq "\"*.txt\" quoted: literal" "$(sent 'scp -f "*.txt"' | lines)" "*.txt|"
eq "\\*.txt escaped: literal" "$(sent 'scp -f \*.txt' | lines)" "*.txt|"
eq ".* matches dotfiles" "$(sent 'scp -f .*.txt' | lines)" ".hidden.txt|"
eq "?" "$(sent 'scp -f ?.txt' | lines)" "*.txt|a.txt|b.txt|"
eq "[ab]" "$(sent 'scp -f [ab].txt' | lines)" "a.txt|b.txt|"
eq "[!a]" "$(sent 'scp -f [!a].txt' | lines)" "*.txt|b.txt|"
eq "[a-b]" "$(sent 'scp -f [a-b].*' | lines)" "a.txt|b.txt|"
eq "[[:alpha:]]" "$(sent 'scp -f [[:alpha:]].dat' | lines)" "c.dat|"
eq "in a subdirectory" "$(sent 'scp -f sub/*.txt' | lines)" "one.txt|"
eq "over directories" "$(sent 'scp -f */*.dat' | lines)" "two.dat|"
eq "absolute" "$(sent 'scp -f /sub/t*' | lines)" "two.dat|"
eq "\"dir/\" only directories" "$(sent 'scp -r -f s*/' | head -n 1)" sub
eq "nothing matched: the word as it is" "$(said 'scp -f *.none')" \
	"scp: *.none: No such file or directory"
eq "a glob never leaves the root" "$(said 'scp -f ../../*/passwd')" \
	"scp: ../../*/passwd: No such file or directory"
mkdir -p "$R/many"
i=0
while [ $i -lt 1030 ]; do : >"$R/many/f$i"; i=$((i + 1)); done
eq "too many matches" "$(said 'scp -f many/*')" \
	"scp: many/*: pattern too costly (too many matches or entries)"
long=$(head -c 600 /dev/zero | tr '\000' '?')
eq "a pattern component too long" "$(said "scp -f $long")" \
	"scp: $long: pattern too costly (too many matches or entries)"
rm -rf "$R/many"

# ---- refused command lines ---------------------------------------------

for c in 'a.txt;ls' 'a.txt|ls' 'a.txt&' 'a.txt>x' 'a.txt<x' '(a.txt)'; do
	eq "operator: $c" "$(said "scp -f $c")" \
		"scp: command line: shell operators are not supported"
done
for c in '$(id)' '`id`' '$HOME' '"$HOME"' '${HOME}' '"`id`"'; do
	eq "expansion: $c" "$(said "scp -f $c")" \
		"scp: command line: shell expansions are not supported"
done
eq "unterminated '" "$(said "scp -f 'a.txt")" \
	"scp: command line: unterminated single quote"
eq "unterminated \"" "$(said 'scp -f "a.txt')" \
	"scp: command line: unterminated double quote"
said 'scp -f "a.txt' >/dev/null
eq "… exit status" "$RC" 1
long=$(head -c 17000 /dev/zero | tr '\000' a)
eq "command line too long" "$(said "scp -f $long")" \
	"scp: command line: command line too long"
many=$(i=0; while [ $i -lt 1100 ]; do printf 'w '; i=$((i + 1)); done)
eq "too many words" "$(said "scp -f $many")" \
	"scp: command line: too many words"
eq "unknown option" "$(said 'scp -x -f a.txt')" \
	"scp: unknown option -x; usage: scp [-prdv] -t|-f [--] PATH..."
eq "neither -t nor -f" "$(said 'scp a.txt')" \
	"scp: usage: scp [-prdv] -t|-f [--] PATH..."
eq "-t and -f" "$(said 'scp -t -f a.txt')" \
	"scp: -t and -f exclude each other"
eq "two targets" "$(said 'scp -t d1 d2')" "scp: ambiguous target"
eq "a glob as target matching several" "$(said 'scp -t d*')" \
	"scp: ambiguous target"

# ---- source -------------------------------------------------------------

eq "-r sends the tree" "$(sent 'scp -r -f sub' | sort | lines)" \
	"deep|one.txt|sub|three.txt|two.dat|"
eq "a directory without -r" "$(said 'scp -f sub')" \
	"scp: sub: not a regular file"
said 'scp -f sub' >/dev/null
eq "… exit status" "$RC" 1
mkfifo "$R/fifo"
eq "a FIFO is not sent (and does not hang)" "$(said 'scp -f fifo')" \
	"scp: fifo: not a regular file"
rm -f "$R/fifo"
ln -s . "$R/sub/loop"
out=$(said 'scp -r -f sub')
contains "a symlink loop is cut" "$out" "scp: sub/loop: directory loop, skipped"
rm -f "$R/sub/loop"
mkdir -p "$R/deep/$(i=0; while [ $i -lt 70 ]; do printf n/; i=$((i + 1)); done)"
contains "nesting is bounded" "$(said 'scp -r -f deep')" \
	"directories nested too deeply"
rm -rf "$R/deep"
printf AAAA >"$R/a4"
printf BBBB >"$R/b4"
out=$(said 'scp -f a4 b4' '\000\001no thanks\n\000\000\000\000')
lacks "the client refuses a file: its data is not sent" "$out" AAAA
contains "… the next one is" "$out" BBBB
out=$(said 'scp -f a4 b4' '\000\002stop\n\000\000\000')
lacks "the client's fatal error ends it" "$out" b4
said 'scp -f a4 b4' '\000\002stop\n\000\000\000' >/dev/null
eq "… exit status" "$RC" 1
out=$(said 'scp -p -f a4')
contains "-p sends a T record" "$out" "T$(stat -c %Y "$R/a4") 0 "

# ---- sink ---------------------------------------------------------------

sink 'C0644 3 up\nabc\000'
eq "a file" "$(cat "$R/up" 2>&1)" abc
eq "… acks: start, C, data" "$OUT" " \\0 \\0 \\0 "
eq "… exit status" "$RC" 0
sink 'C0644 3 whatever\nxyz\000' 'scp -t named'
eq "a file target takes the data" "$(cat "$R/named" 2>&1)" xyz
sink 'C0600 0 empty\n\000'
check "an empty file" test -f "$R/empty" -a ! -s "$R/empty"
sink 'T1000000000 0 1000000000 0\nC0640 2 pt\nhi\000' 'scp -p -t /'
eq "-p: mtime" "$(stat -c %Y "$R/pt")" 1000000000
eq "-p: mode" "$(stat -c %a "$R/pt")" 640
sink 'T1000000000 0 1000000000 0\nD0750 0 pd\nC0644 1 f\nx\000E\n' \
	'scp -r -p -t /'
eq "-rp: directory mtime set when it is left" "$(stat -c %Y "$R/pd")" \
	1000000000
eq "-rp: directory mode" "$(stat -c %a "$R/pd")" 750
sink 'D0555 0 ro\nC0644 1 f\nx\000E\n'
check "a directory without owner write is filled, then set" \
	test -f "$R/ro/f"
eq "… to its mode (minus umask)" "$(stat -c %a "$R/ro")" 555
sink 'D0755 0 nest\nD0755 0 in\nD0755 0 empty\nE\nC0644 1 f\nx\000E\nE\n'
check "nested and empty directories" test -d "$R/nest/in/empty" \
	-a -f "$R/nest/in/f"
sink 'D0755 0 nod\nE\n' 'scp -t /'
contains "a directory without -r" "$OUT" "w i t h o u t - r"
check "… is not made" test ! -e "$R/nod"
sink 'C0644 3 sub\nabc\000'
contains "a file onto a directory" "$OUT" "I s a d i r e c t o r y"
eq "… exit status" "$RC" 1
sink '\001scp: local: oops\nC0644 1 after\nx\000'
eq "the client's error record is counted" "$RC" 1
check "… and the next file still lands" test -f "$R/after"
sink 'C0644 3 partial\nab'
check "input ends inside a file: no partial file" test ! -e "$R/partial"
ln -s newtarget "$R/dangling"
sink 'C0644 3 dangling\nab'
check "… written through a dangling symlink: the link stays" \
	test -L "$R/dangling"
eq "… the file it made emptied" "$(stat -c %s "$R/newtarget")" 0
rm -f "$R/dangling" "$R/newtarget"

# Overwriting: the data goes to a hidden file beside the old one, renamed
# over it once all landed; any failure leaves the old file as it was.
temps() { find "$R" -name '.coffer-scp.*' | wc -l; }
head -c 100000 /dev/urandom >"$R/old"
chmod 600 "$R/old"
old=$(sha "$R/old")
sink 'C0644 5 old\nab'
eq "overwrite, input ends inside it: the old file is kept" \
	"$(sha "$R/old")" "$old"
eq "… no temporary file left" "$(temps)" 0
sink 'C0644 3 old\nabc\001scp: read error\n'
eq "overwrite, the client fails reading: the old file is kept" \
	"$(sha "$R/old")" "$old"
eq "… no temporary file left" "$(temps)" 0
eq "… acked" "$OUT" " \\0 \\0 \\0 "
head -c 70000 /dev/zero | { printf 'C0644 100000 old\n'; cat; } |
	"$E" "$R" "scp -t /" >/dev/null 2>&1
eq "overwrite, 70000 of 100000 bytes then EOF: the old file is kept" \
	"$(sha "$R/old")" "$old"
eq "… no temporary file left" "$(temps)" 0
sink 'C0644 3 old\nnew\000'
eq "overwrite: the new content" "$(cat "$R/old")" new
eq "… the old file's mode kept (as scp does without -p)" \
	"$(stat -c %a "$R/old")" 600
eq "… no temporary file left" "$(temps)" 0
sink 'T1000000000 0 1000000000 0\nC0640 3 old\np-p\000' 'scp -p -t /'
eq "overwrite with -p: the new content" "$(cat "$R/old")" p-p
eq "… the mode sent" "$(stat -c %a "$R/old")" 640
eq "… the times sent" "$(stat -c %Y "$R/old")" 1000000000
printf old >"$R/target"
ln -s target "$R/lnk"
sink 'C0644 3 lnk\nab'
check "overwrite through a symlink, input ends: the link stays" \
	test -L "$R/lnk"
eq "… its target kept" "$(cat "$R/target")" old
eq "… no temporary file left" "$(temps)" 0
sink 'C0644 3 lnk\nnew\000'
check "overwrite through a symlink: the link stays" test -L "$R/lnk"
eq "… its target replaced" "$(cat "$R/target")" new
eq "… no temporary file left" "$(temps)" 0
rm -f "$R/old" "$R/lnk" "$R/target"
sink 'C0644 3 srcerr\nabc\001scp: read error\n'
check "the client fails reading: no partial file" test ! -e "$R/srcerr"
eq "… acked" "$OUT" " \\0 \\0 \\0 "
sink 'E\nC0644 1 late\nx\000'
check "E at the top ends the transfer" test ! -e "$R/late"
for rec in 'T1 0 1\n' 'C06440 1 x\nx\000' 'C0944 1 x\nx\000' \
    'C0644 99999999999999999999 x\n' 'C0644 1x x\n' 'Q\n' '\n'; do
	sink "$rec"
	contains "protocol error: [${rec%%\\*}]" "$OUT" \
		"p r o t o c o l e r r o r"
done
d=$(i=0; while [ $i -lt 70 ]; do printf 'D0755 0 n\\n'; i=$((i + 1)); done)
sink "$d"
contains "sink nesting is bounded" "$OUT" "n e s t e d"
rm -rf "$R/n"
sink 'C0644 1 x\nx\000' 'scp -d -t a.txt'
contains "-d: target must be a directory" "$OUT" "N o t a d i r"
check "… nothing written" test ! -e "$R/x"
before=$(snapshot "$R")
RO=-r
sink 'C0644 1 x\nx\000'
contains "read-only: refused" "$OUT" "r e a d - o n l y"
eq "… exit status" "$RC" 1
eq "… nothing changed" "$(snapshot "$R")" "$before"
eq "read-only: download works" "$(sent 'scp -f a.txt')" a.txt
RO=

# ---- the real client ----------------------------------------------------

cat >"$T/wrap" <<EOF
#!/bin/sh
for a; do cmd=\$a; done
exec "$E" "$R" "\$cmd"
EOF
chmod +x "$T/wrap"
L="$T/local"
mkdir -p "$L/t/x/y" "$L/t/e"
echo 1 >"$L/t/x/y/f"
chmod 700 "$L/t/x"
touch -d '2003-03-03 UTC' "$L/t/x/y/f"
check "scp -O -rp up" scp -O -q -rp -S "$T/wrap" "$L/t" h:/rt
check "… same tree" diff -r "$L/t" "$R/rt"
eq "… mode kept" "$(stat -c %a "$R/rt/x")" 700
eq "… mtime kept" "$(stat -c %Y "$R/rt/x/y/f")" "$(stat -c %Y "$L/t/x/y/f")"
check "scp -O -rp down" scp -O -q -rp -S "$T/wrap" h:rt "$T/back"
check "… same tree" diff -r "$L/t" "$T/back"
eq "… mtime kept" "$(stat -c %Y "$T/back/x/y/f")" \
	"$(stat -c %Y "$L/t/x/y/f")"

# A glob whose expansion fills the path buffer exactly (16 names of 250
# bytes, their 15 slashes, "/" and 80 more: 4096) before one more name is
# appended: refused, no overflow (without the bound on the separator the
# sanitizer build reports a heap overflow here).
G="$T/globroot"
d="$G"
pat=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
	d="$d/$(printf "%0250d" "$i")"
	pat="$pat*/"
done
x80=$(printf 'x%.0s' $(seq 1 80))
mkdir -p "$d/$x80"
long=$(printf 'Y%.0s' $(seq 1 3000))
head -c 4096 /dev/zero | "$E" "$G" "scp -f $pat$x80/$long" \
	>"$T/out" 2>"$T/err"
RC=$?
check "a glob longer than a path is refused, the engine lives" \
	test "$RC" -le 1
lacks "no sanitizer report" "$(cat "$T/err")" "Sanitizer"

done_testing
