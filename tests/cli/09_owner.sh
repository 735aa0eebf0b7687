#!/bin/sh
# Run as root with `user` set, the folders coffer makes belong to the
# service user the gateway runs as (else the gateway could not write in
# them); folders that already existed keep their owner.
. tests/lib/lib.sh
. tests/cli/cli_lib.inc

if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
	ok "skipped: needs root and a 'nobody' user"
	done_testing
fi
echo 'user = "nobody";' >>"$COFFER_CONF"
NOBODY=$(id -u nobody)

run "$COFFER" init --root "$T/store" --size 1G --admin admin
eq "init exits 0" "$RC" 0
eq "a tree root made by init belongs to the service user" \
    "$(stat -c %u "$T/store")" "$NOBODY"
eq "the state folder stays root's" "$(stat -c %u "$T/var")" 0
check "add" "$COFFER" add bob
eq "a home folder belongs to the service user" \
    "$(stat -c %u "$T/store/bob")" "$NOBODY"
check "add with a nested new folder" "$COFFER" add carol --folder /a/b/carol
for d in a a/b a/b/carol; do
	eq "made folder /$d belongs to the service user" \
	    "$(stat -c %u "$T/store/$d")" "$NOBODY"
done
mkdir "$T/store/mine"
check "add on an existing folder" "$COFFER" add dave --folder /mine
eq "an existing folder keeps its owner" "$(stat -c %u "$T/store/mine")" 0
check "set --folder to a new folder" "$COFFER" set dave --folder /new
eq "set --folder: the new folder belongs to the service user" \
    "$(stat -c %u "$T/store/new")" "$NOBODY"

# A service user that does not exist: a warning, root keeps the folder.
sed -i 's/user = "nobody";/user = "no-such-user-xyz";/' "$COFFER_CONF"
run "$COFFER" add erin
eq "missing service user: add still works" "$RC" 0
contains "missing service user: warned" "$ERR" "no-such-user-xyz"
eq "missing service user: root keeps the folder" \
    "$(stat -c %u "$T/store/erin")" 0

done_testing
