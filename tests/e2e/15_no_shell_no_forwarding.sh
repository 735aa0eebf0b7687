#!/bin/sh
# SFTP only: no shell, no command execution, no pty, no port forwarding
# of any kind, no other subsystem — with the real ssh client and, for the
# exact channel requests, paramiko.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 1G
add_user alice
start_gateway
A="$T/store/alice"
echo "mine" >"$A/f"

# -- exec -------------------------------------------------------------------
ssh_u alice cat /etc/passwd >"$T/out" 2>"$T/err"
rc=$?
eq "ssh host cat /etc/passwd: exit status 1" "$rc" 1
eq "ssh host cat /etc/passwd: nothing on stdout" "$(cat "$T/out")" ""
no_leak "no host file in the output" "$T/out" "$T/err"
contains "exec: a message on stderr" "$(cat "$T/err")" "SFTP only"
ssh_u alice "id; hostname; echo pwned >/tmp/coffer-pwned-$$" \
	>"$T/out" 2>&1
rc=$?
check_fail "a shell command line is not run" test "$rc" = 0
lacks "no id output" "$(cat "$T/out")" "uid="
ssh_u alice "echo pwned >$A/pwned" >/dev/null 2>&1
check_fail "a command writing into the account's folder did not run" \
	test -e "$A/pwned"
ssh_u alice sftp-server >"$T/out" 2>&1
check_fail "exec of sftp-server is refused too" test $? = 0
check_log "log: the refused command line" 'refused exec "cat /etc/passwd"'

# -- shell, pty -------------------------------------------------------------
ssh_u alice -T </dev/null >"$T/out" 2>&1
rc=$?
check_fail "ssh with no command (a shell) exits non-zero" test "$rc" = 0
contains "shell: a message" "$(cat "$T/out")" "SFTP only"
ssh_u alice -tt </dev/null >"$T/out" 2>&1
rc=$?
check_fail "ssh -tt (pty and shell) exits non-zero" test "$rc" = 0
contains "pty: refused" "$(cat "$T/out")" "PTY allocation request failed"
check_log "log: shell refused" 'user=alice .*refused shell'
check_log "log: pty refused" 'refused pty'

# -- other subsystems -------------------------------------------------------
check_fail "subsystem other than sftp refused" ssh_u alice -s bogus
check_log "log: subsystem refused" 'refused subsystem "bogus"'

# -- forwarding ---------------------------------------------------------------
# -R: the server must refuse the tcpip-forward request.
RP=$(free_port)
# shellcheck disable=SC2046
check_fail "ssh -R is refused (ExitOnForwardFailure)" timeout 20 \
	ssh -p "$PORT" $(ssh_opts) -o ExitOnForwardFailure=yes -N \
	-R "$RP:127.0.0.1:$PORT" alice@127.0.0.1
is_listening() {
	$PY -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" \
		2>/dev/null
}
check_fail "nothing listens on the -R port" is_listening "$RP"
# -L: the listening end is the client's; every connection through it
# must find the channel refused, getting no byte from the target (the
# gateway's own port, which would greet with "SSH-2.0").
LP=$(free_port)
# shellcheck disable=SC2046
ssh -p "$PORT" -o LogLevel=INFO $(ssh_opts) -o ExitOnForwardFailure=yes -N \
	-L "$LP:127.0.0.1:$PORT" alice@127.0.0.1 2>"$T/lerr" &
lpid=$!
_pids="$_pids $lpid"
if wait_until 10 is_listening "$LP"; then
	got=$($PY - "$LP" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.settimeout(5)
try:
    print(repr(s.recv(100)))
except Exception as e:
    print("error", e)
PY
)
	eq "ssh -L: the forwarded connection gets nothing" "$got" "b''"
else
	notok "ssh -L did not listen"
fi
kill "$lpid" 2>/dev/null
wait "$lpid" 2>/dev/null
contains "ssh -L: the client was told the channel was refused" \
	"$(cat "$T/lerr")" "open failed"
# -D (dynamic, SOCKS) uses the same direct-tcpip channel: covered above.
# -A and -X: the command is still refused (the x11-req refusal itself is
# checked in protocol.py).
ssh_u alice -A -o ForwardX11=yes true >/dev/null 2>&1
eq "-A -X: the command is still refused (exit 1)" "$?" 1

# -- exact channel requests (paramiko) ----------------------------------------
run_py channels "$PORT" alice "$T/id_ed25519" "$A"
run_py reopen "$PORT" alice "$T/id_ed25519" "$A"

# -- and SFTP still works ---------------------------------------------------
check "sftp works after all that" sftp_b alice <<EOF
get f $T/f
EOF
eq "the file is the account's" "$(cat "$T/f" 2>&1)" mine
check_fail "nothing was written by a command" test -e "/tmp/coffer-pwned-$$"
check_sessions_closed "every session ended through its orderly close"
check_log_clean
done_testing
