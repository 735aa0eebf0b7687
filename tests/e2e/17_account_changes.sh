#!/bin/sh
# Account changes reach running sessions within a few seconds
# (refresh_seconds = 1): disabled, removed, expired or moved accounts'
# sessions end; a switch to read-only applies to the next request.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 1G
for u in alice bob carol dave erin frank gina hank ivan judy; do add_user "$u"; done
start_gateway
K="$T/id_ed25519"
DB="$T/var/coffer.db"
running() { kill -0 "$1" 2>/dev/null; }
stopped() { ! kill -0 "$1" 2>/dev/null; }
# kill_job PID — a background job and its children (if it did not end).
kill_job() {
	for _c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		kill "$_c" 2>/dev/null
	done
	kill "$1" 2>/dev/null
}

# -- disabled: a real sftp client, busy, and an idle ssh -N -------------------
feeder() { while :; do echo ls; sleep 0.3; done; }
feeder | sftp_b alice >"$T/live.out" 2>&1 &
live=$!
ssh_u bob -N >/dev/null 2>&1 &
idle=$!
_pids="$_pids $live $idle"
log_wait 10 'user=alice .*sftp session started'
log_wait 10 'login ok user=bob'
check "the sftp session runs" running "$live"
check "the idle ssh -N session runs" running "$idle"
"$COFFER" set alice --disable >/dev/null
"$COFFER" set bob --disable >/dev/null
if wait_until 10 stopped "$live"; then
	ok "a disabled account's sftp session ends within 10 s"
	wait "$live"
	check_fail "the sftp client saw its session end (non-zero exit)" \
		test $? = 0
else
	notok "a disabled account's sftp session ends within 10 s"
	kill_job "$live"
fi
if wait_until 10 stopped "$idle"; then
	ok "a disabled account's idle session ends within 10 s"
else
	notok "a disabled account's idle session ends within 10 s"
	kill_job "$idle"
fi
check_log "log: the session ended because the account is disabled" \
	'user=alice .*account disabled: ending the session'
check_log "log: the idle one too" \
	'user=bob .*account disabled: ending the session'
check_fail "and a new login is refused" sftp_b alice </dev/null

# -- removed, expired, moved (paramiko, SFTP channel open) ---------------------
run_py session_end "$PORT" carol "$K" "$T/store/carol" \
	"$COFFER" remove carol
check_log "log: removed account's session ended" \
	'user=carol .*account removed: ending the session'
check_fail "a removed account can't log in again" sftp_b carol </dev/null
run_py session_end "$PORT" erin "$K" "$T/store/erin" sqlite3 "$DB" \
	"UPDATE accounts SET expires = 1000000000, generation = generation + 1 WHERE name = 'erin';"
check_log "log: expired account's session ended" \
	'user=erin .*account expired: ending the session'
check_fail "an expired account can't log in again" sftp_b erin </dev/null
run_py session_end "$PORT" frank "$K" "$T/store/frank" \
	"$COFFER" set frank --folder /elsewhere
check_log "log: moved account's session ended" \
	'user=frank .*folder changed: ending the session'
echo "in the new folder" >"$T/store/elsewhere/new"
check "a moved account logs in again, into its new folder" sftp_b frank <<EOF
get new $T/new
EOF
eq "it sees its new folder" "$(cat "$T/new" 2>&1)" "in the new folder"

# An expiry that passes while logged in ends the session, with no other
# change to the record.
run_py session_end "$PORT" gina "$K" "$T/store/gina" sqlite3 "$DB" \
	"UPDATE accounts SET expires = 1000000000 WHERE name = 'gina';"
check_log "log: a session ended when its expiry passed" \
	'user=gina .*account expired: ending the session'

# -- exec front ends (rsync, scp -O) see account changes too --------------------
head -c 30M /dev/urandom >"$T/slow.bin"
rsync -e "ssh -p $PORT $(ssh_opts)" --bwlimit=1000 "$T/slow.bin" \
	hank@127.0.0.1:slow.bin >/dev/null 2>&1 &
rs=$!
scp -O -l 8000 -P "$PORT" $(ssh_opts) "$T/slow.bin" \
	ivan@127.0.0.1:slow.bin >/dev/null 2>&1 &
sc=$!
_pids="$_pids $rs $sc"
log_wait 10 'user=hank .*rsync upload'
log_wait 10 'user=ivan .*scp '
sleep 1
"$COFFER" set hank --disable >/dev/null
"$COFFER" remove ivan >/dev/null
if wait_until 10 stopped "$rs"; then
	ok "a disabled account's rsync upload ends within 10 s"
else
	notok "a disabled account's rsync upload ends within 10 s"
	kill_job "$rs"
fi
if wait_until 10 stopped "$sc"; then
	ok "a removed account's scp -O upload ends within 10 s"
else
	notok "a removed account's scp -O upload ends within 10 s"
	kill_job "$sc"
fi
check_log "log: the rsync session ended" \
	'user=hank .*account disabled: ending the session'
check_log "log: the scp session ended" \
	'user=ivan .*account removed: ending the session'
check_fail "rsync: no complete file landed" \
	cmp -s "$T/slow.bin" "$T/store/hank/slow.bin"
check_fail "rsync: no temporary file left" \
	sh -c "ls -A '$T/store/hank' | grep -q '^\.'"

# -- read-only switch, and back ------------------------------------------------
run_py ro_switch "$PORT" dave "$K" "$T/store/dave" \
	"$COFFER" set dave --read-only --then "$COFFER" set dave --read-write
check_log "log: the switch to read-only" \
	'user=dave .*account is now read-only'
check_log "log: the switch back" 'user=dave .*account is now read-write'
check_log "log: the refusal after the switch" \
	'user=dave .*refused write: read-only account'
"$COFFER" set dave --read-only >/dev/null
echo x >"$T/x"
sftp_fails "a new session after the switch is read-only too" dave \
	"Permission denied" <<EOF
put $T/x x
EOF
check_fail "nothing landed" test -e "$T/store/dave/x"

# A session that began read-only stays read-only when the account becomes
# read-write (its Landlock rules can't widen); the next login writes.
"$COFFER" set judy --read-only >/dev/null
echo j >"$T/j"
(sleep 3; echo "put $T/j j") | sftp_b judy >"$T/judy.out" 2>&1 &
jl=$!
log_wait 10 'user=judy .*sftp session started'
"$COFFER" set judy --read-write >/dev/null
wait $jl
check_log "log: read-write applies from the next login" \
	'user=judy .*read-write: from its next login'
check_fail "the read-only session still wrote nothing" test -e "$T/store/judy/j"
check "the next login writes" sftp_b judy <<EOF
put $T/j j
EOF
eq "and it landed" "$(cat "$T/store/judy/j" 2>&1)" j

check_sessions_closed "every session ended through its orderly close"
check_log_clean
done_testing
