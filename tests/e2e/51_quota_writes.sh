#!/bin/sh
# Quota on every kind of write, byte-exact with paramiko (limit - 1, limit,
# limit + 1; overwrite; sparse writes; SETSTAT/FSETSTAT size; open with
# truncate; append; copy-data), the refusal's text as the client gets it,
# bytes before a refused request kept; then OpenSSH sftp and scp.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc
. tests/e2e/quota_lib.inc

Q=20000
store_init 10M
add_user ex --quota $Q
start_gateway

qs ex <<EOF
# limit - 1, limit + 1, limit
ok write /f 0 $((Q - 1))
disk /f $((Q - 1))
fail '^quota exceeded: 1 bytes available$' write /f $((Q - 1)) 2
disk /f $((Q - 1))
used ex $((Q - 1))
ok write /f $((Q - 1)) 1
disk /f $Q
fail '^quota exceeded: 0 bytes available$' write /f $Q 1
fail '^quota exceeded: 0 bytes available$' write /g 0 1
disk /f $Q
disk /g 0
used ex $Q
avail ex 0
# Overwriting in place grows nothing: allowed when full, not charged.
ok write /f 0 $Q
ok write /f 5000 10000
used ex $Q
pattern /f 0 $Q
# SETSTAT size: shrink credits, extend is charged.
ok trunc /f 5000
disk /f 5000
used ex 5000
fail '^quota exceeded: 15000 bytes available$' trunc /f $((Q + 1))
disk /f 5000
ok trunc /f $Q
disk /f $Q
used ex $Q
# FSETSTAT size.
ok ftrunc /f 100
used ex 100
fail '^quota exceeded: 19900 bytes available$' ftrunc /f $((Q + 1))
disk /f 100
ok ftrunc /f $Q
used ex $Q
# OPEN with truncate gives the bytes back.
ok opentrunc /f
disk /f 0
used ex 0
# A write far past the end grows the logical size: charged in full.
fail '^quota exceeded: 20000 bytes available$' write /s 1000000 1
fail '^quota exceeded: 20000 bytes available$' write /s $Q 1
disk /s 0
ok write /s $((Q - 1)) 1
disk /s $Q
used ex $Q
ok rm /s
ok rm /g
ok rm /f
used ex 0
# Append.
ok append /a 15000
fail '^quota exceeded: 5000 bytes available$' append /a 5001
disk /a 15000
ok append /a 5000
disk /a $Q
pattern /a 0 $Q
ok rm /a
# copy-data is charged like writes.
ok put /src 12000
fail '^quota exceeded: 8000 bytes available$' copy /src /dst 0
disk /dst 0
ok trunc /src 10000
ok copy /src /dst 0
disk /dst 10000
pattern /dst 0 10000
used ex $Q
fail '^quota exceeded: 0 bytes available$' copy /src /dst 10000
disk /dst 10000
ok rm /src
ok rm /dst
# Bytes written before a refused request stay; nothing is truncated.
fail '^quota exceeded: 4000 bytes available$' put /big 30000 8000
disk /big 16000
pattern /big 0 16000
used ex 16000
ok write /big 16000 4000 4000
disk /big $Q
pattern /big 0 $Q
dusum $Q
ok rm /big
EOF
qpy disk-matches "after paramiko"

# OpenSSH sftp and scp: the upload fails, what fits stays, the figures
# match the disk.  (OpenSSH's sftp prints "Failure": it does not show the
# server's message; paramiko above shows that the message is sent.)
L=$T/local
mkdir -p "$L"
mkfile "$L/small" 15000
mkfile "$L/big" 30000
check "sftp put of 15000 bytes" sftp_b ex <<EOF
put $L/small /small
EOF
eq "15000 bytes on disk, same bytes" "$(sha "$T/store/ex/small")" \
    "$(sha "$L/small")"
sftp_fails "sftp put past the quota fails" ex "Failure" <<EOF
put $L/big /big
EOF
eq "sftp: nothing of the refused request landed" \
    "$(disk_size "$T/store/ex/big")" 0
# shellcheck disable=SC2046
check_fail "scp (SFTP mode) past the quota fails" \
    scp -q -P "$PORT" $(ssh_opts) "$L/big" "ex@127.0.0.1:/scp-big"
eq "scp: nothing of the refused request landed" \
    "$(disk_size "$T/store/ex/scp-big")" 0
# Legacy scp announces the size: refused before a byte is written, and
# this client does print the server's message.
# shellcheck disable=SC2046
out=$(scp -O -P "$PORT" $(ssh_opts) "$L/big" "ex@127.0.0.1:/scp-o" 2>&1)
eq "scp -O past the quota fails" "$?" 1
contains "scp -O prints the message" "$out" \
    "quota exceeded: 5000 bytes available"
eq "scp -O: no file left" "$(ls "$T/store/ex" | tr '\n' ' ')" \
    "big scp-big small "
rm -f "$T/store/ex/big" "$T/store/ex/scp-big"
head -c 5000 "$L/big" >"$L/5000"
# shellcheck disable=SC2046
check "scp of 5000 bytes fits exactly" \
    scp -q -P "$PORT" $(ssh_opts) "$L/5000" "ex@127.0.0.1:/five"
eq "scp: 5000 bytes on disk" "$(sha "$T/store/ex/five")" "$(sha "$L/5000")"
# shellcheck disable=SC2046
out=$(scp -O -P "$PORT" $(ssh_opts) "$L/5000" "ex@127.0.0.1:/one" 2>&1)
contains "scp -O when full: 0 bytes available" "$out" \
    "quota exceeded: 0 bytes available"
# scp (SFTP mode) overwrites in place: a same-size file fits when full.
# scp -O writes a copy beside the old file until it is complete (a
# failure never leaves a partial file): that copy needs room of its own.
head -c 5000 /dev/urandom >"$L/5000b"
# shellcheck disable=SC2046
check "scp (SFTP) overwrites in place when full" \
    scp -q -P "$PORT" $(ssh_opts) "$L/5000b" "ex@127.0.0.1:/five"
eq "scp: the new bytes" "$(sha "$T/store/ex/five")" "$(sha "$L/5000b")"
# shellcheck disable=SC2046
out=$(scp -O -P "$PORT" $(ssh_opts) "$L/5000" "ex@127.0.0.1:/five" 2>&1)
contains "scp -O over a file when full: no room for its copy" "$out" \
    "five: quota exceeded: 0 bytes available"
eq "scp -O: the old bytes kept" "$(sha "$T/store/ex/five")" \
    "$(sha "$L/5000b")"
eq "the account holds exactly its quota" "$(dsum "$T/store/ex")" $Q
qpy disk-matches "after sftp and scp"
check_log "the refusal is logged" "quota"
check_log_clean
done_testing
