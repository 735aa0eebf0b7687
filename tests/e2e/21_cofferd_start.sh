#!/bin/sh
# cofferd's own command line: -t checks and exits, bad options and files
# are refused with a usage line, host keys are made once (mode 0600) with
# their fingerprints logged and kept across restarts, -l/-p choose where
# it listens, -d serves exactly one connection in the foreground.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 1G
add_user alice
K="$T/var/ssh_host_ed25519_key"

# -- -t, usage errors -------------------------------------------------------
# -t only looks: no host key made, the ledger left as it is.
L=$(ls "$T"/var/*-ledger 2>/dev/null | head -n 1)
check "the store has a ledger file" test -n "$L" -a -f "$L"
lsum=$(sha "$L")
out=$("$COFFERD" -t 2>&1)
eq "-t: exit 0 on a good configuration and store" "$?" 0
contains "-t: says the configuration is valid" "$out" "is valid"
check_fail "-t: made no host key" test -e "$K" -o -e "$T/var/ssh_host_rsa_key"
contains "-t: says the host key is made at start" "$out" \
	"ssh_host_ed25519_key missing; generated at start"
eq "-t: the ledger is unchanged" "$(sha "$L")" "$lsum"
cp "$L" "$T/ledger.keep"
head -c 4096 /dev/urandom >"$L"
lsum=$(sha "$L")
out=$("$COFFERD" -t 2>&1)
eq "-t with a damaged ledger: exit 0" "$?" 0
contains "-t: says the ledger is made again at start" "$out" \
	"another version's or damaged; made from disk at start"
eq "-t: the damaged ledger is left alone" "$(sha "$L")" "$lsum"
cp "$T/ledger.keep" "$L"

# The first start makes the host keys (0600) and logs their fingerprints;
# -t then loads and shows the same.
start_gateway
stop_gateway
check "the first start made the host keys" \
	test -f "$K" -a -f "$T/var/ssh_host_rsa_key"
eq "host key ed25519: mode 0600" "$(stat -c %a "$K")" 600
eq "host key rsa: mode 0600" "$(stat -c %a "$T/var/ssh_host_rsa_key")" 600
contains "the ed25519 fingerprint is logged" "$(cat "$T/cofferd.log")" \
	"host key ssh-ed25519 SHA256:"
out=$("$COFFERD" -t 2>&1)
eq "-t with host keys: exit 0" "$?" 0
contains "-t: shows the rsa fingerprint" "$out" "host key ssh-rsa SHA256:"
eq "rsa host key: 3072 bits" \
	"$(ssh-keygen -l -f "$T/var/ssh_host_rsa_key" | cut -d' ' -f1)" 3072
fp=$(ssh-keygen -l -f "$K" | cut -d' ' -f2)
contains "the logged fingerprint is the key's" "$out" "$fp"
out=$("$COFFERD" -c "$T/nonexistent.conf" -t 2>&1)
eq "-t with a missing configuration: exit 1" "$?" 1
contains "-t: names the file" "$out" "nonexistent.conf"
printf 'port = "not a number";\n' >"$T/bad.conf"
out=$("$COFFERD" -c "$T/bad.conf" -t 2>&1)
check_fail "-t with a bad setting fails" test "$?" = 0
out=$("$COFFERD" -x 2>&1)
eq "unknown option: exit 2" "$?" 2
contains "unknown option: usage" "$out" "usage: cofferd"
out=$("$COFFERD" -p 99999 -t 2>&1)
check_fail "port 99999 is refused" test "$?" = 0
out=$("$COFFERD" -h 2>&1)
eq "-h: exit 0" "$?" 0
contains "-h: lists -d" "$out" "-d "

# -- restart keeps the host keys -------------------------------------------
before=$(sha "$K")
start_gateway
check "a login" sftp_b alice <<EOF
pwd
EOF
stop_gateway
eq "a restart keeps the ed25519 host key" "$(sha "$K")" "$before"
# The key the client saw is the one on disk.
PORT=$(free_port)
"$COFFERD" -l 127.0.0.1 -p "$PORT" >"$T/cofferd.log" 2>&1 &
_gw_pid=$!
_pids="$_pids $_gw_pid"
log_wait 10 "listening on 127.0.0.1 port $PORT"
check "-l/-p: listening where asked" log_has "listening on 127.0.0.1 port $PORT"
ssh-keyscan -t ed25519 -p "$PORT" 127.0.0.1 2>/dev/null |
	sed 's/^[^ ]* //' >"$T/scanned"
eq "the served host key is the one on disk" "$(cut -d' ' -f2 "$T/scanned")" \
	"$(ssh-keygen -y -f "$K" | cut -d' ' -f2)"
stop_gateway

# -- -d: one connection in the foreground, then exit ------------------------
PORT=$(free_port)
"$COFFERD" -d -p "$PORT" >"$T/debug.log" 2>&1 &
dpid=$!
_pids="$_pids $dpid"
wait_until 10 grep -q 'listening on' "$T/debug.log"
check "-d: a session is served" sftp_b alice <<EOF
pwd
EOF
if wait_until 10 sh -c "! kill -0 $dpid 2>/dev/null"; then
	ok "-d: cofferd exits after its one connection"
else
	notok "-d: cofferd exits after its one connection"
fi
check "-d: the log is verbose (debug lines)" grep -q 'debug:' "$T/debug.log"
check_fail "-d: the server log has no sanitizer report" \
	grep -qE 'AddressSanitizer|runtime error:' "$T/debug.log"
check_log_clean
done_testing
