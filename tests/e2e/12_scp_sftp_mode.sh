#!/bin/sh
# scp as OpenSSH 9.x runs it by default (over SFTP): files, -r trees,
# host:~/file, both ways, checked on disk.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 1G
add_user alice
start_gateway
A="$T/store/alice"
L="$T/local"
mkdir -p "$L/tree/a/b" "$L/tree/c" "$T/dl"
head -c 300000 /dev/urandom >"$L/f"
head -c 777 /dev/urandom >"$L/g"
i=0
while [ $i -lt 40 ]; do
	head -c $((i * 97)) /dev/urandom >"$L/tree/a/b/n$i"
	i=$((i + 1))
done
echo hello >"$L/tree/c/hello"
# shellcheck disable=SC2046
scp_() { scp -q -P "$PORT" $(ssh_opts) "$@"; }
H=alice@127.0.0.1

check "scp a file up to the home folder" scp_ "$L/f" "$H:"
eq "scp: the file on disk" "$(sha "$A/f" 2>&1)" "$(sha "$L/f")"
check "scp a file to host:~/name" scp_ "$L/g" "$H:~/g2"
eq "scp ~/name: on disk at the folder's top" "$(sha "$A/g2" 2>&1)" \
	"$(sha "$L/g")"
mkdir -p "$A/sub"
check "scp to host:~/sub/ (a folder)" scp_ "$L/g" "$H:~/sub/"
eq "scp ~/sub/: in the folder" "$(sha "$A/sub/g" 2>&1)" "$(sha "$L/g")"
check "scp to host:/abs/name" scp_ "$L/g" "$H:/sub/abs"
eq "scp /sub/abs: under the account's folder" "$(sha "$A/sub/abs" 2>&1)" \
	"$(sha "$L/g")"
check "scp two files to a folder" scp_ "$L/f" "$L/g" "$H:sub"
eq "scp two files: the first" "$(sha "$A/sub/f" 2>&1)" "$(sha "$L/f")"
check "scp -r a tree up" scp_ -r "$L/tree" "$H:"
check "scp -r: the tree on disk is identical" diff -r "$L/tree" "$A/tree"
eq "scp -r: every file arrived" "$(find "$A/tree" -type f | wc -l)" 41

check "scp a file down" scp_ "$H:f" "$T/dl/f"
eq "scp down: same bytes" "$(sha "$T/dl/f" 2>&1)" "$(sha "$L/f")"
check "scp host:~/file down" scp_ "$H:~/g2" "$T/dl/g2"
eq "scp ~/file down: same bytes" "$(sha "$T/dl/g2" 2>&1)" "$(sha "$L/g")"
check "scp -r a tree down" scp_ -r "$H:tree" "$T/dl/"
check "scp -r down: identical" diff -r "$L/tree" "$T/dl/tree"
check_fail "scp of a missing file fails" scp_ "$H:nope" "$T/dl/nope"
check_fail "nothing was made locally for it" test -e "$T/dl/nope"
check_fail "scp host:~other/x is not another account's" \
	scp_ "$H:~admin/f" "$T/dl/other"

check_log "scp went over SFTP" 'sftp session started'
if log_has 'refused exec|scp "'; then
	notok "scp used exec, not SFTP"
else ok "scp did not use exec"; fi
check_log_clean
done_testing
