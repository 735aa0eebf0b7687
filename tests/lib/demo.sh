#!/bin/sh
# `make run`: a demo store in ./var (made once), then cofferd in the
# foreground on 127.0.0.1:2222.  Ctrl-C stops it; `rm -rf var` starts over.
set -e
O=${O:-build}
COFFER="$O/coffer"
COFFERD="$O/cofferd"
unset COFFER_CONF
mkdir -p var
if [ ! -f var/coffer.db ]; then
	mkdir -p var/store
	"$COFFER" init --root var/store --size 10G --admin admin >/dev/null \
		2>var/init.log || { cat var/init.log; exit 1; }
	pw=$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')
	(umask 077 && printf '%s\n' "$pw" >var/demo-password)
	printf '%s\n' "$pw" | "$COFFER" add demo --quota 1G --password-stdin \
		>/dev/null
	echo "Created a demo store in ./var (10 GiB) with the account 'demo'" \
	     "(quota 1 GiB)."
fi
pw=$(cat var/demo-password 2>/dev/null || echo '(see coffer passwd demo)')
cat <<MSG

  Coffer is starting on 127.0.0.1 port 2222.  Connect with:

      sftp -P 2222 demo@127.0.0.1          password: $pw
      scp -P 2222 FILE demo@127.0.0.1:

  Manage accounts in another terminal:  $COFFER list   ($COFFER --help)
  Stop with Ctrl-C.

MSG
exec "$COFFERD"
