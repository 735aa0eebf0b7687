#!/bin/sh
# Started as root with `user = ...`, cofferd binds then serves each
# connection as that user; it also runs entirely as an unprivileged user.
. tests/lib/lib.sh

if [ "$(id -u)" != 0 ]; then
	ok "skipped: needs root to switch users"
	done_testing
fi
SVC=coffer-test
id "$SVC" >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin "$SVC" ||
	{ notok "useradd $SVC"; done_testing; }
store_init 100M
add_user alice
chown -R "$SVC:" "$T/store"
echo "user = \"$SVC\";" >>"$COFFER_CONF"
start_gateway
head -c 50000 /dev/urandom >"$T/f"
check "upload as a privilege-dropped session" sftp_b alice <<EOF
put $T/f f
EOF
eq "file on disk is intact" "$(sha "$T/store/alice/f")" "$(sha "$T/f")"
eq "file belongs to the service user" \
	"$(stat -c %U "$T/store/alice/f")" "$SVC"
# Before login: a connection that only read the banner is already served
# by a process of the service user (no client byte is parsed as root).
/usr/bin/python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(256)
time.sleep(2.5)
' "$PORT" &
pre=$!
sleep 1.2
users=$(ps -o user= --ppid "$_gw_pid" | sort -u | tr -d ' \n')
eq "a connection before login runs as $SVC" "$users" "$SVC"
wait $pre
check "a login after the early drop" sftp_b alice <<EOF
ls
EOF
# A session held open: its process runs as the service user.
(sleep 3; echo 'ls') | sftp -P "$PORT" $(ssh_opts) alice@127.0.0.1 \
	>/dev/null 2>&1 &
held=$!
sleep 1.5
users=$(ps -o user= --ppid "$_gw_pid" | sort -u | tr -d ' \n')
eq "connection process runs as $SVC" "$users" "$SVC"
# The store, opened before the drop, still reads after a CLI write.
"$COFFER" set alice --read-only >/dev/null
wait $held
"$COFFER" set alice --read-write >/dev/null
check_fail "the dropped session re-read the account without error" \
	grep -q "account refresh failed" "$T/cofferd.log"
check "the dropped session saw the change" \
	grep -q "account is now read-only" "$T/cofferd.log"
stop_gateway

# Entirely unprivileged: the state folder and store belong to the user.
sed -i "/^user = /d" "$COFFER_CONF"
chown -R "$SVC:" "$T/var" "$T/store"
PORT=$(free_port)
runuser -u "$SVC" -- "$COFFERD" -p "$PORT" >"$T/cofferd.log" 2>&1 &
_gw_pid=$!
_pids="$_pids $_gw_pid"
i=0
while [ $i -lt 100 ] && ! grep -q 'listening on' "$T/cofferd.log"; do
	sleep 0.1; i=$((i + 1)); done
check "upload with cofferd run as $SVC" sftp_b alice <<EOF
put $T/f g
EOF
eq "file on disk is intact" "$(sha "$T/store/alice/g")" "$(sha "$T/f")"
eq "file belongs to $SVC" "$(stat -c %U "$T/store/alice/g")" "$SVC"
check_log_clean
done_testing
