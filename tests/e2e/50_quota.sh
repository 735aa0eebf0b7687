#!/bin/sh
# Quota: the two IBARD examples, scaled to MiB, with OpenSSH sftp and
# paramiko, checked on disk and against `coffer usage`.
#   1. store 25, the main account holds 11: a sub-account with quota 25
#      can store 14 now, and 19 after the main account deletes 5.
#   2. store 25, four sub-accounts with quota 5, the main account holds 5:
#      each can store exactly 5, whatever the others do.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc
. tests/e2e/quota_lib.inc

store_init 25M
add_user sub --quota 25M
admin_key
start_gateway
L=$T/local
mkdir -p "$L"
mkfile "$L/6M" $((6 * M))
mkfile "$L/5M" $((5 * M))
mkfile "$L/14M" $((14 * M))

# -- example 1 ----------------------------------------------------------
check "main account uploads 11 MiB (sftp)" sftp_b admin <<EOF
put $L/6M /keep
put $L/5M /drop
EOF
eq "main account's 11 MiB on disk" \
    $(($(disk_size "$T/store/keep") + $(disk_size "$T/store/drop"))) \
    $((11 * M))
eq "df as sub: size used avail = 14 MiB, 0, 14 MiB" "$(df_line sub)" \
    "$((14 * 1024)) 0 $((14 * 1024))"
check "sub stores 14 MiB now (sftp put)" sftp_b sub <<EOF
put $L/14M /big
EOF
eq "14 MiB on disk, same bytes" "$(sha "$T/store/sub/big")" "$(sha "$L/14M")"
qs sub <<EOF
fail '^quota exceeded: 0 bytes available$' write /one 0 1
fail '^quota exceeded: 0 bytes available$' write /big $((14 * M)) 1
disk /big $((14 * M))
used sub $((14 * M))
avail sub 0
EOF
sftp_fails "sftp put of one more byte fails" sub "Failure" <<EOF
put $L/5M /more
EOF
eq "the refused put left an empty file" "$(disk_size "$T/store/sub/more")" 0
eq "df as sub when the pool is full" "$(df_line sub)" "$((14 * 1024)) \
$((14 * 1024)) 0"
check "main account deletes 5 MiB" sftp_b admin <<EOF
rm /drop
EOF
eq "df as sub: 5 MiB available again" "$(df_line sub)" \
    "$((19 * 1024)) $((14 * 1024)) $((5 * 1024))"
check "now sub stores 5 MiB more (sftp put)" sftp_b sub <<EOF
put $L/5M /more
EOF
eq "5 MiB more on disk, same bytes" "$(sha "$T/store/sub/more")" \
    "$(sha "$L/5M")"
qs sub <<EOF
fail '^quota exceeded: 0 bytes available$' write /x 0 1
dusum $((19 * M))
used sub $((19 * M))
EOF
qs admin <<EOF
fail '^quota exceeded: 0 bytes available$' write /x 0 1
ok rm /sub/more
ok write /x 0 $((2 * M))
EOF
qs sub <<EOF
ok write /x 0 $((3 * M - 1000))
fail '^quota exceeded: 1000 bytes available$' write /x $((3 * M - 1000)) 1001
ok write /x $((3 * M - 1000)) 1000
fail '^quota exceeded: 0 bytes available$' write /x $((3 * M)) 1
disk /x $((3 * M))
pattern /x 0 $((3 * M))
dusum $((17 * M))
EOF
qpy disk-matches "example 1"

# -- example 2 ----------------------------------------------------------
"$COFFER" remove sub >/dev/null 2>&1 || notok "remove sub"
rm -rf "$T/store/sub" "$T/store/x" "$T/store/keep"
"$COFFER" rescan >/dev/null || notok "rescan"
for s in s1 s2 s3 s4; do add_user $s --quota 5M; done
mkfile "$L/main5" $((5 * M))
check "main account holds 5 MiB" sftp_b admin <<EOF
put $L/main5 /main5
EOF
eq "df as s3: 5 MiB of 5" "$(df_line s3)" "5120 0 5120"
# s1 stores 5 at once; s2 tries 6 (refused at 5: the last request does not
# fit); s3 stores 3, then 2; s4 stores 5 in one put.
qs s1 <<EOF
ok put /a $((5 * M))
fail '^quota exceeded: 0 bytes available$' write /b 0 1
EOF
qs s2 <<EOF
fail '^quota exceeded: 0 bytes available$' put /a $((6 * M)) 131072
disk /a $((5 * M))
pattern /a 0 $((5 * M))
EOF
qs s3 <<EOF
ok put /a $((3 * M))
ok write /b 0 $((2 * M - 10))
fail '^quota exceeded: 10 bytes available$' write /b $((2 * M - 10)) 11
ok write /b $((2 * M - 10)) 10
fail '^quota exceeded: 0 bytes available$' write /c 0 1
EOF
mkfile "$L/s4" $((5 * M))
check "s4 stores 5 MiB (sftp put)" sftp_b s4 <<EOF
put $L/s4 /a
EOF
eq "s4's 5 MiB on disk" "$(sha "$T/store/s4/a")" "$(sha "$L/s4")"
for s in s1 s2 s3 s4; do
	eq "$s holds exactly 5 MiB on disk" "$(dsum "$T/store/$s")" \
	    $((5 * M))
done
qs admin <<EOF
dusum $((25 * M))
fail '^quota exceeded: 0 bytes available$' write /m 0 1
EOF
# Whatever the others do: s1 frees 2 MiB; s2 still can't pass its 5, the
# main account may use the freed pool space, and s1 can take it back.
qs s1 <<EOF
ok trunc /a $((3 * M))
EOF
qs s2 <<EOF
fail '^quota exceeded: 0 bytes available$' write /b 0 1
EOF
eq "df as s2: still 5 of 5" "$(df_line s2)" "5120 5120 0"
eq "df as s1: 2 MiB available" "$(df_line s1)" "5120 3072 2048"
qs admin <<EOF
ok write /m 0 $M
EOF
qs s1 <<EOF
ok write /a $((3 * M)) $((M - 5))
fail '^quota exceeded: 5 bytes available$' write /a $((4 * M - 5)) 6
ok write /a $((4 * M - 5)) 5
fail '^quota exceeded: 0 bytes available$' write /a $((4 * M)) 1
disk /a $((4 * M))
EOF
qpy disk-matches "example 2"
check_log_clean
done_testing
