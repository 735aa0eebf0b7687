#!/bin/sh
# Logging in: keys and passwords (real ssh client through SSH_ASKPASS, and
# paramiko), refused credentials, disabled and expired accounts, bounded
# attempts per connection, the login grace time, and the log lines.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 1G
add_user alice
echo 'alice-pw-1' | "$COFFER" passwd alice --stdin >/dev/null
"$COFFER" add pwonly --password-stdin >/dev/null <<EOF
only-pw-2
EOF
add_user gone
add_user old
ssh-keygen -q -t ed25519 -N '' -C other -f "$T/other_key"
"$COFFER" add bob --key "$T/other_key.pub" >/dev/null
conf_set max_auth_tries 3
start_gateway
K="$T/id_ed25519"
echo kind >"$T/kind.txt"
# sftp_pw USER PASSWORD — sftp -b (batch on stdin) logging in by password.
sftp_pw() {
	make_askpass "$2"
	# shellcheck disable=SC2046
	env $(pw_env) sftp -P "$PORT" $(pw_opts) -b - "$1@127.0.0.1"
}

# -- keys -------------------------------------------------------------------
check "key login" sftp_b alice <<EOF
pwd
EOF
check_log "log: login ok, publickey, address" \
	'login ok user=alice method=publickey addr=127\.0\.0\.1:[0-9]+'
# Every kind of key coffer accepts logs in with the real client.
for kt in "rsa -b 3072" "ecdsa -b 256" "ecdsa -b 384" "ecdsa -b 521"; do
	kf="$T/k_$(echo "$kt" | tr -d ' -')"
	# shellcheck disable=SC2086
	ssh-keygen -q -t $kt -N '' -C kind -f "$kf"
	"$COFFER" key add alice "$kf.pub" >/dev/null
	echo "put $T/kind.txt kind-$(basename "$kf")" >"$T/kind.batch"
	# shellcheck disable=SC2046
	check "key login with $kt" sftp -P "$PORT" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR -o BatchMode=yes -o IdentitiesOnly=yes \
		-o PubkeyAcceptedAlgorithms=+ssh-rsa \
		-i "$kf" -b "$T/kind.batch" alice@127.0.0.1
	check "$kt: the upload landed" test -f "$T/store/alice/kind-$(basename "$kf")"
done
# Names are unique in any case: "Alice" is alice.
check "login as Alice is alice" sftp_b Alice <<EOF
put $T/kind.txt upper-case.txt
EOF
check "Alice's upload landed in alice's folder" \
	test -f "$T/store/alice/upper-case.txt"
check_log "log: the account's own name" 'login ok user=alice method=publickey'
# shellcheck disable=SC2046
check_fail "a key of another account is refused" sftp -P "$PORT" \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o LogLevel=ERROR -o BatchMode=yes -o IdentitiesOnly=yes \
	-i "$T/other_key" -b /dev/null alice@127.0.0.1
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$T/stranger_key"
check_fail "an unknown key is refused" sftp -P "$PORT" \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o LogLevel=ERROR -o BatchMode=yes -o IdentitiesOnly=yes \
	-i "$T/stranger_key" -b /dev/null alice@127.0.0.1
check_fail "a key for an unknown account is refused" sftp_b nobody-here \
	</dev/null
check_fail "a password-only account refuses keys" sftp_b pwonly </dev/null
check_log "log: key refused for bob's key as alice" \
	'login failed user=alice method=publickey .*wrong credential|key probe refused user=alice'

# -- passwords, real ssh client ---------------------------------------------
out=$(echo pwd | sftp_pw alice alice-pw-1 2>&1)
contains "password login (ssh client, askpass)" "$out" \
	"Remote working directory: /"
out=$(echo pwd | sftp_pw pwonly only-pw-2 2>&1)
contains "password login of a password-only account" "$out" \
	"Remote working directory: /"
check_log "log: login ok, password, address" \
	'login ok user=alice method=password addr=127\.0\.0\.1:[0-9]+'
check_fail "wrong password refused" sftp_pw alice alice-pw-2 </dev/null
check_fail "another account's password refused" sftp_pw alice only-pw-2 \
	</dev/null
check_fail "password of an account without one refused" sftp_pw bob x \
	</dev/null
check_fail "unknown account refused" sftp_pw nobody-here alice-pw-1 \
	</dev/null
check_log "log: login failed, password, address, reason" \
	'login failed user=alice method=password addr=127\.0\.0\.1:[0-9]+ reason="wrong credential"'
check_log "log: unknown account" \
	'login failed user=nobody-here method=password .*no such account'
lacks "log: never a password" "$(cat "$T/cofferd.log")" "alice-pw"
lacks "log: never another password" "$(cat "$T/cofferd.log")" "only-pw"

# -- paramiko: password, timing, attempts, grace -----------------------------
run_py password "$PORT" alice "pw:alice-pw-1" "$T/store/alice"
run_py timing "$PORT" alice "pw:alice-pw-1" "$T/store/alice"
run_py maxauth "$PORT" alice "pw:alice-pw-1" "$T/store/alice" 3
check_log "log: too many failures" 'too many authentication failures'

# -- disabled, expired, removed ---------------------------------------------
"$COFFER" set gone --disable >/dev/null
check_fail "a disabled account is refused (key)" sftp_b gone </dev/null
check_log "log: disabled" 'login failed user=gone .*account disabled'
"$COFFER" set gone --enable >/dev/null
check "enabled again, it logs in" sftp_b gone </dev/null
"$COFFER" remove gone >/dev/null
check_fail "a removed account is refused" sftp_b gone </dev/null
# No past expiry date through the CLI ("that day is over"): set one in
# the database, as time passing would.
sqlite3 "$T/var/coffer.db" \
	"UPDATE accounts SET expires = 1000000000, generation = generation + 1 WHERE name = 'old';"
check_fail "an expired account is refused" sftp_b old </dev/null
check_log "log: expired" 'login failed user=old .*account expired'
"$COFFER" set old --expires never >/dev/null
check "no longer expired, it logs in" sftp_b old </dev/null

# -- login grace time (its own gateway: a short grace time would also end
# the connections of the cases above) ---------------------------------------
check_sessions_closed "every session ended through its orderly close"
check_log_clean
stop_gateway
conf_set login_grace_time 3
start_gateway
run_py grace "$PORT" alice "$K" "$T/store/alice" 3
check_log "log: grace time exceeded" 'login grace time exceeded'

check_log_clean
done_testing
