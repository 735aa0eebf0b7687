#!/bin/sh
# Quota under concurrency and crashes: eight clients (OpenSSH sftp and
# paramiko) uploading at once against one account's quota, then against
# the store's pool; the bytes on disk never pass a limit, `coffer usage`
# equals the disk, and the last bytes are all usable.  Then kill -9 of the
# gateway (listener and connections) mid-upload: the restart rescans and
# the figures match the disk again.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc
. tests/e2e/quota_lib.inc

store_init 100M
add_user p --quota 4M
add_user q1
add_user q2
add_user k
admin_key
start_gateway
L=$T/local
mkdir -p "$L"
mkfile "$L/1M" $M
mkfile "$L/700K" $((700 * K))

# bg_sftp OUT USER NAME... — sftp puts of $L/1M and $L/700K as NAME-1,
# NAME-2, in the background.
bg_sftp() {
	_o=$1
	_u=$2
	shift 2
	for _n in "$@"; do
		echo "put $L/1M /$_n-1"
		echo "put $L/700K /$_n-2"
	done >"$_o.batch"
	# shellcheck disable=SC2046
	sftp -P "$PORT" $(ssh_opts) -b "$_o.batch" "$_u@127.0.0.1" \
	    >"$_o" 2>&1 &
}
# bg_py OUT USER NAME — paramiko: 1 MiB in 64 KiB requests, and 300000
# bytes in 7000-byte requests; each may be refused (quota).
bg_py() {
	printf '%s\n' "any put /$3-1 $M 65536" "any put /$3-2 300000 7000" \
	    >"$1.script"
	qs_bg "$1" "$2" "$1.script"
}

# -- eight clients, one account's quota ----------------------------------------
pids=""
for i in 1 2 3 4; do
	bg_sftp "$T/s$i" p "s$i"
	pids="$pids $!"
	bg_py "$T/p$i" p "p$i"
	pids="$pids $!"
done
n=0
for pid in $pids; do
	wait "$pid"
	n=$((n + 1))
done
for i in 1 2 3 4; do
	q_results "$T/p$i" 0 "p$i"
	if grep -vE '^(sftp> |.*Failure|dest open|remote|Couldn)' "$T/s$i" |
	    grep -q .; then
		notok "sftp client $i: unexpected output"
		sed 's/^/#   /' "$T/s$i" | head -n 5
	fi
done
eq "eight clients ran" "$n" 8
used=$(dsum "$T/store/p")
echo "# p holds $used bytes after the race (limit $((4 * M)))"
check "p on disk within its quota" [ "$used" -le $((4 * M)) ]
check "the race was lost by some (the demand was twice the quota)" \
    grep -q Failure "$T/s1" "$T/s2" "$T/s3" "$T/s4"
qpy disk-matches "after eight clients"
left=$((4 * M - used))
qs p <<EOF
ok statvfs / $((4 * M)) $left
ok write /last 0 $left 32768
fail '^quota exceeded: 0 bytes available$' write /last $left 1
dusum $((4 * M))
used p $((4 * M))
EOF

# -- eight clients of three accounts sharing the pool ------------------------
"$COFFER" store --size 7M >/dev/null 2>&1 || notok "store --size 7M"
pids=""
bg_sftp "$T/t1" q1 a b
pids="$pids $!"
bg_sftp "$T/t2" q2 a b
pids="$pids $!"
bg_sftp "$T/t3" q1 c
pids="$pids $!"
bg_sftp "$T/t4" q2 c
pids="$pids $!"
bg_py "$T/u1" q1 d
pids="$pids $!"
bg_py "$T/u2" q2 d
pids="$pids $!"
bg_py "$T/u3" p d
pids="$pids $!"
bg_py "$T/u4" q1 e
pids="$pids $!"
for pid in $pids; do wait "$pid"; done
for i in 1 2 3 4; do q_results "$T/u$i" 0 "u$i"; done
total=$(dsum "$T/store")
echo "# the store holds $total bytes after the race (size $((7 * M)))"
check "the store on disk within its size" [ "$total" -le $((7 * M)) ]
eq "p still holds its quota exactly" "$(dsum "$T/store/p")" $((4 * M))
qpy disk-matches "after the pool race"
left=$((7 * M - total))
qs q2 <<EOF
ok write /last 0 $left 32768
fail '^quota exceeded: 0 bytes available$' write /last $left 1
EOF
eq "the pool is full to the byte" "$(dsum "$T/store")" $((7 * M))

# -- kill -9 mid-upload, restart -----------------------------------------------
"$COFFER" store --size 100M >/dev/null 2>&1 || notok "store --size 100M"
mkfile "$L/40M" $((40 * M))
printf '%s\n' "ok put /slow $((8 * M)) 32768 0.005" >"$T/slow.script"
qs_bg "$T/slow" k "$T/slow.script"
slow=$!
echo "put $L/40M /big" >"$T/big.batch"
# shellcheck disable=SC2046
sftp -l 40000 -P "$PORT" $(ssh_opts) -b "$T/big.batch" k@127.0.0.1 \
    >"$T/big" 2>&1 &
big=$!
wait_until 10 test -s "$T/store/k/slow"
wait_until 10 test -s "$T/store/k/big"
sleep 0.3
kids=$(pgrep -P "$_gw_pid" | tr '\n' ' ')
echo "# killing the listener $_gw_pid and its connections: $kids"
# shellcheck disable=SC2086
kill -9 "$_gw_pid" $kids
wait "$slow" "$big" 2>/dev/null
check "the uploads were cut short" [ "$(dsum "$T/store/k")" -lt $((48 * M)) ]
eq "two connections were killed" "$(echo "$kids" | wc -w)" 2
# shellcheck disable=SC2086
check "no connection process survived" wait_until 5 sh -c \
    "! kill -0 $kids 2>/dev/null"
check_log_clean
# What the gateway did not see: a file dropped by hand while it was down.
mkfile "$T/store/k/by-hand" 12345
start_gateway
qpy disk-matches "after kill -9 and restart (start-up rescan)"
check "coffer rescan" "$COFFER" rescan
qpy disk-matches "after coffer rescan"
"$COFFER" set k --quota $(($(dsum "$T/store/k") + 5000)) >/dev/null 2>&1 ||
	notok "set k --quota"
qs k <<EOF
ok write /after 0 5000
fail '^quota exceeded: 0 bytes available$' write /after 5000 1
EOF
qpy disk-matches "after the restart's writes"
check_log_clean
done_testing
