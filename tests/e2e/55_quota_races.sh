#!/bin/sh
# Quota where the figures could drift from the disk: a file renamed under
# other limits while open (its next writes are charged where it is now), a
# file removed while open (its growth comes back when it is closed), two
# sessions changing the size of one file at once, `coffer rescan` while
# sessions write, a tree deeper than any fd limit (counted, and moved
# whole between limits), and a sub-account bound to "/" with a quota
# (a limit on everything).  paramiko sessions, checked on disk.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc
. tests/e2e/quota_lib.inc

store_init 100M
add_user a --quota 100000
add_user b --quota 20M
add_user c --quota 20M
add_user d
add_user e --quota 100000
admin_key
start_gateway

# -- renamed while open ---------------------------------------------------------
# The main account opens a file in its own space, moves it into a's
# folder (100000 bytes), and writes on through the handle: a's limit
# holds.  Without the move being noticed, only "/" would be charged.
qs admin <<EOF
ok mkdir /x
ok hopen h /x/f
ok hwrite h 0 1000
ok prename /x/f /a/f
used a 1000
fail '^quota exceeded: ' hwrite h 1000 150000 32768
ok hclose h
pattern /a/f 0 1000
EOF
eq "a on disk within its quota after writes to a moved file" \
    "$([ "$(dsum "$T/store/a")" -le 100000 ] && echo yes)" yes
qpy disk-matches "after writing to a moved file"
qs admin <<EOF
ok hopen h /a/f
ok prename /a/f /x/f
ok hwrite h 0 200000
ok hclose h
used a 0
disk /x/f 200000
ok rm /x/f
EOF
qpy disk-matches "after moving it out again"

# -- removed while open ----------------------------------------------------------
qs a <<EOF
ok hopen h /g
ok hwrite h 0 50000
used a 50000
ok rm /g
used a 0
ok hwrite h 50000 30000
used a 30000
ok hclose h
used a 0
ok hopen h /g2
ok hwrite h 0 40000
ok rm /g2
ok hwrite h 40000 20000
used a 20000
ok htrunc h 50000
used a 10000
ok htrunc h 0
used a 0
ok hwrite h 0 5000
used a 5000
ok hclose h
used a 0
EOF
qpy disk-matches "after files removed while open"

# -- two sessions changing one file's size at once ------------------------------
# One grows the file from 0 and truncates it back, the other writes past
# 64 KiB and cuts it to 1000 bytes: charges from a stale size would drift.
i=0
: >"$T/r1.script"
: >"$T/r2.script"
echo "ok hopen h /race" >>"$T/r1.script"
echo "ok hopen h /race" >>"$T/r2.script"
while [ $i -lt 150 ]; do
	printf '%s\n' "ok hwrite h 0 65536 65536" "ok htrunc h 0" \
	    >>"$T/r1.script"
	printf '%s\n' "ok hwrite h 65536 65536 65536" "ok htrunc h 1000" \
	    "ok trunc /race 70000" >>"$T/r2.script"
	i=$((i + 1))
done
echo "ok hclose h" >>"$T/r1.script"
echo "ok hclose h" >>"$T/r2.script"
qs_bg "$T/r1" b "$T/r1.script"
p1=$!
qs_bg "$T/r2" b "$T/r2.script"
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
q_results "$T/r1" $r1 r1 >"$T/r1.res"
q_results "$T/r2" $r2 r2 >"$T/r2.res"
eq "the size changes of both sessions all went through" \
    "$(cat "$T/r1.res" "$T/r2.res" | grep -c '^ok ')" 754
cat "$T/r1.res" "$T/r2.res" | grep '^not ok' | head -n 3
qpy disk-matches "after two sessions raced on one file"

# -- coffer rescan while sessions write ----------------------------------------
# c holds 3000 small files (a rescan takes a moment); two sessions write
# and remove while rescans run: whatever the order, the figures are exact.
mkdir -p "$T/store/c/many"
/usr/bin/python3 - "$T/store/c/many" <<'PY'
import os, sys
for i in range(3000):
    d = os.path.join(sys.argv[1], "d%d" % (i % 30))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%d" % i), "wb") as f:
        f.write(b"x" * (i % 97))
PY
"$COFFER" rescan >/dev/null 2>&1 || notok "first rescan"
: >"$T/w1.script"
: >"$T/w2.script"
i=0
while [ $i -lt 60 ]; do
	printf '%s\n' "ok put /w1-$i 20000 4096" "ok rm /many/d1/f$((i * 30 + 1))" \
	    >>"$T/w1.script"
	printf '%s\n' "ok write /w2 $((i * 3000)) 3000 1000" \
	    "ok trunc /many/d2/f$((i * 30 + 2)) 5000" >>"$T/w2.script"
	i=$((i + 1))
done
qs_bg "$T/w1" c "$T/w1.script"
p1=$!
qs_bg "$T/w2" c "$T/w2.script"
p2=$!
n=0
while kill -0 $p1 2>/dev/null || kill -0 $p2 2>/dev/null; do
	"$COFFER" rescan >/dev/null 2>&1 || notok "rescan $n"
	"$COFFER" rescan c >/dev/null 2>&1 || notok "rescan c $n"
	n=$((n + 1))
done
wait $p1
r1=$?
wait $p2
r2=$?
q_results "$T/w1" $r1 w1
q_results "$T/w2" $r2 w2
echo "# $n rescan pairs ran beside the writers"
check "rescans ran beside the writers" [ "$n" -ge 2 ]
qpy disk-matches "after rescans beside writers"

# -- a tree deeper than any fd limit --------------------------------------------
# 1500 folders deep under d, 1000 bytes at each level and 60000 at the
# bottom: `coffer rescan` and the gateway's start count it all; moving it
# whole into e (100000 bytes) is refused, as its bytes don't fit.
/usr/bin/python3 - "$T/store/d" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.mkdir("deep", dir_fd=fd)
nfd = os.open("deep", os.O_RDONLY, dir_fd=fd)
os.close(fd)
fd = nfd
for i in range(1500):
    w = os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(w, b"y" * 1000)
    os.close(w)
    os.mkdir("s", dir_fd=fd)
    nfd = os.open("s", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
w = os.open("bottom", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(w, b"z" * 60000)
os.close(w)
PY
check "coffer rescan counts a tree 1500 folders deep" "$COFFER" rescan
qpy disk-matches "after the deep tree's rescan" over-ok
stop_gateway
check_log_clean
start_gateway
ok "cofferd starts over a tree 1500 folders deep"
qpy disk-matches "after the restart's rescan"
qs admin <<EOF
fail '^quota exceeded: 100000 bytes available$' prename /d/deep /e/deep
used e 0
used d 1560000
EOF
check "the deep tree stayed in d" test -f "$T/store/d/deep/f"

# -- a sub-account bound to "/" with a quota ------------------------------------
used=$(dsum "$T/store")
add_user rooted --folder / --quota $((used + 100000))
qs d <<EOF
fail '^quota exceeded: 100000 bytes available$' write /r 0 100001 200000
disk /r 0
ok write /r 0 100000
fail '^quota exceeded: 0 bytes available$' write /r2 0 1
EOF
qs admin <<EOF
fail '^quota exceeded: 0 bytes available$' write /top 0 1
EOF
eq "nothing passed rooted's quota" "$(dsum "$T/store")" $((used + 100000))
qpy disk-matches "under a quota on /"

check_log_clean
done_testing
