#!/usr/bin/python3
"""Quota cases against a running cofferd, byte-exact, checked on disk.

    quota.py session PORT USER KEY HOSTDIR   < script
    quota.py disk-matches LABEL [over-ok]    (needs $COFFER, $COFFER_CONF)

session: one paramiko SFTP session runs a script read from stdin, one
step a line (shell-like quoting, "#" starts a comment line):

    ok OP ARGS...          OP must succeed
    fail REGEX OP ARGS...  OP must fail with a message matching REGEX
                           (the SFTP status text the server sent)
    any OP ARGS...         OP succeeds or fails with "quota exceeded"
                           (sessions racing for the same space)
    within SECS ok|fail... retry the step until it holds (live changes)
    disk PATH SIZE         st_size of HOSTDIR/PATH on the host
    gone PATH              HOSTDIR/PATH does not exist on the host
    pattern PATH OFF LEN   those bytes on the host are the test pattern
    dusum SIZE             sum of st_size of the files under HOSTDIR
    used NAME N / avail NAME N   `coffer usage --json` figures
    sh CMD                 a shell command must exit 0 (e.g. coffer set)

OPs: write PATH OFF LEN [CHUNK] (no truncate; creates), put PATH LEN
[CHUNK [DELAY]] (truncates first; DELAY seconds after each request),
append PATH LEN, opentrunc PATH, trunc PATH
SIZE (SETSTAT), ftrunc PATH SIZE (FSETSTAT), rename A B (SFTP v3),
prename A B (posix-rename), link A B (hardlink@openssh.com), copy SRC DST
WOFF (copy-data, all of SRC), rm PATH, mkdir PATH, statvfs PATH TOTAL
AVAIL (statvfs@openssh.com: f_blocks and f_bavail in bytes).
Handles kept open across steps: hopen H PATH (read-write, created, not
truncated), hwrite H OFF LEN [CHUNK], htrunc H SIZE (FSETSTAT), hclose H.

Written data is a pattern: the byte at file offset p is p % 251, so
whatever landed can be checked on disk wherever it came from.

disk-matches: every account's `used` in `coffer usage --json` and
`coffer list --json`, and the store's, equal the sum of st_size of the
regular files under its folder on disk, and (unless over-ok: files put
there by hand) no folder holds more than its limit.

Each check prints "ok - ..." or "not ok - ..."; run with /usr/bin/python3
(python3-paramiko).
"""
import json
import os
import re
import shlex
import socket
import stat
import subprocess
import sys
import time

import paramiko
from paramiko.py3compat import long
from paramiko.sftp import (CMD_EXTENDED, CMD_HANDLE, CMD_OPEN,
                           SFTP_FLAG_CREATE, SFTP_FLAG_READ,
                           SFTP_FLAG_WRITE)
from paramiko.sftp_attr import SFTPAttributes
from paramiko.sftp_file import SFTPFile

failed = 0


def check(cond, desc, detail=None):
    global failed
    if cond:
        print("ok - " + desc)
    else:
        failed += 1
        print("not ok - " + desc)
        if detail is not None:
            print("#   " + str(detail))
    sys.stdout.flush()
    return cond


def pattern(off, n):
    """The test pattern for file offsets off .. off+n-1."""
    base = bytes(range(251))
    start = off % 251
    reps = (start + n) // 251 + 1
    return (base * reps)[start:start + n]


def connect(port, user, key):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    t = paramiko.Transport(sock)
    t.start_client(timeout=10)
    k = None
    for cls in (paramiko.Ed25519Key, paramiko.RSAKey, paramiko.ECDSAKey):
        try:
            k = cls.from_private_key_file(key)
            break
        except (paramiko.SSHException, ValueError):
            continue
    t.auth_publickey(user, k)
    return t, paramiko.SFTPClient.from_transport(t)


def open_nt(sftp, path):
    """Open for writing, creating it, without truncating (paramiko's
    modes have no such combination)."""
    t, msg = sftp._request(CMD_OPEN, path, SFTP_FLAG_READ | SFTP_FLAG_WRITE |
                           SFTP_FLAG_CREATE, SFTPAttributes())
    if t != CMD_HANDLE:
        raise IOError("expected a handle")
    return SFTPFile(sftp, msg.get_binary(), "r+", 0)


def write_all(f, off, n, chunk, delay=0.0):
    """Writes the pattern at off, one WRITE request per chunk."""
    f.MAX_REQUEST_SIZE = chunk
    done = 0
    while done < n:
        c = min(chunk, n - done)
        f.seek(off + done)
        f.write(pattern(off + done, c))
        done += c
        if delay:
            time.sleep(delay)


handles = {}


def op(sftp, argv):
    name, a = argv[0], argv[1:]
    if name == "hopen":
        handles[a[0]] = open_nt(sftp, a[1])
    elif name == "hwrite":
        write_all(handles[a[0]], int(a[1]), int(a[2]),
                  int(a[3]) if len(a) > 3 else 32768)
    elif name == "htrunc":
        handles[a[0]].truncate(int(a[1]))
    elif name == "hclose":
        handles.pop(a[0]).close()
    elif name == "write":
        f = open_nt(sftp, a[0])
        try:
            write_all(f, int(a[1]), int(a[2]),
                      int(a[3]) if len(a) > 3 else 32768)
        finally:
            f.close()
    elif name == "put":
        f = sftp.open(a[0], "w", 0)
        try:
            write_all(f, 0, int(a[1]), int(a[2]) if len(a) > 2 else 32768,
                      float(a[3]) if len(a) > 3 else 0.0)
        finally:
            f.close()
    elif name == "append":
        size = sftp.stat(a[0]).st_size if exists(sftp, a[0]) else 0
        f = sftp.open(a[0], "a", 0)
        try:
            f.MAX_REQUEST_SIZE = 32768
            n = int(a[1])
            f.write(pattern(size, n))
        finally:
            f.close()
    elif name == "opentrunc":
        sftp.open(a[0], "w").close()
    elif name == "trunc":
        sftp.truncate(a[0], int(a[1]))
    elif name == "ftrunc":
        f = sftp.open(a[0], "r+", 0)
        try:
            f.truncate(int(a[1]))
        finally:
            f.close()
    elif name == "rename":
        sftp.rename(a[0], a[1])
    elif name == "prename":
        sftp.posix_rename(a[0], a[1])
    elif name == "link":
        sftp._request(CMD_EXTENDED, "hardlink@openssh.com", a[0], a[1])
    elif name == "copy":
        r = sftp.open(a[0], "r", 0)
        w = open_nt(sftp, a[1])
        try:
            sftp._request(CMD_EXTENDED, "copy-data", r.handle, long(0),
                          long(0), w.handle, long(int(a[2])))
        finally:
            r.close()
            w.close()
    elif name == "rm":
        sftp.remove(a[0])
    elif name == "mkdir":
        sftp.mkdir(a[0])
    elif name == "statvfs":
        t, msg = sftp._request(CMD_EXTENDED, "statvfs@openssh.com", a[0])
        v = [msg.get_int64() for _ in range(11)]
        frsize, blocks, bavail = v[1], v[2], v[4]
        got = (blocks * frsize, bavail * frsize)
        want = (int(a[1]), int(a[2]))
        if got != want:
            raise AssertionError("statvfs total/avail %r, want %r" %
                                 (got, want))
    else:
        raise SystemExit("unknown op " + name)


def exists(sftp, path):
    try:
        sftp.stat(path)
        return True
    except IOError:
        return False


def step(sftp, toks):
    """Runs one ok/fail step; returns (held, detail)."""
    if toks[0] == "ok":
        try:
            op(sftp, toks[1:])
            return True, None
        except (IOError, OSError, AssertionError) as e:
            return False, "failed: %s" % e
    if toks[0] == "any":
        try:
            op(sftp, toks[1:])
            return True, None
        except (IOError, OSError) as e:
            return str(e).startswith("quota exceeded: "), "failed: %s" % e
    regex = toks[1]
    try:
        op(sftp, toks[2:])
        return False, "succeeded"
    except (IOError, OSError) as e:
        msg = str(e)
        return re.search(regex, msg) is not None, "message %r" % msg


def usage():
    out = subprocess.run([os.environ["COFFER"], "usage", "--json"],
                         stdout=subprocess.PIPE, check=True).stdout
    return json.loads(out)


def acct_field(name, field):
    for a in usage()["accounts"]:
        if a["name"] == name:
            return a[field]
    return None


def disk_sum(path):
    """Sum of st_size of the regular files under path (find(1): any
    depth, no symlink followed)."""
    out = subprocess.run(["find", path, "-type", "f", "-printf", "%s\\n"],
                         stdout=subprocess.PIPE, check=True).stdout
    return sum(int(x) for x in out.split())


def session(port, user, key, hostdir):
    t, sftp = connect(port, user, key)
    for line in sys.stdin:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        toks = shlex.split(line)
        d = "%s: %s" % (user, line)
        if toks[0] in ("ok", "fail", "any"):
            held, detail = step(sftp, toks)
            check(held, d, detail)
        elif toks[0] == "within":
            end = time.time() + float(toks[1])
            while True:
                held, detail = step(sftp, toks[2:])
                if held or time.time() > end:
                    break
                time.sleep(0.2)
            check(held, d, detail)
        elif toks[0] == "disk":
            p = hostdir + "/" + toks[1].lstrip("/")
            got = os.lstat(p).st_size if os.path.lexists(p) else None
            check(got == int(toks[2]), d, "st_size %r" % got)
        elif toks[0] == "gone":
            check(not os.path.lexists(hostdir + "/" + toks[1].lstrip("/")),
                  d)
        elif toks[0] == "pattern":
            p = hostdir + "/" + toks[1].lstrip("/")
            off, n = int(toks[2]), int(toks[3])
            with open(p, "rb") as f:
                f.seek(off)
                got = f.read(n)
            check(got == pattern(off, n), d, "%d bytes differ" % sum(
                1 for x, y in zip(got, pattern(off, n)) if x != y))
        elif toks[0] == "dusum":
            got = disk_sum(hostdir)
            check(got == int(toks[1]), d, "sum of st_size %d" % got)
        elif toks[0] in ("used", "avail"):
            got = acct_field(toks[1], "used" if toks[0] == "used"
                             else "available")
            check(got == int(toks[2]), d, "coffer usage says %r" % got)
        elif toks[0] == "sh":
            r = subprocess.run(toks[1:], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            check(r.returncode == 0, d, r.stdout.decode(errors="replace"))
        else:
            raise SystemExit("unknown step: " + line)
    sftp.close()
    t.close()


def disk_matches(label, over_ok=False):
    u = usage()
    root = u["store"]["root"]
    lst = json.loads(subprocess.run(
        [os.environ["COFFER"], "list", "--json"], stdout=subprocess.PIPE,
        check=True).stdout)
    listed = dict((a["name"], a["used"]) for a in lst)
    total = disk_sum(root)
    check(u["store"]["used"] == total, "%s: store used = disk (%d)" %
          (label, total), "coffer usage says %d" % u["store"]["used"])
    for a in u["accounts"]:
        d = disk_sum(root + ("" if a["folder"] == "/" else a["folder"]))
        check(a["used"] == d and listed.get(a["name"]) == d,
              "%s: %s used = disk (%d)" % (label, a["name"], d),
              "usage %d, list %r" % (a["used"], listed.get(a["name"])))
        if a["limit"] and not over_ok:
            check(d <= a["limit"], "%s: %s on disk within its limit" %
                  (label, a["name"]), "%d > %d" % (d, a["limit"]))
    if u["store"]["size"] and not over_ok:
        check(total <= u["store"]["size"], "%s: store on disk within its "
              "size" % label, "%d > %d" % (total, u["store"]["size"]))


def main():
    try:
        if sys.argv[1:2] == ["session"] and len(sys.argv) == 6:
            session(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
        elif sys.argv[1:2] == ["disk-matches"] and len(sys.argv) == 3:
            disk_matches(sys.argv[2])
        elif sys.argv[1:2] == ["disk-matches"] and sys.argv[3:] == [
                "over-ok"]:
            disk_matches(sys.argv[2], True)
        else:
            print(__doc__)
            return 2
    except Exception as e:  # a crash of the test is a failure
        import traceback
        traceback.print_exc(file=sys.stdout)
        check(False, "quota.py: unexpected %s: %s" % (type(e).__name__, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
