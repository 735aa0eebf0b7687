#!/bin/sh
# coffer remove [--purge]: the folder is kept unless purged, and a purge
# never deletes a folder another account uses, the store root, or
# anything outside the tree.
. tests/lib/lib.sh
. tests/cli/cli_lib.inc

store_init 1G 2>/dev/null
add() { "$COFFER" add "$@" >/dev/null 2>&1 || notok "add $*"; }
add bob
add carol
add team --folder /team
add tina --folder /team/tina
add tom --folder /team
add wide --folder /
keyfile k1
"$COFFER" key add carol "$T/k1.pub" >/dev/null
echo hello >"$T/store/bob/file"
used() { "$COFFER" usage --json | jget 'j["store"]["used"]'; }

# Plain remove: the account goes, its folder stays.
run "$COFFER" remove BOB
eq "remove (any case) exits 0" "$RC" 0
contains "remove says the folder is kept" "$OUT" "kept"
eq "bob is gone" "$(sqlite3 "$DB" "SELECT COUNT(*) FROM accounts WHERE name='bob'")" 0
check "bob's folder kept" test -f "$T/store/bob/file"
refused "remove again" 1 "$COFFER" remove bob
eq "unknown account explained" "$ERR" "coffer: remove: no account 'bob'"

# Refusals.
refused "remove the main account" 1 "$COFFER" remove admin
contains "main account explained" "$ERR" "main account"
refused "remove the main account, --purge --yes" 1 "$COFFER" remove admin \
    --purge --yes
refused "--purge without --yes off a terminal" 2 "$COFFER" remove carol \
    --purge
contains "--yes asked for" "$ERR" "--yes"
refused "--purge of a folder another account uses" 1 "$COFFER" remove team \
    --purge --yes
contains "sharing explained" "$ERR" "used by account"
refused "--purge of a folder holding another account's" 1 "$COFFER" remove \
    tom --purge --yes
add outer --folder /outer
add inner --folder /outer/in
refused "--purge of a folder with only a nested account in it" 1 \
    "$COFFER" remove outer --purge --yes
contains "nested account named" "$ERR" "'inner' (inside it)"
refused "--purge of the store root" 1 "$COFFER" remove wide --purge --yes
contains "root explained" "$ERR" "store root"
refused "no name" 2 "$COFFER" remove
refused "two names" 2 "$COFFER" remove carol tom
refused "unknown option" 2 "$COFFER" remove carol --force

# --purge --yes: folder and content go, symlinks are not followed, the
# usage figures follow.
mkdir -p "$T/outside" "$T/store/carol/sub/deeper"
echo keep-me >"$T/outside/precious"
head -c 100000 /dev/zero >"$T/store/carol/sub/deeper/f"
head -c 2345 /dev/zero >"$T/store/carol/g"
ln -s "$T/outside" "$T/store/carol/link"
ln -s "$T/outside/precious" "$T/store/carol/sub/flink"
"$COFFER" rescan >/dev/null
u0=$(used)
run "$COFFER" remove carol --purge --yes
eq "--purge --yes exits 0" "$RC" 0
contains "--purge reports the folder deleted" "$OUT" "deleted folder /carol"
check_fail "carol's folder is gone" test -e "$T/store/carol"
check "a symlink's target outside is untouched" test -f "$T/outside/precious"
eq "the target's content too" "$(cat "$T/outside/precious")" keep-me
eq "carol's keys gone" "$(sqlite3 "$DB" "SELECT COUNT(*) FROM keys")" 0
eq "store usage dropped by what was deleted" "$(used)" $((u0 - 102345))
"$COFFER" rescan >/dev/null
eq "and agrees with a rescan" "$(used)" $((u0 - 102345))

# Purging a nested account's folder is fine; the outer one stays.
echo x >"$T/store/team/tina/t"
run "$COFFER" remove tina --purge --yes
eq "--purge of a folder inside another account's" "$RC" 0
check_fail "tina's folder gone" test -e "$T/store/team/tina"
check "team's folder stays" test -d "$T/store/team"

# A folder replaced behind Coffer's back by a symlink out, or by a file:
# --purge refuses, and touches nothing outside.
add esc
add filed
rmdir "$T/store/esc" "$T/store/filed"
ln -s "$T/outside" "$T/store/esc"
echo f >"$T/store/filed"
refused "--purge of a folder that is now a symlink out" 1 "$COFFER" remove \
    esc --purge --yes
contains "symlink out explained" "$ERR" "outside the store"
check "the symlink's target is untouched" test -f "$T/outside/precious"
refused "--purge of a folder that is now a file" 1 "$COFFER" remove filed \
    --purge --yes
"$COFFER" remove esc >/dev/null
"$COFFER" remove filed >/dev/null

# On a terminal, --purge asks.
add dora
echo d >"$T/store/dora/d"
state >"$T/.before"
run on_tty n -- "$COFFER" remove dora --purge
state >"$T/.after"
eq "terminal: answering n exits 1" "$RC" 1
contains "terminal: asked" "$OUT" "[y/N]"
check "terminal: answering n changed nothing" cmp -s "$T/.before" "$T/.after"
run on_tty y -- "$COFFER" remove dora --purge
eq "terminal: answering y exits 0" "$RC" 0
check_fail "terminal: dora's folder gone" test -e "$T/store/dora"

# An account added to the folder while --purge waits at its prompt keeps
# the folder: the check is made again after the account is gone.
add ed
echo e >"$T/store/ed/e"
out=$(/usr/bin/python3 - "$COFFER" <<'PY'
import os, pty, select, subprocess, sys
coffer = sys.argv[1]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(coffer, [coffer, "remove", "ed", "--purge"])
seen = b""
while b"[y/N] " not in seen:
    if not select.select([fd], [], [], 10)[0]:
        break
    seen += os.read(fd, 4096)
subprocess.run([coffer, "add", "eve", "--folder", "/ed"],
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.write(fd, b"y\n")
while True:
    try:
        c = os.read(fd, 4096)
    except OSError:
        break
    if not c:
        break
    seen += c
_, st = os.waitpid(pid, 0)
print(seen.decode(errors="replace"))
print("status", os.WEXITSTATUS(st))
PY
)
contains "purge race: refused with a reason" "$out" "now uses it"
contains "purge race: exit 1" "$out" "status 1"
eq "purge race: the folder and its file stay" "$(cat "$T/store/ed/e" 2>&1)" e
check_fail "purge race: ed is removed" "$COFFER" show ed
check "purge race: eve keeps the folder" "$COFFER" show eve
"$COFFER" remove eve >/dev/null

# The account list at the end.
eq "remaining accounts" \
    "$(sqlite3 "$DB" "SELECT group_concat(name, ' ') FROM (SELECT name FROM accounts ORDER BY name)")" \
    "admin inner outer team tom wide"

done_testing
