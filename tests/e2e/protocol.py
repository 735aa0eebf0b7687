#!/usr/bin/python3
"""Exact SFTP and SSH protocol cases against a running cofferd.

    protocol.py CASE PORT USER CRED FOLDER [ARGS...]

CRED is the path of a private key, or "pw:PASSWORD".  FOLDER is the
account's folder on the host: what the server did is checked there, on
disk.  Each check prints "ok - ..." or "not ok - ..." (tests/e2e/e2e_lib.inc
turns them into results); anything else is a comment.  Run with the
Debian python3 (/usr/bin/python3), which has python3-paramiko.

Most cases talk SFTP through Raw, a bare client that sends exactly the
bytes it is given, so every status code and every malformed frame is in
the test's hands; paramiko's SFTPClient serves where plain use is enough.
"""
import hashlib
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
import time

import paramiko

FXP = dict(INIT=1, VERSION=2, OPEN=3, CLOSE=4, READ=5, WRITE=6, LSTAT=7,
           FSTAT=8, SETSTAT=9, FSETSTAT=10, OPENDIR=11, READDIR=12,
           REMOVE=13, MKDIR=14, RMDIR=15, REALPATH=16, STAT=17, RENAME=18,
           READLINK=19, SYMLINK=20, STATUS=101, HANDLE=102, DATA=103,
           NAME=104, ATTRS=105, EXTENDED=200, EXTENDED_REPLY=201)
FX_OK, FX_EOF, FX_NO_SUCH_FILE, FX_PERMISSION_DENIED, FX_FAILURE, \
    FX_BAD_MESSAGE, FX_OP_UNSUPPORTED = 0, 1, 2, 3, 4, 5, 8
F_READ, F_WRITE, F_APPEND, F_CREAT, F_TRUNC, F_EXCL = 1, 2, 4, 8, 16, 32
A_SIZE, A_UIDGID, A_PERM, A_TIMES, A_EXT = 1, 2, 4, 8, 0x80000000
MAX_FRAME = 256 * 1024

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


def eq(desc, got, want):
    return check(got == want, desc, "got %r want %r" % (got, want))


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def s(v):
    if isinstance(v, str):
        v = v.encode()
    return u32(len(v)) + v


def attrs(size=None, uidgid=None, perm=None, times=None, ext=None):
    flags, body = 0, b""
    if size is not None:
        flags |= A_SIZE
        body += u64(size)
    if uidgid is not None:
        flags |= A_UIDGID
        body += u32(uidgid[0]) + u32(uidgid[1])
    if perm is not None:
        flags |= A_PERM
        body += u32(perm)
    if times is not None:
        flags |= A_TIMES
        body += u32(times[0]) + u32(times[1])
    if ext is not None:
        flags |= A_EXT
        body += u32(len(ext))
        for k, v in ext:
            body += s(k) + s(v)
    return u32(flags) + body


class Reader:
    """Reads wire fields from a reply body."""

    def __init__(self, b):
        self.b, self.o = b, 0

    def u32(self):
        v = struct.unpack(">I", self.b[self.o:self.o + 4])[0]
        self.o += 4
        return v

    def u64(self):
        v = struct.unpack(">Q", self.b[self.o:self.o + 8])[0]
        self.o += 8
        return v

    def str(self):
        n = self.u32()
        v = self.b[self.o:self.o + n]
        self.o += n
        return v

    def attrs(self):
        a = {}
        f = self.u32()
        if f & A_SIZE:
            a["size"] = self.u64()
        if f & A_UIDGID:
            a["uid"], a["gid"] = self.u32(), self.u32()
        if f & A_PERM:
            a["perm"] = self.u32()
        if f & A_TIMES:
            a["atime"], a["mtime"] = self.u32(), self.u32()
        if f & A_EXT:
            for _ in range(self.u32()):
                self.str()
                self.str()
        return a


def load_key(path):
    for cls in (paramiko.Ed25519Key, paramiko.RSAKey, paramiko.ECDSAKey):
        try:
            return cls.from_private_key_file(path)
        except (paramiko.SSHException, ValueError):
            continue
    raise SystemExit("cannot load key " + path)


def transport(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    t = paramiko.Transport(sock)
    t.start_client(timeout=10)
    return t


def login(port, user, cred):
    t = transport(port)
    if cred.startswith("pw:"):
        t.auth_password(user, cred[3:])
    else:
        t.auth_publickey(user, load_key(cred))
    return t


class Closed(Exception):
    pass


class Raw:
    """A bare SFTP v3 client over one session channel."""

    def __init__(self, t, timeout=10, retry=True):
        self.t = t
        self.ch = new_session(t) if retry else t.open_session(timeout=5)
        self.ch.settimeout(timeout)
        self.ch.invoke_subsystem("sftp")
        self.id = 0
        self.frame(bytes([FXP["INIT"]]) + u32(3))
        typ, body = self.recv()
        assert typ == FXP["VERSION"], typ
        r = Reader(body)
        self.version = r.u32()
        self.ext = {}
        while r.o < len(body):
            k = r.str().decode()
            self.ext[k] = r.str().decode()

    def frame(self, payload):
        self.ch.sendall(u32(len(payload)) + payload)

    def readn(self, n):
        out = b""
        while len(out) < n:
            try:
                b = self.ch.recv(n - len(out))
            except socket.timeout:
                raise Closed("timeout")
            if not b:
                raise Closed("channel closed")
            out += b
        return out

    def recv(self):
        n = struct.unpack(">I", self.readn(4))[0]
        d = self.readn(n)
        return d[0], d[1:]

    def send(self, typ, payload=b""):
        """Sends one request; returns its id."""
        self.id += 1
        self.frame(bytes([typ]) + u32(self.id) + payload)
        return self.id

    def reply(self, want_id=None):
        typ, body = self.recv()
        rid = struct.unpack(">I", body[:4])[0]
        if want_id is not None and rid != want_id:
            raise AssertionError("reply id %d, want %d" % (rid, want_id))
        return typ, Reader(body[4:])

    def req(self, typ, payload=b""):
        return self.reply(self.send(typ, payload))

    def status(self, typ, payload=b""):
        """(code, message) of a request answered with STATUS; code -1
        and the reply type if something else came back."""
        t, r = self.req(typ, payload)
        if t != FXP["STATUS"]:
            return (-1, t)
        code = r.u32()
        return (code, r.str().decode(errors="replace"))

    def ext_status(self, name, payload=b""):
        return self.status(FXP["EXTENDED"], s(name) + payload)

    def open(self, path, pflags, a=None):
        t, r = self.req(FXP["OPEN"], s(path) + u32(pflags) +
                        (a if a is not None else attrs()))
        if t == FXP["HANDLE"]:
            return r.str(), None
        return None, (r.u32(), r.str().decode(errors="replace"))

    def opendir(self, path):
        t, r = self.req(FXP["OPENDIR"], s(path))
        if t == FXP["HANDLE"]:
            return r.str(), None
        return None, (r.u32(), r.str().decode(errors="replace"))

    def close(self, h):
        return self.status(FXP["CLOSE"], s(h))[0]

    def write(self, h, off, data):
        return self.status(FXP["WRITE"], s(h) + u64(off) + s(data))[0]

    def read(self, h, off, n):
        t, r = self.req(FXP["READ"], s(h) + u64(off) + u32(n))
        if t == FXP["DATA"]:
            return r.str()
        return (r.u32(),)

    def stat(self, path, typ=FXP["STAT"]):
        t, r = self.req(typ, s(path))
        if t == FXP["ATTRS"]:
            return r.attrs()
        return (r.u32(),)

    def name(self, typ, payload):
        t, r = self.req(typ, payload)
        if t != FXP["NAME"]:
            return (r.u32(),)
        n = r.u32()
        return [r.str().decode() for _ in range(n)][0] if n else None

    def alive(self):
        """The channel still answers a request."""
        try:
            a = self.stat("/")
            return isinstance(a, dict)
        except (Closed, OSError, EOFError, paramiko.SSHException):
            return False

    def closed_within(self, secs):
        """The server closes the channel (EOF) within secs."""
        self.ch.settimeout(secs)
        end = time.time() + secs
        try:
            while time.time() < end:
                if not self.ch.recv(65536):
                    return True
        except socket.timeout:
            return False
        except (OSError, EOFError, paramiko.SSHException):
            return True
        return self.ch.closed or self.ch.eof_received


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def tree_state(root):
    """Everything about a tree that a write could change."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for n in sorted(dirs + files):
            p = os.path.join(d, n)
            st = os.lstat(p)
            item = (os.path.relpath(p, root), st.st_mode, st.st_size,
                    st.st_nlink, st.st_uid, int(st.st_mtime))
            if stat.S_ISREG(st.st_mode):
                item += (sha(p),)
            elif stat.S_ISLNK(st.st_mode):
                item += (os.readlink(p),)
            out.append(item)
    return out


# ---------------------------------------------------------------------------
# cases


def case_offsets(a):
    """Random-access writes at offsets, pipelined, then the bytes on disk."""
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    h, err = x.open("/ra", F_WRITE | F_CREAT | F_TRUNC)
    check(h is not None, "open /ra for writing", err)
    parts = [(1000, b"B" * 50), (0, b"A" * 100), (500, b"C" * 10),
             (5000, b"D"), (90, b"E" * 20)]
    ids = [x.send(FXP["WRITE"], s(h) + u64(o) + s(d)) for o, d in parts]
    codes = []
    for i in ids:
        t_, r = x.reply(i)   # in order: reply() checks the id
        codes.append(r.u32() if t_ == FXP["STATUS"] else -1)
    eq("five pipelined writes at offsets answered OK, in order", codes,
       [FX_OK] * 5)
    want = bytearray(5001)
    for o, d in parts:
        want[o:o + len(d)] = d
    eq("close after writes", x.close(h), FX_OK)
    with open(os.path.join(a.folder, "ra"), "rb") as f:
        got = f.read()
    eq("on disk: size is the furthest write", len(got), 5001)
    check(got == bytes(want), "on disk: every write at its offset, "
          "holes are zeros")

    h, _ = x.open("/ra", F_READ | F_WRITE)
    eq("overwrite in the middle of an existing file", x.write(h, 2000,
       b"XYZ"), FX_OK)
    eq("read back what was just written", x.read(h, 1999, 5),
       b"\0XYZ\0")
    eq("read at the end of file is EOF", x.read(h, 5001, 10), (FX_EOF,))
    eq("read far past the end is EOF", x.read(h, 1 << 40, 10), (FX_EOF,))
    c = x.write(h, (1 << 63) - 2, b"xyz")
    check(c not in (FX_OK, -1), "a write past 2^63 is refused", c)
    c = x.write(h, (1 << 64) - 1, b"x")
    check(c not in (FX_OK, -1), "a write at offset 2^64-1 is refused", c)
    x.close(h)
    want[2000:2003] = b"XYZ"
    with open(os.path.join(a.folder, "ra"), "rb") as f:
        check(f.read() == bytes(want), "on disk: only the in-range write "
              "landed")

    h, _ = x.open("/ra", F_WRITE | F_APPEND)
    eq("append-mode write (offset 0)", x.write(h, 0, b"tail"), FX_OK)
    x.close(h)
    with open(os.path.join(a.folder, "ra"), "rb") as f:
        got = f.read()
    check(got == bytes(want) + b"tail", "on disk: append mode wrote at "
          "the end whatever the offset", got[-8:])

    h, err = x.open("/ra", F_WRITE | F_CREAT | F_EXCL)
    check(h is None and err[0] == FX_FAILURE,
          "open with CREAT|EXCL on an existing file fails", err)
    h, _ = x.open("/ra", F_WRITE | F_TRUNC)
    x.close(h)
    eq("open with TRUNC empties it on disk",
       os.path.getsize(os.path.join(a.folder, "ra")), 0)

    # A frame of exactly the largest size is accepted: WRITE header is
    # type 1 + id 4 + handle 4+8 + offset 8 + data length 4 = 29 bytes.
    h, _ = x.open("/max", F_WRITE | F_CREAT | F_TRUNC)
    data = os.urandom(MAX_FRAME - 29)
    eq("a WRITE frame of exactly 256 KiB is served", x.write(h, 0, data),
       FX_OK)
    x.close(h)
    with open(os.path.join(a.folder, "max"), "rb") as f:
        check(f.read() == data, "on disk: the 256 KiB frame's data")
    t.close()


def case_truncate(a):
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    p = os.path.join(a.folder, "tr")
    body = os.urandom(10000)
    with open(p, "wb") as f:
        f.write(body)
    eq("setstat size 10 (truncate by path)",
       x.status(FXP["SETSTAT"], s("/tr") + attrs(size=10))[0], FX_OK)
    with open(p, "rb") as f:
        eq("on disk: 10 bytes, the first ten", f.read(), body[:10])
    h, _ = x.open("/tr", F_READ | F_WRITE)
    eq("fsetstat size 20000 (extend by handle)",
       x.status(FXP["FSETSTAT"], s(h) + attrs(size=20000))[0], FX_OK)
    with open(p, "rb") as f:
        eq("on disk: extended with zeros", f.read(),
           body[:10] + bytes(19990))
    eq("fsetstat size 0",
       x.status(FXP["FSETSTAT"], s(h) + attrs(size=0))[0], FX_OK)
    x.close(h)
    eq("on disk: empty", os.path.getsize(p), 0)
    os.mkdir(os.path.join(a.folder, "trd"))
    c = x.status(FXP["SETSTAT"], s("/trd") + attrs(size=0))[0]
    check(c not in (FX_OK, -1), "setstat size on a folder is refused", c)
    c = x.status(FXP["SETSTAT"], s("/tr") + attrs(size=1 << 63))[0]
    check(c not in (FX_OK, -1), "setstat size 2^63 is refused", c)
    eq("on disk: still empty", os.path.getsize(p), 0)
    t.close()
    # paramiko's own truncate goes the same way (one session channel per
    # connection: a new connection).
    t = login(a.port, a.user, a.cred)
    sf = paramiko.SFTPClient.from_transport(t)
    sf.truncate("/tr", 5)
    eq("paramiko truncate(5): 5 bytes on disk", os.path.getsize(p), 5)
    t.close()


def case_attrs(a):
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    t2 = login(a.port, a.user, a.cred)
    sf = paramiko.SFTPClient.from_transport(t2)
    p = os.path.join(a.folder, "at")
    with open(p, "wb") as f:
        f.write(b"attrs\n")
    st = os.stat(p)
    eq("chmod 0640 (setstat)",
       x.status(FXP["SETSTAT"], s("/at") + attrs(perm=0o640))[0], FX_OK)
    eq("on disk: mode 640", oct(os.stat(p).st_mode & 0o7777), oct(0o640))
    eq("stat reports mode 0100640", x.stat("/at").get("perm"),
       stat.S_IFREG | 0o640)
    c = x.status(FXP["SETSTAT"], s("/at") + attrs(perm=0o4755))[0]
    eq("chmod with setuid bit answered OK", c, FX_OK)
    eq("on disk: no setuid bit (only 0777 applies)",
       oct(os.stat(p).st_mode & 0o7777), oct(0o755))
    eq("utime (setstat times)",
       x.status(FXP["SETSTAT"], s("/at") +
                attrs(times=(1000000000, 1234567890)))[0], FX_OK)
    st2 = os.stat(p)
    eq("on disk: mtime", int(st2.st_mtime), 1234567890)
    eq("on disk: atime", int(st2.st_atime), 1000000000)
    a2 = x.stat("/at")
    eq("stat reports mtime and atime", (a2.get("mtime"), a2.get("atime")),
       (1234567890, 1000000000))
    eq("stat reports the size", a2.get("size"), 6)
    sf.utime("/at", (1500000000, 1500000001))
    eq("paramiko utime reflected in paramiko stat",
       int(sf.stat("/at").st_mtime), 1500000001)
    sf.chmod("/at", 0o600)
    eq("paramiko chmod reflected on disk", os.stat(p).st_mode & 0o777,
       0o600)
    h, _ = x.open("/at", F_READ | F_WRITE)
    eq("fsetstat perm",
       x.status(FXP["FSETSTAT"], s(h) + attrs(perm=0o604))[0], FX_OK)
    eq("on disk: fsetstat mode", os.stat(p).st_mode & 0o777, 0o604)
    t_, r = x.req(FXP["FSTAT"], s(h))
    eq("fstat by handle gives ATTRS", t_, FXP["ATTRS"])
    eq("fstat mode", r.attrs().get("perm"), stat.S_IFREG | 0o604)
    x.close(h)
    c = x.status(FXP["SETSTAT"], s("/at") +
                 attrs(uidgid=(st.st_uid + 1, st.st_gid + 1)))[0]
    eq("chown to another uid is refused", c, FX_PERMISSION_DENIED)
    eq("on disk: owner unchanged", os.stat(p).st_uid, st.st_uid)
    c = x.status(FXP["SETSTAT"], s("/at") +
                 attrs(uidgid=(st.st_uid, st.st_gid)))[0]
    eq("chown to the same uid/gid is a no-op OK", c, FX_OK)
    c = x.status(FXP["SETSTAT"], s("/at") + attrs(perm=0o640,
                 ext=[("foo@example.com", "bar")]))[0]
    eq("setstat with an extended attribute pair is served", c, FX_OK)

    # Symlinks: readlink, lstat, lsetstat.
    sf.symlink("at", "/atl")
    eq("symlink (OpenSSH argument order): on disk",
       os.readlink(os.path.join(a.folder, "atl")), "at")
    eq("readlink", sf.readlink("/atl"), "at")
    eq("lstat sees a link", stat.S_ISLNK(x.stat("/atl", FXP["LSTAT"])
                                         .get("perm", 0)), True)
    eq("stat follows it", stat.S_ISREG(x.stat("/atl").get("perm", 0)),
       True)
    before = os.stat(p).st_mode
    c = x.ext_status("lsetstat@openssh.com", s("/atl") +
                     attrs(times=(1600000000, 1600000000)))[0]
    eq("lsetstat times on a link", c, FX_OK)
    eq("on disk: the link's own mtime",
       int(os.lstat(os.path.join(a.folder, "atl")).st_mtime), 1600000000)
    eq("on disk: the target's mode untouched by lsetstat",
       os.stat(p).st_mode, before)
    rl = x.name(FXP["READLINK"], s("/at"))
    check(isinstance(rl, tuple) and rl[0] != FX_OK,
          "readlink of a non-link is an error status", rl)
    # realpath.
    os.makedirs(os.path.join(a.folder, "rp", "q"), exist_ok=True)
    eq("realpath . is /", x.name(FXP["REALPATH"], s(".")), "/")
    eq("realpath '' is /", x.name(FXP["REALPATH"], s("")), "/")
    eq("realpath /../.. is /", x.name(FXP["REALPATH"], s("/../..")), "/")
    eq("realpath rp/q/../. is /rp", x.name(FXP["REALPATH"],
                                           s("rp/q/../.")), "/rp")
    eq("realpath of a missing name: its lexical form",
       x.name(FXP["REALPATH"], s("/rp/nope/../x")), "/rp/x")
    eq("realpath of a link resolves it", x.name(FXP["REALPATH"],
                                                s("/atl")), "/at")
    t.close()
    t2.close()


def case_unknown(a):
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    for typ in (0, 99, 150, 199, 255, FXP["STATUS"], FXP["DATA"]):
        c = x.status(typ, b"whatever")
        eq("request type %d: OP_UNSUPPORTED" % typ, c[0], FX_OP_UNSUPPORTED)
    c = x.ext_status("no-such-extension@example.com", b"\0\0\0\0")
    eq("unknown extension: OP_UNSUPPORTED", c[0], FX_OP_UNSUPPORTED)
    check(x.alive(), "the session goes on after unknown requests")
    # Pipelined unknown + known requests: in order, each answered.
    ids = [x.send(99, b""), x.send(FXP["STAT"], s("/")), x.send(77, b"")]
    got = []
    for i in ids:
        t_, _ = x.reply(i)
        got.append(t_)
    eq("pipelined unknown/known/unknown answered in order", got,
       [FXP["STATUS"], FXP["ATTRS"], FXP["STATUS"]])
    t.close()


def case_malformed(a):
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    BAD = FX_BAD_MESSAGE
    cases = [
        ("OPEN whose path is cut short", FXP["OPEN"], u32(100) + b"abc"),
        ("OPEN with path length 0xffffffff", FXP["OPEN"],
         u32(0xffffffff) + b"abcd" + u32(1) + u32(0)),
        ("OPEN without pflags", FXP["OPEN"], s("/x")),
        ("OPEN without attrs", FXP["OPEN"], s("/x") + u32(F_READ)),
        ("OPEN with attrs cut short", FXP["OPEN"], s("/x") + u32(F_READ) +
         u32(A_SIZE) + b"\0\0"),
        ("OPEN with 0xffffffff extended pairs", FXP["OPEN"], s("/x") +
         u32(F_READ) + u32(A_EXT) + u32(0xffffffff)),
        ("path with a NUL byte", FXP["STAT"], s(b"/ra\0/etc/passwd")),
        ("path of 5000 bytes", FXP["STAT"], s("/" + "a" * 4999)),
        ("RENAME missing its second path", FXP["RENAME"], s("/a")),
        ("MKDIR without attrs", FXP["MKDIR"], s("/mk")),
        ("READ with a short offset", FXP["READ"], s(b"\0" * 8) + b"\0\0"),
        ("empty STAT", FXP["STAT"], b""),
    ]
    for desc, typ, payload in cases:
        c = x.status(typ, payload)
        check(c[0] in (BAD, FX_FAILURE, FX_NO_SUCH_FILE), desc +
              ": an error status", c)
    check(not os.path.exists(os.path.join(a.folder, "mk")),
          "the malformed MKDIR made nothing")
    c = x.status(FXP["STAT"], s("/" + "a" * 300))
    check(c[0] not in (FX_OK, -1), "a 300-byte name: an error status", c)
    eq("a handle of the wrong length", x.status(FXP["CLOSE"],
       s(b"abc"))[0], FX_FAILURE)
    eq("a made-up handle", x.status(FXP["READ"], s(b"\0\0\0\x05\0\0\0\x07")
       + u64(0) + u32(10))[0], FX_FAILURE)
    eq("a huge handle index", x.status(FXP["CLOSE"],
       s(b"\xff\xff\xff\xff\0\0\0\x01"))[0], FX_FAILURE)
    check(x.alive(), "the session goes on after malformed requests")

    with open(os.path.join(a.folder, "big"), "wb") as f:
        f.write(os.urandom(1 << 20))
    h, _ = x.open("/big", F_READ)
    d = x.read(h, 0, 0xffffffff)
    check(isinstance(d, bytes) and 0 < len(d) <= MAX_FRAME - 1024,
          "READ of 0xffffffff bytes is capped at the max read length",
          len(d) if isinstance(d, bytes) else d)
    d = x.read(h, 1 << 63, 10)
    check(isinstance(d, tuple) and d[0] != FX_OK,
          "READ at offset 2^63 is an error status", d)
    x.close(h)
    eq("CLOSE of a closed handle", x.status(FXP["CLOSE"], s(h))[0],
       FX_FAILURE)
    eq("READ on a closed handle", x.status(FXP["READ"], s(h) + u64(0) +
       u32(10))[0], FX_FAILURE)
    h2, _ = x.open("/big", F_READ)   # may reuse the slot
    eq("an old handle does not reach a new file in its slot",
       x.status(FXP["READ"], s(h) + u64(0) + u32(10))[0], FX_FAILURE)
    d, _ = x.opendir("/")
    eq("READ on a directory handle", x.status(FXP["READ"], s(d) + u64(0) +
       u32(10))[0], FX_FAILURE)
    eq("READDIR on a file handle", x.status(FXP["READDIR"], s(h2))[0],
       FX_FAILURE)
    x.close(h2)
    x.close(d)

    # A length prefix split over two writes is reassembled.
    x.id += 1
    pkt = bytes([FXP["STAT"]]) + u32(x.id) + s("/")
    whole = u32(len(pkt)) + pkt
    x.ch.sendall(whole[:2])
    time.sleep(0.2)
    x.ch.sendall(whole[2:7])
    time.sleep(0.2)
    x.ch.sendall(whole[7:])
    t_, _ = x.reply(x.id)
    eq("a frame sent in three pieces is served", t_, FXP["ATTRS"])
    # 300 requests in one write.
    base = x.id
    buf = b""
    for i in range(300):
        pkt = bytes([FXP["STAT"]]) + u32(base + 1 + i) + s("/")
        buf += u32(len(pkt)) + pkt
    x.id += 300
    x.ch.sendall(buf)
    ok_ = 0
    for i in range(300):
        t_, _ = x.reply(base + 1 + i)
        ok_ += t_ == FXP["ATTRS"]
    eq("300 requests in one write: 300 replies, in order", ok_, 300)
    t.close()

    # Frame-level faults close the channel; the server lives on.
    faults = [
        ("a frame of 256 KiB + 1", u32(MAX_FRAME + 1) + b"\x11" * 64),
        ("a frame of length 0xffffffff", u32(0xffffffff) + b"\x11" * 64),
        ("a frame of length 0", u32(0)),
        ("a frame with a type and no id", u32(1) + bytes([FXP["STAT"]])),
        ("a second INIT", u32(5) + bytes([FXP["INIT"]]) + u32(3)),
    ]
    for desc, raw in faults:
        t = login(a.port, a.user, a.cred)
        x = Raw(t)
        x.ch.sendall(raw)
        check(x.closed_within(5), desc + ": the channel is closed")
        t.close()
        t = login(a.port, a.user, a.cred)
        check(Raw(t).alive(), desc + ": a new connection works")
        t.close()
    # A frame cut off by the client going away.
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    x.ch.sendall(u32(1000) + bytes([FXP["WRITE"]]) + b"\0" * 20)
    time.sleep(0.2)
    t.close()
    t = login(a.port, a.user, a.cred)
    check(Raw(t).alive(), "a frame cut off by a disconnect: the server "
          "lives on")
    t.close()
    # Bytes before INIT.
    t = login(a.port, a.user, a.cred)
    ch = t.open_session()
    ch.settimeout(5)
    ch.invoke_subsystem("sftp")
    pkt = bytes([FXP["STAT"]]) + u32(1) + s("/")
    ch.sendall(u32(len(pkt)) + pkt)
    try:
        got = ch.recv(100)
    except socket.timeout:
        got = None
    eq("a request before INIT closes the channel", got, b"")
    t.close()


def case_special(a):
    """FIFOs, device nodes, folders and symlink loops: opening them as
    files is refused at once (never a hang); listing them works."""
    F = a.folder
    os.mkfifo(os.path.join(F, "fifo"))
    have_dev = True
    try:
        os.mknod(os.path.join(F, "zero"), 0o666 | stat.S_IFCHR,
                 os.makedev(1, 5))
    except OSError:
        have_dev = False
    os.symlink("loop", os.path.join(F, "loop"))
    os.mkdir(os.path.join(F, "adir"))
    t = login(a.port, a.user, a.cred)
    x = Raw(t, timeout=8)
    names = [("FIFO", "/fifo"), ("folder", "/adir"),
             ("symlink loop", "/loop")]
    if have_dev:
        names.append(("char device", "/zero"))
    for desc, p in names:
        for mode, fl in (("reading", F_READ), ("writing", F_WRITE)):
            try:
                h, err = x.open(p, fl)
                check(h is None, "open a %s for %s: refused" % (desc, mode),
                      err)
                if h is not None:
                    x.close(h)
            except Closed as e:
                check(False, "open a %s for %s: refused" % (desc, mode),
                      e)
                t.close()
                t = login(a.port, a.user, a.cred)
                x = Raw(t, timeout=8)
    h, _ = x.opendir("/")
    t_, r = x.req(FXP["READDIR"], s(h))
    eq("a folder holding them lists", t_, FXP["NAME"])
    x.close(h)
    eq("stat of the FIFO says FIFO", stat.S_ISFIFO(
        x.stat("/fifo").get("perm", 0)), True)
    t.close()


def case_escape_raw(a):
    """Paths that reach outside the folder, in forms OpenSSH's client
    never sends (relative, dotted): ARGS are host files that must stay
    unread and unwritten (the shell compares them before and after)."""
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    for host in a.rest:
        rel = os.path.relpath(host, a.folder)          # ../../canary/x
        hdir = os.path.dirname(host)
        forms = [rel, "/" + rel, host, "./" + rel, "sub/../" + rel,
                 "../" * 12 + host.lstrip("/"), rel + "/.", hdir + "/./" +
                 os.path.basename(host)]
        for p in forms:
            h, err = x.open(p, F_READ)
            got = x.read(h, 0, 4096) if h is not None else None
            if h is not None:
                x.close(h)
            check(not (isinstance(got, bytes) and got ==
                       open(host, "rb").read()),
                  "read %s: not the host file" % p, got)
            st = x.stat(p)
            check(not (isinstance(st, dict) and st.get("size") ==
                       os.path.getsize(host)),
                  "stat %s: not the host file" % p, st)
        newname = os.path.join(os.path.relpath(hdir, a.folder), "made-raw")
        for p in (newname, "/" + newname, os.path.join(hdir, "made-raw2")):
            h, _ = x.open(p, F_WRITE | F_CREAT)
            if h is not None:
                x.write(h, 0, b"raw escape")
                x.close(h)
            x.status(FXP["MKDIR"], s(p + ".d") + attrs())
            x.status(FXP["SYMLINK"], s("/") + s(p + ".l"))
            x.status(FXP["SETSTAT"], s(p) + attrs(perm=0o777))
        for p in (rel, "/" + rel, host):
            x.status(FXP["SETSTAT"], s(p) + attrs(perm=0o777, size=0))
            x.status(FXP["REMOVE"], s(p))
            x.status(FXP["RENAME"], s(p) + s("/stolen-raw"))
            x.ext_status("hardlink@openssh.com", s(p) + s("/linked-raw"))
        check(not os.path.exists(os.path.join(a.folder, "stolen-raw")) and
              not os.path.exists(os.path.join(a.folder, "linked-raw")),
              "nothing of %s renamed or linked in" % rel)
    t.close()


def case_handles(a):
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    t_, r = x.req(FXP["EXTENDED"], s("limits@openssh.com"))
    lim = (r.u64(), r.u64(), r.u64(), r.u64()) \
        if t_ == FXP["EXTENDED_REPLY"] else None
    eq("limits@openssh.com", lim, (MAX_FRAME, MAX_FRAME - 1024,
                                   MAX_FRAME - 1024, a.extra_int))
    n = a.extra_int
    with open(os.path.join(a.folder, "hf"), "wb") as f:
        f.write(b"h")
    hs = []
    for i in range(n):
        h, err = (x.open("/hf", F_READ) if i % 2 else x.opendir("/"))
        if h is None:
            break
        hs.append(h)
    eq("%d handles (files and folders) open" % n, len(hs), n)
    h, err = x.open("/hf", F_READ)
    check(h is None and err[0] == FX_FAILURE,
          "one more file handle: FAILURE", err)
    h, err = x.opendir("/")
    check(h is None and err[0] == FX_FAILURE,
          "one more folder handle: FAILURE", err)
    h, err = x.open("/hf-new", F_WRITE | F_CREAT)
    check(h is None, "one more, for writing: refused", err)
    check(not os.path.exists(os.path.join(a.folder, "hf-new")),
          "on disk: the refused create made no file")
    eq("closing one", x.close(hs.pop()), FX_OK)
    h, err = x.open("/hf", F_READ)
    check(h is not None, "then a new handle opens", err)
    hs.append(h)
    closed = sum(x.close(h) == FX_OK for h in hs)
    eq("all closed", closed, n)
    check(x.alive(), "the session goes on")
    t.close()
    # Handles left open are closed (and logged) when the client leaves.
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    h, _ = x.open("/left-open", F_WRITE | F_CREAT)
    x.write(h, 0, b"12345")
    t.close()


def case_readdir(a):
    d = os.path.join(a.folder, "many")
    os.mkdir(d)
    want = set()
    for i in range(1000):
        n = ("%04d-" % i) + "n" * 240
        open(os.path.join(d, n), "w").close()
        want.add(n)
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    h, err = x.opendir("/many")
    check(h is not None, "opendir /many", err)
    names, replies, biggest, most = [], 0, 0, 0
    while True:
        x.id += 1
        x.frame(bytes([FXP["READDIR"]]) + u32(x.id) + s(h))
        n = struct.unpack(">I", x.readn(4))[0]
        body = x.readn(n)
        biggest = max(biggest, n)
        typ, r = body[0], Reader(body[5:])
        if typ == FXP["STATUS"]:
            eq("readdir ends with EOF", r.u32(), FX_EOF)
            break
        replies += 1
        cnt = r.u32()
        most = max(most, cnt)
        for _ in range(cnt):
            names.append(r.str().decode())
            r.str()
            r.attrs()
        if replies > 2000:
            break
    check(replies > 1, "1000 long names take several READDIR replies",
          replies)
    check(biggest <= MAX_FRAME, "every reply fits in 256 KiB", biggest)
    check(most < 1002, "no reply holds every name", most)
    eq("every name once", len(names), len(set(names)))
    eq("all 1000 names seen", want - set(names), set())
    x.close(h)
    t.close()


def case_extensions(a):
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    eq("protocol version 3", x.version, 3)
    for e in ("posix-rename@openssh.com", "statvfs@openssh.com",
              "fstatvfs@openssh.com", "hardlink@openssh.com",
              "fsync@openssh.com", "lsetstat@openssh.com",
              "limits@openssh.com", "expand-path@openssh.com",
              "copy-data", "home-directory"):
        check(e in x.ext, "VERSION advertises " + e, sorted(x.ext))
    F = a.folder
    src = os.urandom(100000)
    with open(os.path.join(F, "src"), "wb") as f:
        f.write(src)
    # copy-data
    rh, _ = x.open("/src", F_READ)
    wh, _ = x.open("/dst", F_WRITE | F_CREAT | F_TRUNC)
    c = x.ext_status("copy-data", s(rh) + u64(1000) + u64(5000) + s(wh) +
                     u64(10))[0]
    eq("copy-data of a range", c, FX_OK)
    c = x.ext_status("copy-data", s(rh) + u64(0) + u64(0) + s(wh) +
                     u64(20000))[0]
    eq("copy-data with length 0 (to the end)", c, FX_OK)
    x.close(wh)
    want = bytearray(20000 + len(src))
    want[10:5010] = src[1000:6000]
    want[20000:] = src
    with open(os.path.join(F, "dst"), "rb") as f:
        check(f.read() == bytes(want), "on disk: copy-data bytes at "
              "their offsets")
    rw, _ = x.open("/dst", F_READ | F_WRITE)
    c = x.ext_status("copy-data", s(rw) + u64(0) + u64(100) + s(rw) +
                     u64(50))[0]
    eq("copy-data onto an overlapping range of itself: FAILURE", c,
       FX_FAILURE)
    size_before = os.path.getsize(os.path.join(F, "dst"))
    c = x.ext_status("copy-data", s(rw) + u64(0) + u64(0) + s(rw) +
                     u64(1000))[0]
    eq("copy-data to the end, onto itself: FAILURE", c, FX_FAILURE)
    eq("on disk: a copy onto itself did not grow the file",
       os.path.getsize(os.path.join(F, "dst")), size_before)
    x.close(rw)
    x.close(rh)
    # fsync, statvfs, fstatvfs
    h, _ = x.open("/dst", F_READ | F_WRITE)
    eq("fsync", x.ext_status("fsync@openssh.com", s(h))[0], FX_OK)
    t_, r = x.req(FXP["EXTENDED"], s("fstatvfs@openssh.com") + s(h))
    eq("fstatvfs answers", t_, FXP["EXTENDED_REPLY"])
    x.close(h)
    t_, r = x.req(FXP["EXTENDED"], s("statvfs@openssh.com") + s("/"))
    eq("statvfs answers", t_, FXP["EXTENDED_REPLY"])
    if t_ == FXP["EXTENDED_REPLY"]:
        v = [r.u64() for _ in range(11)]
        frsize, blocks, bfree, bavail, flag = v[1], v[2], v[3], v[4], v[9]
        check(bavail <= blocks and bfree <= blocks,
              "statvfs: free <= total", v)
        eq("statvfs: not read-only", flag & 1, 0)
        if a.extra_int:
            eq("statvfs: total is the store's size", blocks * frsize,
               a.extra_int)
    eq("statvfs of a missing path", x.status(
        FXP["EXTENDED"], s("statvfs@openssh.com") + s("/nope"))[0],
       FX_NO_SUCH_FILE)
    # expand-path, home-directory
    ep = lambda p: x.name(FXP["EXTENDED"], s("expand-path@openssh.com") +
                          s(p))
    eq("expand-path ~", ep("~"), "/")
    eq("expand-path ~/src", ep("~/src"), "/src")
    eq("expand-path ~USER/src", ep("~%s/src" % a.user), "/src")
    eq("expand-path ~other/x", ep("~nobody-here/x"), (FX_NO_SUCH_FILE,))
    eq("expand-path /../x", ep("/../x"), "/x")
    hd = lambda u: x.name(FXP["EXTENDED"], s("home-directory") + s(u))
    eq("home-directory of the user", hd(a.user), "/")
    eq("home-directory of another", hd("root"), (FX_NO_SUCH_FILE,))
    # rename flavours, hardlink
    with open(os.path.join(F, "r1"), "w") as f:
        f.write("one")
    with open(os.path.join(F, "r2"), "w") as f:
        f.write("two")
    c = x.status(FXP["RENAME"], s("/r1") + s("/r2"))[0]
    eq("v3 RENAME onto an existing name: FAILURE", c, FX_FAILURE)
    eq("on disk: the target kept", open(os.path.join(F, "r2")).read(),
       "two")
    c = x.ext_status("posix-rename@openssh.com", s("/r1") + s("/r2"))[0]
    eq("posix-rename onto an existing name", c, FX_OK)
    eq("on disk: replaced", open(os.path.join(F, "r2")).read(), "one")
    c = x.ext_status("hardlink@openssh.com", s("/r2") + s("/r3"))[0]
    eq("hardlink", c, FX_OK)
    eq("on disk: 2 links", os.stat(os.path.join(F, "r2")).st_nlink, 2)
    c = x.ext_status("hardlink@openssh.com", s("/") + s("/r4"))[0]
    check(c not in (FX_OK, -1), "hardlink of / refused", c)
    os.mkdir(os.path.join(F, "hd"))
    c = x.ext_status("hardlink@openssh.com", s("/hd") + s("/hd2"))[0]
    check(c not in (FX_OK, -1), "hardlink of a folder refused", c)
    c = x.status(FXP["REMOVE"], s("/"))[0]
    check(c not in (FX_OK, -1), "REMOVE / refused", c)
    c = x.status(FXP["RENAME"], s("/") + s("/x"))[0]
    check(c not in (FX_OK, -1), "RENAME / refused", c)
    c = x.status(FXP["RENAME"], s("/hd") + s("/hd/in"))[0]
    check(c not in (FX_OK, -1), "RENAME a folder into itself refused", c)
    check(os.path.isdir(F), "the account's folder is still there")
    t.close()


def case_readonly(a):
    """Every write request refused with PERMISSION_DENIED, on a tree that
    must stay byte for byte the same; reading works."""
    F = a.folder
    before = tree_state(F)
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    D = FX_PERMISSION_DENIED

    def refused(desc, code):
        eq(desc + ": PERMISSION_DENIED", code, D)

    for desc, fl in (("open for write", F_WRITE),
                     ("open read+write", F_READ | F_WRITE),
                     ("open for append", F_WRITE | F_APPEND),
                     ("open append flag only", F_APPEND),
                     ("open with TRUNC", F_WRITE | F_TRUNC),
                     ("open TRUNC flag only", F_READ | F_TRUNC),
                     ("open with CREAT", F_WRITE | F_CREAT)):
        h, err = x.open("/f", fl)
        refused(desc + " of an existing file",
                err[0] if h is None else "HANDLE")
        if h is not None:
            x.close(h)
    h, err = x.open("/new", F_WRITE | F_CREAT | F_EXCL)
    refused("create a new file", err[0] if h is None else "HANDLE")
    h, err = x.open("/new", F_CREAT)
    refused("open with CREAT flag only", err[0] if h is None else "HANDLE")
    msg = err[1] if err else ""
    check("read-only" in msg, "the status message says read-only", msg)

    rh, err = x.open("/f", F_READ)
    check(rh is not None, "open for reading works", err)
    d = x.read(rh, 0, 100000)
    with open(os.path.join(F, "f"), "rb") as f:
        eq("read gives the file's bytes", d, f.read())
    refused("WRITE on a read handle", x.write(rh, 0, b"x"))
    refused("FSETSTAT size", x.status(FXP["FSETSTAT"], s(rh) +
                                      attrs(size=0))[0])
    refused("FSETSTAT perm", x.status(FXP["FSETSTAT"], s(rh) +
                                      attrs(perm=0o777))[0])
    refused("copy-data onto itself", x.ext_status(
        "copy-data", s(rh) + u64(0) + u64(10) + s(rh) + u64(100))[0])
    eq("fsync on a read handle is harmless",
       x.ext_status("fsync@openssh.com", s(rh))[0], FX_OK)
    t_, r = x.req(FXP["EXTENDED"], s("fstatvfs@openssh.com") + s(rh))
    if t_ == FXP["EXTENDED_REPLY"]:
        v = [r.u64() for _ in range(11)]
        eq("fstatvfs flags say read-only", v[9] & 1, 1)
    else:
        check(False, "fstatvfs answers", t_)
    x.close(rh)

    refused("SETSTAT perm", x.status(FXP["SETSTAT"], s("/f") +
                                     attrs(perm=0o777))[0])
    refused("SETSTAT size", x.status(FXP["SETSTAT"], s("/f") +
                                     attrs(size=0))[0])
    refused("SETSTAT times", x.status(FXP["SETSTAT"], s("/f") +
                                      attrs(times=(1, 1)))[0])
    refused("SETSTAT with no attributes", x.status(FXP["SETSTAT"], s("/f") +
                                                   attrs())[0])
    refused("lsetstat", x.ext_status("lsetstat@openssh.com", s("/f") +
                                     attrs(perm=0o777))[0])
    refused("REMOVE", x.status(FXP["REMOVE"], s("/f"))[0])
    refused("REMOVE of a missing file", x.status(FXP["REMOVE"],
                                                 s("/nope"))[0])
    refused("MKDIR", x.status(FXP["MKDIR"], s("/nd") + attrs())[0])
    refused("RMDIR", x.status(FXP["RMDIR"], s("/empty"))[0])
    refused("RENAME", x.status(FXP["RENAME"], s("/f") + s("/g"))[0])
    refused("posix-rename", x.ext_status("posix-rename@openssh.com",
                                         s("/f") + s("/sub/g"))[0])
    refused("hardlink", x.ext_status("hardlink@openssh.com", s("/f") +
                                     s("/hl"))[0])
    refused("SYMLINK", x.status(FXP["SYMLINK"], s("f") + s("/sl"))[0])
    # Malformed write requests are refused too, never half-served.
    refused("malformed MKDIR", x.status(FXP["MKDIR"], b"\0")[0])

    # Reading still works.
    hd, err = x.opendir("/")
    check(hd is not None, "opendir works", err)
    t_, r = x.req(FXP["READDIR"], s(hd))
    eq("readdir works", t_, FXP["NAME"])
    x.close(hd)
    eq("stat works", isinstance(x.stat("/f"), dict), True)
    eq("readlink works", x.name(FXP["READLINK"], s("/link")), "f")
    eq("realpath works", x.name(FXP["REALPATH"], s("sub/..")), "/")
    t.close()
    t = login(a.port, a.user, a.cred)
    sf = paramiko.SFTPClient.from_transport(t)
    check("f" in sf.listdir("/"), "paramiko listdir works")
    with sf.open("/sub/g") as f:
        eq("paramiko download", f.read(), open(os.path.join(F, "sub", "g"),
                                                "rb").read())
    for op, fn in (("put", lambda: sf.putfo(__import__("io").BytesIO(b"x"),
                                            "/p")),
                   ("mkdir", lambda: sf.mkdir("/pm")),
                   ("remove", lambda: sf.remove("/f")),
                   ("chmod", lambda: sf.chmod("/f", 0o777)),
                   ("truncate", lambda: sf.truncate("/f", 0)),
                   ("posix_rename", lambda: sf.posix_rename("/f", "/q"))):
        try:
            fn()
            check(False, "paramiko %s refused" % op)
        except PermissionError:
            check(True, "paramiko %s refused (PermissionError)" % op)
        except IOError as e:
            check(False, "paramiko %s refused" % op, e)
    t.close()
    eq("the tree on disk is unchanged", tree_state(F), before)


def poll(secs, fn):
    end = time.time() + secs
    while time.time() < end:
        if fn():
            return True
        time.sleep(0.1)
    return fn()


def case_ro_switch(a):
    """An account switched to read-only mid-session (ARGS: the admin
    command, then "--then" and the command switching it back): the next
    requests are refused, even on a handle already open; switched back,
    writes work again."""
    F = a.folder
    cmds = a.rest
    back = None
    if "--then" in cmds:
        i = cmds.index("--then")
        cmds, back = cmds[:i], cmds[i + 1:]
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    h, err = x.open("/live", F_WRITE | F_CREAT | F_TRUNC)
    check(h is not None, "open for writing before the switch", err)
    eq("write before the switch", x.write(h, 0, b"before"), FX_OK)
    r = subprocess.run(cmds, capture_output=True)
    eq("the admin command ran", r.returncode, 0)
    t0 = time.time()
    ok_ = poll(10, lambda: x.write(h, 6, b"!") == FX_PERMISSION_DENIED)
    check(ok_, "a write on an open handle is refused within 10 s")
    print("# switch took effect after %.1f s" % (time.time() - t0))
    state = tree_state(F)
    eq("another write on it: refused", x.write(h, 100, b"late"),
       FX_PERMISSION_DENIED)
    eq("mkdir: refused", x.status(FXP["MKDIR"], s("/m") + attrs())[0],
       FX_PERMISSION_DENIED)
    h2, err = x.open("/live2", F_WRITE | F_CREAT)
    check(h2 is None and err[0] == FX_PERMISSION_DENIED,
          "a new open for writing: refused", err)
    rh, _ = x.open("/live", F_READ)
    d = x.read(rh, 0, 100)
    check(isinstance(d, bytes) and d.startswith(b"before"),
          "reading still works", d)
    x.close(rh)
    eq("on disk: nothing changed after the switch", tree_state(F), state)
    if back:
        r = subprocess.run(back, capture_output=True)
        eq("the command switching back ran", r.returncode, 0)
        ok_ = poll(10, lambda: x.write(h, 6, b" after") == FX_OK)
        check(ok_, "switched back: a write on the same handle works "
              "within 10 s")
        with open(os.path.join(F, "live"), "rb") as f:
            eq("on disk: the write after switching back", f.read(),
               b"before after")
    x.close(h)
    t.close()


def case_session_end(a):
    """A logged-in session (SFTP channel open and idle) ends within 10 s
    of the admin command in ARGS."""
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    check(x.alive(), "session works before the change")
    r = subprocess.run(a.rest, capture_output=True)
    eq("the admin command ran", r.returncode, 0)
    t0 = time.time()
    ended = poll(10, lambda: not t.is_active() or x.ch.closed or
                 x.ch.eof_received)
    check(ended, "the session ended within 10 s")
    print("# ended after %.1f s" % (time.time() - t0))
    check(not x.alive(), "no more requests are served")
    t.close()


def case_password(a):
    """Password logins: right one works, wrong one refused."""
    user, pw = a.user, a.cred[3:]
    t = login(a.port, user, "pw:" + pw)
    check(t.is_authenticated(), "password login")
    sf = paramiko.SFTPClient.from_transport(t)
    eq("and SFTP works", sf.normalize("."), "/")
    t.close()
    for desc, u, p in (("wrong password", user, pw + "x"),
                       ("empty password", user, ""),
                       ("password of another case", user, pw.upper()),
                       ("unknown user", "nobody-here", pw)):
        try:
            t = login(a.port, u, "pw:" + p)
            check(False, desc + ": refused")
            t.close()
        except paramiko.AuthenticationException:
            check(True, desc + ": refused")


def case_maxauth(a):
    """After N failed attempts the connection is dropped."""
    n = a.extra_int
    t = transport(a.port)
    fails = 0
    for i in range(n - 1):
        try:
            t.auth_password(a.user, "wrong-%d" % i)
        except paramiko.AuthenticationException:
            fails += 1
    eq("%d wrong passwords refused" % (n - 1), fails, n - 1)
    check(t.is_active(), "the connection is still up after %d" % (n - 1))
    try:
        t.auth_password(a.user, "wrong-last")
    except (paramiko.AuthenticationException, paramiko.SSHException,
            EOFError, OSError):
        pass
    check(poll(5, lambda: not t.is_active()),
          "after the %dth failure the connection is dropped" % n)
    try:
        t.auth_password(a.user, a.cred[3:])
        check(False, "the right password is no longer accepted on it")
    except (paramiko.SSHException, EOFError, OSError):
        check(True, "the right password is no longer accepted on it")
    t.close()
    # Unknown keys count as attempts too.
    t = transport(a.port)
    k = paramiko.RSAKey.generate(1024)
    for i in range(n):
        try:
            t.auth_publickey(a.user, k)
        except (paramiko.AuthenticationException, paramiko.SSHException,
                EOFError, OSError):
            pass
        if not t.is_active():
            break
    check(poll(5, lambda: not t.is_active()),
          "%d unknown-key attempts drop the connection" % n)
    t.close()
    # And a fresh connection still logs in.
    t = login(a.port, a.user, a.cred)
    check(t.is_authenticated(), "a new connection logs in")
    t.close()


def case_timing(a):
    """A failed login costs about the same for a known and an unknown
    name (loose bound: CI machines are noisy)."""
    def cost(user):
        best = None
        for _ in range(3):
            t = transport(a.port)
            t0 = time.time()
            try:
                t.auth_password(user, "not-the-password")
            except paramiko.AuthenticationException:
                pass
            dt = time.time() - t0
            t.close()
            best = dt if best is None else min(best, dt)
        return best
    known, unknown = cost(a.user), cost("no-such-user-here")
    print("# failed login: known %.3f s, unknown %.3f s" % (known, unknown))
    check(unknown * 4 > known and known * 4 > unknown,
          "a failed login costs about the same for a known and an unknown "
          "name", "%.3f vs %.3f" % (known, unknown))


def case_grace(a):
    """Connections that don't authenticate are closed after the login
    grace time (ARGS: seconds); authenticated ones are not.  The three
    connections run side by side, so the case costs about one grace time."""
    g = a.extra_int
    t0 = time.time()
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=g + 10)
    kex = transport(a.port)          # key exchange done, never logs in
    t = login(a.port, a.user, a.cred)
    x = Raw(t)
    res = {}

    def silent_tcp():
        data, closed = b"", False
        try:
            while True:
                b = sock.recv(4096)
                if not b:
                    closed = True
                    break
                data += b
        except (socket.timeout, OSError):
            pass
        res["tcp"] = (data, closed, time.time() - t0)

    th = threading.Thread(target=silent_tcp)
    th.start()
    gone = poll(g + 8, lambda: not kex.is_active())
    res["kex"] = (gone, time.time() - t0)
    th.join(g + 10)
    rest = g + 1.5 - (time.time() - t0)
    if rest > 0:
        time.sleep(rest)
    data, closed, dt = res.get("tcp", (b"", False, 0))
    check(data.startswith(b"SSH-2.0-"), "the server sent its banner")
    check(closed and g - 0.5 <= dt <= g + 8,
          "a silent TCP connection is closed after ~%d s" % g,
          "closed=%s after %.1f s" % (closed, dt))
    gone, dt = res["kex"]
    check(gone and dt >= g - 1,
          "an unauthenticated SSH connection is closed after ~%d s" % g,
          "closed=%s after %.1f s" % (gone, dt))
    check(t.is_active() and x.alive(),
          "a logged-in session outlives the grace time")
    sock.close()
    kex.close()
    t.close()


def new_session(t):
    """A session channel on t.  The gateway serves one at a time and may
    still be finishing the previous one: retry for a while (case reopen
    checks that a retry is not needed)."""
    for _ in range(20):
        try:
            return t.open_session(timeout=5)
        except paramiko.ChannelException:
            time.sleep(0.2)
    return t.open_session(timeout=5)


def case_channels(a):
    """Only session channels running SFTP (exec/shell/pty/x11/agent and
    every forwarding refused)."""
    t = login(a.port, a.user, a.cred)
    ch = t.open_session()
    ch.settimeout(10)
    ch.exec_command("cat /etc/passwd")
    out, err = b"", b""
    try:
        while True:
            b = ch.recv(4096)
            if not b:
                break
            out += b
    except socket.timeout:
        pass
    while ch.recv_stderr_ready():
        err += ch.recv_stderr(4096)
    st = ch.recv_exit_status()
    eq("exec: nothing on stdout", out, b"")
    eq("exec: exit status 1", st, 1)
    check(b"SFTP only" in err or b"not available" in err,
          "exec: a message on stderr", err)
    ch.close()
    # The connection goes on: a second session after the first one.
    try:
        ch = new_session(t)
        try:
            ch.get_pty()
            check(False, "pty request refused")
        except paramiko.SSHException:
            check(True, "pty request refused")
        ch.close()
    except paramiko.SSHException as e:
        check(False, "a new session channel after the first", e)
    # x11-req goes with want_reply: the answer itself must be a refusal
    # (paramiko raises), not a quiet acceptance.
    if not t.is_active():
        t = login(a.port, a.user, a.cred)
    ch = new_session(t)
    try:
        ch.request_x11(auth_protocol="MIT-MAGIC-COOKIE-1",
                       auth_cookie="00" * 16)
        check(False, "x11 request answered with a refusal")
    except paramiko.SSHException:
        check(True, "x11 request answered with a refusal")
    ch.close()
    for name, fn in (
            ("shell", lambda c: c.invoke_shell()),
            ("subsystem other than sftp", lambda c: c.invoke_subsystem(
                "bogus"))):
        if not t.is_active():
            t = login(a.port, a.user, a.cred)
        ch = new_session(t)
        try:
            fn(ch)
            ch.settimeout(5)
            # accepted by the client library; must then be refused
            got = b""
            try:
                while True:
                    b = ch.recv(4096)
                    if not b:
                        break
                    got += b
            except socket.timeout:
                pass
            st = ch.recv_exit_status() if ch.exit_status_ready() else None
            check(got == b"" and st != 0, name + " refused",
                  (got[:80], st))
        except paramiko.SSHException:
            check(True, name + " refused")
        ch.close()
    if not t.is_active():
        t = login(a.port, a.user, a.cred)
    try:
        ch = t.open_channel("direct-tcpip", ("127.0.0.1", a.port),
                            ("127.0.0.1", 40000), timeout=5)
        check(False, "direct-tcpip (ssh -L) channel refused")
        ch.close()
    except (paramiko.ChannelException, paramiko.SSHException):
        check(True, "direct-tcpip (ssh -L) channel refused")
    try:
        r = t.request_port_forward("127.0.0.1", 0)
        check(False, "tcpip-forward (ssh -R) refused", r)
    except paramiko.SSHException:
        check(True, "tcpip-forward (ssh -R) refused")
    if not t.is_active():
        t = login(a.port, a.user, a.cred)
    try:
        ch = t.open_channel("direct-streamlocal@openssh.com", timeout=5)
        check(False, "direct-streamlocal channel refused")
    except (paramiko.ChannelException, paramiko.SSHException, TypeError):
        check(True, "direct-streamlocal channel refused")
    if not t.is_active():
        t = login(a.port, a.user, a.cred)
    x = Raw(t)
    check(x.alive(), "after all that, SFTP on the same connection works")
    t.close()


def case_reopen(a):
    """One connection, one SFTP channel after another: a client that
    closes its channel and at once opens a new one must get it (the
    gateway allows one session channel at a time, not one per
    connection)."""
    t = login(a.port, a.user, a.cred)
    fails = []
    for i in range(6):
        try:
            x = Raw(t, retry=False)
            x.alive()
            x.ch.close()
        except (paramiko.SSHException, Closed, OSError) as e:
            fails.append("%d: %s" % (i, e))
            if not t.is_active():
                t = login(a.port, a.user, a.cred)
    eq("6 SFTP channels opened one right after another on one "
       "connection", fails, [])
    t.close()


def case_pipeline(a):
    """Many large reads in flight without reading replies: the server
    holds back (bounded output) and then answers every one, in order."""
    F = a.folder
    data = os.urandom(1 << 20)
    with open(os.path.join(F, "pipe"), "wb") as f:
        f.write(data)
    t = login(a.port, a.user, a.cred)
    x = Raw(t, timeout=30)
    h, _ = x.open("/pipe", F_READ)
    n, step = 64, MAX_FRAME - 1024
    ids = []
    buf = b""
    for i in range(n):
        x.id += 1
        ids.append(x.id)
        pkt = bytes([FXP["READ"]]) + u32(x.id) + s(h) + \
            u64((i % 4) * step) + u32(step)
        buf += u32(len(pkt)) + pkt
    x.ch.sendall(buf)
    time.sleep(1)   # let the server fill its output
    good = 0
    for i, rid in enumerate(ids):
        t_, r = x.reply(rid)
        if t_ == FXP["DATA"]:
            off = (i % 4) * step
            good += r.str() == data[off:off + step]
    eq("%d pipelined 255 KiB reads answered in order with the right "
       "bytes" % n, good, n)
    x.close(h)
    t.close()


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


class Args:
    pass


def main():
    if len(sys.argv) < 6 or sys.argv[1] not in CASES:
        print("usage: protocol.py {%s} PORT USER CRED FOLDER [ARGS...]" %
              "|".join(sorted(CASES)))
        return 2
    a = Args()
    a.port, a.user, a.cred, a.folder = (int(sys.argv[2]), sys.argv[3],
                                        sys.argv[4], sys.argv[5])
    a.rest = sys.argv[6:]
    a.extra_int = int(a.rest[0]) if a.rest and a.rest[0].isdigit() else 0
    try:
        CASES[sys.argv[1]](a)
    except Exception as e:   # a crash of the test is a failure, not a pass
        import traceback
        traceback.print_exc(file=sys.stdout)
        check(False, "%s: unexpected %s: %s" % (sys.argv[1],
                                                type(e).__name__, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
