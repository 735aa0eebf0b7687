#!/bin/sh
# `make run` (tests/lib/demo.sh): a demo store, cofferd on 127.0.0.1:2222,
# and the printed `sftp -P 2222 demo@127.0.0.1` line with its password
# working for someone who has never connected (no known host, no key).
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

port_busy() {
	$PY -c "import socket; socket.create_connection(('127.0.0.1', 2222), 1)" \
		2>/dev/null
}
if port_busy; then
	# Something else (a developer's own `make run`) has the port.
	ok "skipped: 127.0.0.1:2222 is in use"
	done_testing
fi
mkdir -p "$T/demo" "$T/home"
unset COFFER_CONF
(cd "$T/demo" && exec env O="$O" sh "$TOP/tests/lib/demo.sh") \
	>"$T/demo.out" 2>&1 &
demo=$!
_pids="$_pids $demo"
ready() { grep -q 'listening on' "$T/demo.out"; }
if ! wait_until 30 ready; then
	notok "make run did not start"
	sed 's/^/#   /' "$T/demo.out"
	done_testing
fi
ok "make run starts the gateway"
contains "it prints the sftp line" "$(cat "$T/demo.out")" \
	"sftp -P 2222 demo@127.0.0.1"
pw=$(sed -n 's/.*password: \([0-9a-f]*\)$/\1/p' "$T/demo.out")
check "it prints the demo password" test -n "$pw"

# As a new user would: fresh known_hosts, password typed at the prompt
# (here: SSH_ASKPASS), the line exactly as printed.
make_askpass "$pw"
echo "hello from a new user" >"$T/hello"
# shellcheck disable=SC2046
out=$(env $(pw_env) sftp -P 2222 -o StrictHostKeyChecking=accept-new \
	-o UserKnownHostsFile="$T/home/known_hosts" -o BatchMode=no \
	-o PubkeyAuthentication=no -b - demo@127.0.0.1 2>&1 <<EOF
pwd
put $T/hello hello
ls -l
get hello $T/hello.back
df -h
EOF
)
rc=$?
eq "sftp with the printed password works" "$rc" 0
contains "the demo account is at /" "$out" "Remote working directory: /"
eq "the file went up and came back" "$(cat "$T/hello.back" 2>&1)" \
	"hello from a new user"
eq "it is in the demo store" "$(cat "$T/demo/var/store/demo/hello" 2>&1)" \
	"hello from a new user"
contains "df shows the demo's 1 GiB" "$out" "1.0GB"
check "the host key was recorded for next time" test -s \
	"$T/home/known_hosts"

kill "$demo" 2>/dev/null
wait "$demo" 2>/dev/null
cp "$T/demo.out" "$T/cofferd.log"
check_log_clean
done_testing
