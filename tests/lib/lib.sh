# tests/lib/lib.sh — shared helpers for shell tests (sourced, POSIX sh).
#
#   . tests/lib/lib.sh          (from the repository root; tests/run.sh cd's there)
#   ok "desc" / notok "desc"    record one result
#   check "desc" CMD...         ok if CMD exits 0
#   check_fail "desc" CMD...    ok if CMD exits non-zero
#   eq "desc" GOT WANT          ok if equal strings
#   done_testing                print the summary line, exit 1 on failure
#
# Every test gets a private $T (temp dir, removed at exit), a config
# $T/coffer.conf whose state folder is $T/var, and $COFFER, $COFFERD
# pointing at the built binaries.  store_init makes a store in $T/store.

TOP=$(pwd)
O=${O:-build}
case "$O" in /*) ;; *) O="$TOP/$O" ;; esac
COFFER="$O/coffer"
COFFERD="$O/cofferd"
SFTP_ENGINE="$O/sftp-engine"
T=$(mktemp -d /tmp/coffer-test.XXXXXX)
chmod 755 "$T"
COFFER_CONF="$T/coffer.conf"
export COFFER_CONF
_passed=0
_failed=0
_pids=""

cat >"$COFFER_CONF" <<CONF
state_dir = "$T/var";
listen_address = "127.0.0.1";
log_level = "debug";
refresh_seconds = 1;
login_grace_time = 20;
CONF

cleanup() {
	for p in $_pids; do kill "$p" 2>/dev/null; done
	sleep 0.1
	for p in $_pids; do kill -9 "$p" 2>/dev/null; done
	if [ -n "${KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { _passed=$((_passed + 1)); echo "ok - $*"; }
notok() { _failed=$((_failed + 1)); echo "not ok - $*"; }
check() {
	_d=$1; shift
	if "$@" >"$T/.last" 2>&1; then ok "$_d"; else
		notok "$_d"; sed 's/^/#   /' "$T/.last" | head -n 20; fi
}
check_fail() {
	_d=$1; shift
	if "$@" >"$T/.last" 2>&1; then notok "$_d (unexpectedly succeeded)"
		sed 's/^/#   /' "$T/.last" | head -n 20; else ok "$_d"; fi
}
eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		notok "$1: got [$2] want [$3]"; fi
}
contains() {
	case "$2" in *"$3"*) ok "$1" ;; *) notok "$1: [$2] lacks [$3]" ;; esac
}
lacks() {
	case "$2" in *"$3"*) notok "$1: [$2] contains [$3]" ;; *) ok "$1" ;; esac
}
done_testing() {
	echo "# $_passed passed, $_failed failed"
	[ "$_failed" = 0 ]
	exit $?
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# A tree's listing with sizes and hashes, to prove "nothing changed".
snapshot() {
	(cd "$1" && find . -printf '%p %y %s %m %l\n' | sort &&
		find . -type f -exec sha256sum {} + | sort)
}

store_init() {
	# store_init [SIZE] — a store in $T/store, admin "admin".
	mkdir -p "$T/store"
	"$COFFER" init --root "$T/store" --size "${1:-1G}" --admin admin \
		>/dev/null || { notok "coffer init"; done_testing; }
}

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_gateway — cofferd on a free port; sets $PORT, log in $T/cofferd.log.
start_gateway() {
	PORT=$(free_port)
	"$COFFERD" -p "$PORT" "$@" >"$T/cofferd.log" 2>&1 &
	_gw_pid=$!
	_pids="$_pids $_gw_pid"
	_i=0
	while [ $_i -lt 100 ]; do
		if grep -q 'listening on' "$T/cofferd.log" 2>/dev/null; then
			return 0; fi
		if ! kill -0 $_gw_pid 2>/dev/null; then break; fi
		sleep 0.1; _i=$((_i + 1))
	done
	notok "cofferd did not start"; cat "$T/cofferd.log"; done_testing
}
stop_gateway() {
	kill "$_gw_pid" 2>/dev/null
	_i=0
	while kill -0 "$_gw_pid" 2>/dev/null && [ $_i -lt 50 ]; do
		sleep 0.1; _i=$((_i + 1)); done
	kill -9 "$_gw_pid" 2>/dev/null
	wait "$_gw_pid" 2>/dev/null
}

# A key pair for tests, $T/id_ed25519, and ssh/sftp options.
make_key() {
	[ -f "$T/${1:-id_ed25519}" ] ||
		ssh-keygen -q -t ed25519 -N '' -C test -f "$T/${1:-id_ed25519}"
}
ssh_opts() {
	echo "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null" \
	     "-o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=10" \
	     "-o IdentitiesOnly=yes -i $T/${1:-id_ed25519}"
}
# add_user NAME [coffer add flags...] — an account with the test key.
add_user() {
	make_key
	_n=$1; shift
	"$COFFER" add "$_n" --key "$T/id_ed25519.pub" "$@" >/dev/null ||
		notok "coffer add $_n"
}
# sftp_b USER BATCHFILE-CONTENT — run sftp -b with commands from stdin.
sftp_b() {
	_u=$1; shift
	# shellcheck disable=SC2046
	sftp -P "$PORT" $(ssh_opts) -b - "$@" "$_u@127.0.0.1"
}
# Fails the test if the gateway log shows a sanitizer report or a crash.
check_log_clean() {
	if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer|SUMMARY: ' \
		"$T/cofferd.log" 2>/dev/null; then
		notok "sanitizer report in cofferd log"
		grep -A 30 -E 'AddressSanitizer|runtime error:' "$T/cofferd.log" |
			head -n 60 | sed 's/^/#   /'
	else ok "cofferd log has no sanitizer report"; fi
}
