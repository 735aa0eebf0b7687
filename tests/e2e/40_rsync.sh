#!/bin/sh
# rsync over ssh against cofferd's own rsync server: a tree up (empty
# folders, symlinks, spaces, UTF-8), re-sync after changes, --delete,
# dry run, download, listing, checked byte for byte on disk.
. tests/lib/lib.sh
. tests/e2e/e2e_lib.inc

store_init 1G
add_user alice
start_gateway
A="$T/store/alice"
L="$T/local"
D="$T/dl"
H=alice@127.0.0.1
# shellcheck disable=SC2046,SC2086
rs() { rsync -e "ssh -p $PORT $(ssh_opts)" "$@"; }
# tree_sums DIR — every file's path, type, mode, size, mtime and sha256.
tree_sums() {
	(cd "$1" && find . -mindepth 1 \( -type f -printf '%p f %m %s %T@\n' \
		-o -type d -printf '%p d %m\n' \
		-o -type l -printf '%p l %l\n' \) |
		sort && find . -type f -exec sha256sum {} + | sort)
}
same_tree() {
	tree_sums "$1" >"$T/.a"
	tree_sums "$2" >"$T/.b"
	if cmp -s "$T/.a" "$T/.b"; then ok "$3"; else
		notok "$3"
		diff "$T/.a" "$T/.b" | head -n 20 | sed 's/^/#   /'
	fi
}

mkdir -p "$L/src/sub/deep" "$L/src/empty" "$L/src/with space/inner" \
	"$L/src/ünïcødé"
echo hello >"$L/src/a"
head -c 300000 /dev/urandom >"$L/src/sub/big"
head -c 0 /dev/urandom >"$L/src/zero"
echo spaced >"$L/src/with space/f i l e"
echo utf >"$L/src/ünïcødé/naïve ☃"
i=0
while [ $i -lt 50 ]; do
	head -c $((i * 131)) /dev/urandom >"$L/src/sub/deep/n$i"
	i=$((i + 1))
done
ln -s a "$L/src/link"
ln -s ../a "$L/src/sub/uplink"
ln -s /nonexistent/target "$L/src/dangling"
chmod 640 "$L/src/a"
chmod 750 "$L/src/sub"
touch -d '2019-05-06 07:08:09.123456789' "$L/src/sub/big"

# -- upload ---------------------------------------------------------------
check "rsync -a uploads a tree" rs -a "$L/src/" "$H:backup/"
same_tree "$L/src" "$A/backup" \
	"upload: every file, folder, link, mode, mtime and sha256 on disk"
check_log "log: the upload's files were closed with their sizes" \
	'rsync: received "backup/sub/big" written=300000'
eq "no temporary file left behind" \
	"$(find "$A" -name '.*.??????' | wc -l)" 0

# -- re-sync: unchanged files are skipped, changes go across -------------
out=$(rs -ai "$L/src/" "$H:backup/" 2>&1)
eq "re-sync of an unchanged tree transfers nothing" "$out" ""
echo changed >"$L/src/a"
head -c 1000 /dev/urandom >>"$L/src/sub/big"
echo new >"$L/src/sub/new file"
out=$(rs -av "$L/src/" "$H:backup/" 2>&1)
contains "re-sync sends the changed file" "$out" "
a
"
contains "re-sync sends the appended file" "$out" "sub/big"
contains "re-sync sends the new file" "$out" "sub/new file"
lacks "re-sync skips unchanged files" "$out" "sub/deep/n7"
same_tree "$L/src" "$A/backup" "re-sync: the tree on disk matches again"

# -- dry run, then --delete -------------------------------------------------
echo extra >"$A/backup/extra"
mkdir -p "$A/backup/olddir/x"
echo x >"$A/backup/olddir/x/y"
echo keep >"$A/backup/keep.log"
snapshot "$A" >"$T/before"
out=$(rs -avn --delete --exclude '*.log' "$L/src/" "$H:backup/" 2>&1)
contains "dry run reports the deletion" "$out" "deleting extra"
contains "dry run says so" "$out" "(DRY RUN)"
snapshot "$A" >"$T/after"
check "dry run changed nothing on disk" cmp -s "$T/before" "$T/after"
out=$(rs -av --delete --exclude '*.log' "$L/src/" "$H:backup/" 2>&1)
contains "--delete reports what it removed" "$out" "deleting olddir/x/y"
check_fail "--delete removed the extra file" test -e "$A/backup/extra"
check_fail "--delete removed the extra folder" test -e "$A/backup/olddir"
check "--delete kept the excluded file" test -f "$A/backup/keep.log"
rm -f "$A/backup/keep.log"
same_tree "$L/src" "$A/backup" "after --delete the trees are identical"

# -- download and listing ----------------------------------------------------
check "rsync -a downloads the tree" rs -a "$H:backup/" "$D/"
same_tree "$A/backup" "$D" "download: identical to what the server holds"
out=$(rs -ai "$H:backup/" "$D/" 2>&1)
eq "re-download of an unchanged tree transfers nothing" "$out" ""
out=$(rs "$H:backup/" 2>&1)
contains "listing shows a file with its size" "$out" "              8 "
contains "listing shows a folder" "$out" "with space"
lacks "listing without -r stays at the top" "$out" "deep"
out=$(rs -rl "$H:backup/" 2>&1)
contains "recursive listing shows a nested file" "$out" " 301,000 "
contains "recursive listing shows a symlink" "$out" "link -> a"
out=$(rs -r "$H:backup/sub/deep/n3" "$D/n3" 2>&1)
eq "a single file downloads to a new name" "$(sha "$D/n3")" \
	"$(sha "$L/src/sub/deep/n3")"
out=$(rs -a "$H:backup/with space/f i l e" "$T/spaced" 2>&1)
eq "a name with spaces downloads" "$(cat "$T/spaced" 2>&1)" spaced

check_log_clean
done_testing
