#!/bin/sh
# The SFTP engine without network: OpenSSH's `sftp -D` runs the real
# client against sftp-engine (stdin/stdout) rooted at a temp folder.
. tests/lib/lib.sh

R="$T/root"
mkdir -p "$R" "$T/local" "$T/canary"
echo "host secret" >"$T/canary/secret"
head -c 3000000 /dev/urandom >"$T/local/big"
echo hello >"$R/a.txt"
ln -s "$T/canary/secret" "$R/planted"
canary_before=$(snapshot "$T/canary")
eng() { sftp -D "$SFTP_ENGINE $*" -b - 2>&1; }

out=$(printf 'pwd\n' | eng "$R")
contains "pwd is /" "$out" "Remote working directory: /"
out=$(printf 'ls -l\n' | eng "$R")
contains "ls -l lists a.txt" "$out" "a.txt"

printf 'put %s/local/big big\nget big %s/local/back\n' "$T" "$T" | eng "$R" >/dev/null
eq "put lands on disk intact" "$(sha "$R/big")" "$(sha "$T/local/big")"
eq "get returns it intact" "$(sha "$T/local/back")" "$(sha "$T/local/big")"

printf 'mkdir d\nrename big d/moved\nchmod 600 d/moved\n' | eng "$R" >/dev/null
check "mkdir + rename on disk" test -f "$R/d/moved"
eq "chmod on disk" "$(stat -c %a "$R/d/moved")" "600"
printf 'ln d/moved hard\n' | eng "$R" >/dev/null
eq "hardlink: 2 links on disk" "$(stat -c %h "$R/hard")" "2"
printf 'symlink /etc/passwd evil\n' | eng "$R" >/dev/null
eq "symlink stored as given" "$(readlink "$R/evil")" "/etc/passwd"

# Escapes: nothing outside the root is reachable.
rm -f "$T/local/leak"*
printf 'get /etc/passwd %s/local/leak1\n' "$T" | eng "$R" >/dev/null
check_fail "get /etc/passwd finds nothing" test -s "$T/local/leak1"
printf 'get ../../../../etc/passwd %s/local/leak2\n' "$T" | eng "$R" >/dev/null
check_fail "get ../../etc/passwd finds nothing" test -s "$T/local/leak2"
printf 'get evil %s/local/leak3\n' "$T" | eng "$R" >/dev/null
check_fail "symlink to /etc/passwd resolves inside the root" test -s "$T/local/leak3"
printf 'get planted %s/local/leak4\n' "$T" | eng "$R" >/dev/null
check_fail "planted symlink out resolves inside the root" test -s "$T/local/leak4"
printf 'cd ..\npwd\n' | eng "$R" >"$T/out"
contains "cd .. from / stays at /" "$(cat "$T/out")" "Remote working directory: /"
printf 'put %s/local/big ../../escaped\n' "$T" | eng "$R" >/dev/null
check_fail "put ../../x does not land outside" test -e "$T/escaped"
check "put ../../x lands inside the root" test -f "$R/escaped"
printf 'rename a.txt ../../../moved-out\n' | eng "$R" >/dev/null
check_fail "rename out does not leave the root" test -e "$T/moved-out"
eq "canary folder untouched" "$(snapshot "$T/canary")" "$canary_before"

# Read-only: listing and download work, every write refused, tree intact.
before=$(snapshot "$R")
out=$(printf 'ls\n' | eng -r "$R")
contains "read-only: ls works" "$out" "hard"
printf 'get hard %s/local/ro\n' "$T" | eng -r "$R" >/dev/null
check "read-only: get works" test -s "$T/local/ro"
for cmd in "put $T/local/big x" "mkdir x" "rmdir d" "rm hard" \
    "rename hard h2" "chmod 700 hard" "symlink a l2" "ln hard h3"; do
	out=$(printf '%s\n' "$cmd" | eng -r "$R")
	case "$out" in
	*"ermission denied"*|*"read-only"*|*Failure*) ok "read-only refuses: $cmd" ;;
	*) notok "read-only refuses: $cmd: $out" ;;
	esac
done
eq "read-only: tree unchanged" "$(snapshot "$R")" "$before"
done_testing
