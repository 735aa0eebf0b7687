#!/bin/sh
# Confinement: nothing outside an account's folder can be read or written
# through "..", absolute paths, symlinks made through sftp or planted on
# disk, renames or hard links; one account can't reach another's folder.
# The host side: a canary folder next to the store, another account's
# folder and /etc/passwd, each compared before and after.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 1G
add_user alice
add_user bob
add_user carol --folder /alice/inner
make_canary
A="$T/store/alice"
B="$T/store/bob"
L="$T/local"
D="$T/dl"
mkdir -p "$L" "$D" "$A/inner"
echo "CANARY-bob $CANARY" >"$B/bobsecret"
echo "evil $$" >"$L/evil"
echo "alice's own" >"$A/x"
echo "alice's y" >"$A/y"
echo "alice's own, for carol to miss" >"$A/alice-only"
ln -s "$T/canary/secret" "$A/planted_abs"
ln -s ../../canary/secret "$A/planted_rel"
ln -s "$T/canary" "$A/planted_dir"
ln -s ../bob/bobsecret "$A/planted_bob"
ln -s "$T/store/bob" "$A/planted_bobdir"
ln -s /etc/passwd "$A/planted_passwd"
ln -s /proc/self/root/etc/passwd "$A/planted_proc"
ln -s /proc/self/cwd "$A/planted_cwd"
snapshot "$B" >"$T/bob.before"
ls -A "$T/store" | sort >"$T/store.before"
start_gateway

# -- "..", absolute paths ---------------------------------------------------
out=$(sftp_b alice 2>&1 <<EOF
cd ..
pwd
cd ../../..
pwd
cd /..
pwd
ls -1 ..
ls -1 /../../..
EOF
)
eq "cd .. from / stays at /" \
	"$(echo "$out" | grep -c '^Remote working directory: /$')" 3
contains "ls .. lists the account's own folder" "$out" "planted_abs"
eq "ls .. does not list the store" "$(echo "$out" | grep -c '/bob$')" 0
lacks "ls /../../.. does not list the host" "$out" "canary"

sftp_b alice >/dev/null 2>&1 <<EOF
-get /etc/passwd $D/g1
-get ../../../etc/passwd $D/g2
-get ../../../../../../../etc/passwd $D/g3
-get ../../canary/secret $D/g4
-get /../../canary/secret $D/g5
-get ../bob/bobsecret $D/g6
-get /../bob/bobsecret $D/g7
-get $T/canary/secret $D/g8
-get $B/bobsecret $D/g9
EOF
n=$(ls "$D" | wc -l)
eq "no get through .. or an absolute host path made a file" "$n" 0
no_leak "nothing of the host in downloads" "$D"/*
sftp_fails "ls ../bob fails" alice "not found|No such" <<EOF
ls ../bob
EOF
sftp_fails "ls /../../canary fails" alice "not found|No such" <<EOF
ls /../../canary
EOF

# -- symlinks made through sftp ----------------------------------------------
check "symlinks pointing outside can be made (they resolve inside)" \
	sftp_b alice <<EOF
ln -s /etc/passwd l1
ln -s ../../../../etc/passwd l2
ln -s ../../canary/secret l3
ln -s $T/canary/secret l4
ln -s ../bob/bobsecret l5
ln -s /proc/self/root/etc/passwd l6
ln -s $T/canary ldir
EOF
sftp_b alice >/dev/null 2>&1 <<EOF
-get l1 $D/l1
-get l2 $D/l2
-get l3 $D/l3
-get l4 $D/l4
-get l5 $D/l5
-get l6 $D/l6
-get ldir/secret $D/l7
-get ldir/sub/file $D/l8
EOF
eq "get through client-made symlinks read nothing" "$(ls "$D" | wc -l)" 0
no_leak "no host bytes through client-made symlinks" "$D"/*

# -- symlinks planted on disk ------------------------------------------------
sftp_b alice >/dev/null 2>&1 <<EOF
-get planted_abs $D/p1
-get planted_rel $D/p2
-get planted_dir/secret $D/p3
-get planted_dir/sub/file $D/p4
-get planted_bob $D/p5
-get planted_bobdir/bobsecret $D/p6
-get planted_passwd $D/p7
-get planted_proc $D/p8
-get planted_cwd/canary/secret $D/p9
EOF
eq "get through planted symlinks read nothing" "$(ls "$D" | wc -l)" 0
no_leak "no host bytes through planted symlinks" "$D"/*
out=$(sftp_b alice 2>&1 <<EOF
-ls -l planted_dir/
-ls -l planted_bobdir/
-ls -l ldir/
EOF
)
lacks "ls through a planted folder link shows nothing outside" "$out" \
	"secret"

# -- writes, renames, links out ---------------------------------------------------
sftp_b alice >/dev/null 2>&1 <<EOF
-put $L/evil planted_abs
-put $L/evil planted_rel
-put $L/evil planted_dir/new
-put $L/evil planted_dir/secret
-put $L/evil planted_bobdir/new
-put $L/evil l3
-put $L/evil ldir/new
-put $L/evil ../../canary/new
-put $L/evil /../../canary/secret
-put $L/evil ../bob/evil
-put $L/evil $T/canary/new2
-mkdir planted_dir/newdir
-mkdir ../../canary/newdir
-mkdir ../bob/newdir
-chmod 777 planted_abs
-chmod 777 planted_dir
-chmod 777 planted_dir/secret
-chmod 777 ../../canary/secret
-rm planted_dir/secret
-rm ../../canary/secret
-rm ../bob/bobsecret
-rmdir planted_dir/sub
-rmdir ../../canary/sub
-rename planted_dir/secret stolen1
-rename ../../canary/secret stolen2
-rename ../bob/bobsecret stolen3
-rename x ../../canary/x
-rename x ../../x
-rename y /../../outside-renamed
-ln x /../../outside-linked
-ln x ../../canary/hl
-ln ../../canary/secret stolen4
-ln planted_dir/secret stolen5
-ln ../bob/bobsecret stolen6
-symlink x ../../canary/sl
-symlink x planted_dir/sl
EOF
check_canary "the canary folder was neither read nor written"
snapshot "$B" >"$T/bob.after"
check "bob's folder is unchanged" cmp "$T/bob.before" "$T/bob.after"
bad=""
for n in x evil new new2 outside-renamed outside-linked hl sl newdir; do
	for d in "$T" "$T/store"; do
		[ -e "$d/$n" ] && bad="$bad $d/$n"
	done
done
for n in outside-renamed outside-linked; do
	[ -e "$T/../$n" ] && bad="$bad $T/../$n"
done
eq "nothing new next to the store or above it" "$bad" ""
ls -A "$T/store" | sort >"$T/store.after"
check "nothing new at the store's top" cmp "$T/store.before" \
	"$T/store.after"
for n in stolen1 stolen2 stolen3 stolen4 stolen5 stolen6; do
	check_fail "no $n in alice's folder" test -e "$A/$n"
done
eq "rename x ../../x kept x inside" "$(cat "$A/x" 2>&1)" "alice's own"
eq "rename y /../../outside-renamed landed inside" \
	"$(cat "$A/outside-renamed" 2>&1)" "alice's y"
eq "ln x /../../outside-linked landed inside" \
	"$(stat -c %i "$A/outside-linked" 2>&1)" "$(stat -c %i "$A/x")"
eq "the planted links are still links to where they were" \
	"$(readlink "$A/planted_abs")" "$T/canary/secret"

# -- absolute targets resolve against the account's folder --------------------
mkdir -p "$A/etc" "$A/canary"
echo "INSIDE passwd" >"$A/etc/passwd"
echo "INSIDE canary" >"$A/canary/secret"
check "gets of host paths read the account's own files" sftp_b alice <<EOF
get /etc/passwd $D/i1
get ../../../etc/passwd $D/i2
get l1 $D/i3
get l2 $D/i4
get planted_passwd $D/i5
get l3 $D/i6
get planted_rel $D/i7
EOF
for i in 1 2 3 4 5; do
	eq "read $i: the in-folder /etc/passwd" "$(cat "$D/i$i" 2>&1)" \
		"INSIDE passwd"
done
eq "../../canary/secret link: the in-folder /canary/secret" \
	"$(cat "$D/i6" 2>&1)" "INSIDE canary"
eq "planted ../../canary/secret: the in-folder /canary/secret" \
	"$(cat "$D/i7" 2>&1)" "INSIDE canary"
no_leak "still no host bytes" "$D"/*

# -- one account reaching another's ----------------------------------------
sftp_b bob >/dev/null 2>&1 <<EOF
-get ../alice/alice-only $D/b1
-get /../alice/alice-only $D/b2
-get ../alice/inner/../alice-only $D/b3
-get $A/alice-only $D/b4
-put $L/evil $A/evil
-put $L/evil ../alice/evil
-rm ../alice/alice-only
-rename ../alice/alice-only mine
-ln ../alice/alice-only mine2
EOF
check_fail "bob could not read alice's file" test -e "$D/b1"
check_fail "bob could not read alice's file by /.." test -e "$D/b2"
check_fail "bob could not read alice's file by a longer path" test -e "$D/b3"
check_fail "bob could not read alice's file by its host path" test -e "$D/b4"
check_fail "bob could not write into alice's folder" test -e "$A/evil"
check "bob could not remove alice's file" test -f "$A/alice-only"
check_fail "bob could not rename alice's file into his" test -e "$B/mine"
check_fail "bob could not hard-link alice's file into his" \
	test -e "$B/mine2"
out=$(echo 'ls -1 /..' | sftp_b carol 2>&1)
lacks "carol (folder inside alice's) can't list alice's folder" "$out" \
	"alice-only"
sftp_b carol >/dev/null 2>&1 <<EOF
-get ../alice-only $D/c1
-get /../../alice/alice-only $D/c2
EOF
check_fail "carol can't read above her folder" test -e "$D/c1"
check_fail "carol can't read above her folder by /../.." test -e "$D/c2"

# -- raw SFTP: relative and dotted forms the sftp client never sends ---------
run_py escape_raw "$PORT" alice "$T/id_ed25519" "$A" "$T/canary/secret" \
	"$T/canary/sub/file" "$B/bobsecret"
snapshot "$B" >"$T/bob.after2"
check "bob's folder is still unchanged" cmp "$T/bob.before" "$T/bob.after2"

# -- special files planted on disk: refused, never a hang -------------------
mkfifo "$A/fifo"
mknod "$A/zero" c 1 5 2>/dev/null
ln -s loop "$A/loop"
start=$(date +%s)
# shellcheck disable=SC2046
timeout 30 sftp -P "$PORT" $(ssh_opts) -b - alice@127.0.0.1 >"$T/out" 2>&1 <<EOF
-get fifo $D/s1
-get zero $D/s2
-get loop $D/s3
-put $L/evil fifo
-put $L/evil zero
pwd
EOF
rc=$?
took=$(($(date +%s) - start))
check "reads and writes of a FIFO, a device, a symlink loop don't hang" \
	test "$rc" = 0 -a "$took" -lt 20
eq "nothing was downloaded from them" "$(find "$D" -name 's*' | wc -l)" 0
check "the FIFO is still a FIFO" test -p "$A/fifo"
if [ -c "$A/zero" ]; then
	check "the device node is still one" test -c "$A/zero"
fi

check_canary "the canary folder is still unchanged"
check_log "an escape attempt with .. is logged as a refusal" \
	'refused outside root: ".*" climbs above the account.s folder'
check_log_clean
done_testing
