#!/usr/bin/python3
"""tests/bench/procs.py - process helpers for bench.sh (no ps on the box).

  procs.py descendants PID...
      every descendant of the PIDs, one per line (for cleanup)
  procs.py reaper CMD...
      runs CMD as a child subreaper: descendants orphaned on the way (sshd's
      session child outlives its monitor) are reparented to it and reaped,
      so their CPU time is accounted for; forwards TERM/INT/HUP to CMD and
      exits with it
  procs.py cpu PID
      CPU seconds used by PID's tree: for every live process in it, its own
      user+system time plus that of the children it has reaped
  procs.py idle N SERVER_PID CLIENT_CMD...
      opens N sftp sessions (CLIENT_CMD, e.g. "sftp -P PORT ... user@host")
      that stay connected and idle, checks each one answers "pwd", then
      prints "RSS_KIB PSS_KIB COUNT": the summed VmRSS and Pss of the
      server's descendants that appeared for them, and how many there are.
      Exits 1 if a session did not come up.
"""
import os
import select
import signal
import subprocess
import sys
import time


def table():
    """pid -> ppid for every process."""
    t = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(")") + 2:].split()
        t[int(d)] = int(rest[1])
    return t


def descendants(roots):
    t = table()
    kids = {}
    for p, pp in t.items():
        kids.setdefault(pp, []).append(p)
    out, front = [], list(roots)
    while front:
        nxt = []
        for p in front:
            nxt.extend(kids.get(p, []))
        out.extend(nxt)
        front = nxt
    return out


def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    return s[s.rfind(")") + 2:].split()


def cpu(root):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in [root] + descendants([root]):
        try:
            f = stat_fields(p)
        except OSError:
            continue
        # utime stime cutime cstime: fields 14-17, here 11-14
        total += sum(int(x) for x in f[11:15])
    return total / tick


def reaper(cmd):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write("reaper: prctl failed; CPU of orphans is lost\n")
    child = os.fork()
    if child == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)

    def forward(sig, frame):
        try:
            os.kill(child, sig)
        except OSError:
            pass
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if pid == child:
            return os.waitstatus_to_exitcode(status) & 0xff


def field_kib(path, name):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def idle(n, server, cmd):
    before = set(descendants([server]))
    clients = []
    try:
        for _ in range(n):
            c = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
            c.stdin.write(b"pwd\n")
            c.stdin.flush()
            clients.append(c)
        for c in clients:
            got, deadline = b"", time.time() + 60
            while b"Remote working directory" not in got:
                left = deadline - time.time()
                if left <= 0 or c.poll() is not None:
                    sys.stderr.write("idle: a session did not come up: %r\n"
                                     % got[-300:])
                    return 1
                r, _, _ = select.select([c.stdout], [], [], left)
                if r:
                    chunk = os.read(c.stdout.fileno(), 4096)
                    if not chunk:
                        continue
                    got += chunk
        time.sleep(1.0)  # let every server process settle
        procs = [p for p in descendants([server]) if p not in before]
        rss = sum(field_kib(f"/proc/{p}/status", "VmRSS") for p in procs)
        pss = sum(field_kib(f"/proc/{p}/smaps_rollup", "Pss")
                  for p in procs)
        print(rss, pss, len(procs))
        return 0
    finally:
        for c in clients:
            try:
                c.stdin.write(b"bye\n")
                c.stdin.close()
            except OSError:
                pass
        for c in clients:
            try:
                c.wait(timeout=20)
            except subprocess.TimeoutExpired:
                c.kill()
                c.wait()


def main(argv):
    if len(argv) >= 2 and argv[0] == "descendants":
        for p in descendants([int(x) for x in argv[1:]]):
            print(p)
        return 0
    if len(argv) >= 2 and argv[0] == "reaper":
        return reaper(argv[1:])
    if len(argv) == 2 and argv[0] == "cpu":
        print("%.2f" % cpu(int(argv[1])))
        return 0
    if len(argv) >= 4 and argv[0] == "idle":
        return idle(int(argv[1]), int(argv[2]), argv[3:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
