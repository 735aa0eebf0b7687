#!/bin/sh
# Exact SFTP protocol cases with python3-paramiko (tests/e2e/protocol.py):
# offsets, truncate, attributes, extensions, unknown and malformed
# requests, frame limits, handle and READDIR bounds, pipelining.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 100M
add_user alice
conf_set max_handles 8
start_gateway
A="$T/store/alice"
K="$T/id_ed25519"

for c in offsets truncate attrs unknown extensions pipeline readdir special; do
	extra=""
	[ "$c" = extensions ] && extra=104857600
	run_py "$c" "$PORT" alice "$K" "$A" $extra
done
run_py handles "$PORT" alice "$K" "$A" 8
run_py malformed "$PORT" alice "$K" "$A"

check_log "log: an oversized frame is logged" 'bad frame length 262145'
check_log "log: a malformed frame is logged" 'malformed frame'
check_log "log: a handle left open is closed with its totals" \
	'close "/left-open" read=0 written=5'
eq "on disk: the file left open holds what was written" \
	"$(cat "$A/left-open" 2>&1)" 12345
check_log "log: unsupported requests are logged" 'unsupported request type'
check_sessions_closed "every session ended through its orderly close"
check "the listener is still up" kill -0 "$_gw_pid"
check_log_clean
done_testing
