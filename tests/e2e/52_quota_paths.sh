#!/bin/sh
# Quota across paths: renames between folders under different limits
# (the destination decides, atomically; within the same limits always
# allowed; replacing a file counts only the net growth), directories moved
# whole, and hard links (a second link is counted in full where it
# appears, so it is no way around a limit).  paramiko, checked on disk.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc
. tests/e2e/quota_lib.inc

store_init 10M
add_user a --quota 100000
add_user b --quota 100000
add_user h --quota 100000
admin_key
start_gateway

# -- renames by the main account between /a and /b ------------------------
qs admin <<EOF
ok write /a/f 0 60000
ok write /b/g 0 80000
fail '^quota exceeded: 20000 bytes available$' prename /a/f /b/f
fail '^quota exceeded: 20000 bytes available$' rename /a/f /b/f
disk /a/f 60000
pattern /a/f 0 60000
gone /b/f
used a 60000
used b 80000
ok write /a/s 0 20000
ok rename /a/s /b/s
gone /a/s
disk /b/s 20000
used a 60000
used b 100000
# Within the same limits a move is always allowed, even when full.
ok mkdir /b/sub
ok rename /b/s /b/sub/s
disk /b/sub/s 20000
used b 100000
# Out of a full folder into the main account's own space.
ok rename /b/sub/s /s
used b 80000
# A directory moves with everything in it.
ok mkdir /a/dir
ok write /a/dir/x 0 15000
ok write /a/dir/y 0 10000
fail '^quota exceeded: 20000 bytes available$' rename /a/dir /b/dir
disk /a/dir/x 15000
disk /a/dir/y 10000
gone /b/dir
ok rm /a/dir/y
ok rename /a/dir /b/dir
disk /b/dir/x 15000
used a 60000
used b 95000
# Replacing a file: only the net growth counts (b has 5000 left; the
# 30000-byte file replaces 80000 bytes).
ok write /a/r 0 30000
ok prename /a/r /b/g
disk /b/g 30000
gone /a/r
used a 60000
used b 45000
# ... and a replacement that grows b past its limit is refused.
ok write /a/big 0 30000
ok write /b/t 0 1000
ok write /b/fill 0 50000
fail '^quota exceeded: 4000 bytes available$' prename /a/big /b/t
disk /b/t 1000
disk /a/big 30000
used b 96000
used a 90000
ok rm /a/big
ok rm /b/t
ok rm /b/fill
EOF
qpy disk-matches "after renames"

# A sub-account's own renames stay within its limits: never refused.
qs b <<EOF
ok write /fill 0 55000
used b 100000
ok mkdir /d
ok rename /fill /d/fill
ok prename /d/fill /fill2
disk /fill2 55000
used b 100000
EOF

# -- hard links ---------------------------------------------------------------
qs h <<EOF
ok write /f 0 40000
ok link /f /f2
disk /f2 40000
used h 80000
dusum 80000
fail '^quota exceeded: 20000 bytes available$' link /f /f3
gone /f3
used h 80000
ok rm /f2
used h 40000
disk /f 40000
EOF
# A file with several names grows by that much in each: four names of an
# empty file, then 20000 bytes written through one of them would be
# 80000 more bytes in the folder.
qs h <<EOF
ok write /e 0 0
ok link /e /e1
ok link /e /e2
ok link /e /e3
used h 40000
fail '^quota exceeded: 60000 bytes available$' write /e 0 20000
disk /e 0
ok write /e 0 15000
disk /e3 15000
dusum 100000
used h 100000
fail '^quota exceeded: 0 bytes available$' trunc /e1 15001
ok trunc /e2 5000
dusum 60000
used h 60000
ok opentrunc /e
dusum 40000
used h 40000
EOF
# Renaming one name of a file onto another name of it does nothing (as
# rename(2)): both stay, and nothing may be credited for the "replaced"
# name, or link + rename would shrink the figures at will.
qs h <<EOF
ok write /x 0 10000
ok link /x /y
used h 60000
ok prename /x /y
disk /x 10000
disk /y 10000
used h 60000
ok prename /y /x
used h 60000
dusum 60000
ok rm /y
ok rm /x
EOF
qpy disk-matches "after links"
# Every name of a file stays under the same limits: links and renames of
# a linked file across accounts' folders are refused (EXDEV).
qs admin <<EOF
ok write /a/l 0 100
fail 'Permission denied$' link /a/l /b/l
gone /b/l
fail 'Permission denied$' link /a/l /l
ok link /a/l /a/l2
fail 'Permission denied$' prename /a/l2 /b/l2
gone /b/l2
ok rm /a/l2
ok prename /a/l /h/l
disk /h/l 100
ok rm /h/l
EOF
# The main account linking a file into a full folder: refused.
qs admin <<EOF
ok write /h/big 0 50000
fail '^quota exceeded: 10000 bytes available$' link /h/big /h/big2
gone /h/big2
EOF
qpy disk-matches "at the end"
check_log_clean
done_testing
