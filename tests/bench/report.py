#!/usr/bin/python3
"""tests/bench/report.py - the benchmark's table and JSON (run by bench.sh).

  report.py RUNDIR OUT.json

Reads RUNDIR/meta.tsv (one row per metric: id, label, unit, better
"higher"|"lower", goal ratio or "", name of the first column's server,
commands), RUNDIR/raw.tsv (id, side A|B, run number, value | FAIL | NA) and
RUNDIR/info.tsv (key, value).  Side A is the reference (OpenSSH, or Coffer
with quota off for the quota row), side B is Coffer.

A cell is the median of its runs; FAIL if any run failed its check (a fast
wrong answer scores nothing), n/a if the server refused the protocol.
The ratio is the median of B / A over the runs (each run of A and B back to
back); whether higher or lower is better is per row.
"""
import json
import os
import platform
import statistics
import sys


def read_tsv(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                rows.append(line.split("\t"))
    return rows


def cell(values):
    """(median or None, status) from a list of strings."""
    if not values:
        return None, "missing"
    if "FAIL" in values:
        return None, "FAIL"
    if "NA" in values:
        return None, "n/a"
    return statistics.median(float(v) for v in values), "ok"


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "kernel": platform.release(),
        "mem_mib": mem,
    }


def num(v):
    try:
        return float(v)
    except ValueError:
        return v


def fmt(v, status):
    if status != "ok":
        return status
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def main(rundir, out):
    meta = read_tsv(os.path.join(rundir, "meta.tsv"))
    raw = read_tsv(os.path.join(rundir, "raw.tsv"))
    info = dict((r[0], r[1] if len(r) > 1 else "")
                for r in read_tsv(os.path.join(rundir, "info.tsv")))
    runs, cpu = {}, {}
    for r in raw:
        runs.setdefault((r[0], r[1]), []).append(r[3])
        if len(r) > 4 and r[4] != "":
            cpu.setdefault((r[0], r[1]), []).append(float(r[4]))
    gib = float(info.get("size_mb", "1024")) / 1024

    results = []
    for m in meta:
        mid, label, unit, better, goal, a_name = m[:6]
        cmds = m[6:]
        a, a_st = cell(runs.get((mid, "A"), []))
        b, b_st = cell(runs.get((mid, "B"), []))
        # The ratio is the median of the per-run ratios: run i of A and of
        # B ran back to back, so drift of a shared machine cancels within
        # a pair better than between two medians.
        ratio = None
        if a_st == "ok" and b_st == "ok":
            pairs = [float(y) / float(x) for x, y in
                     zip(runs[(mid, "A")], runs[(mid, "B")]) if float(x) > 0]
            ratio = statistics.median(pairs) if pairs else None
        met = None
        if ratio is not None and goal:
            g = float(goal)
            met = ratio >= g if better == "higher" else ratio <= g
        row = {
            "id": mid, "metric": label, "unit": unit, "better": better,
            "reference": a_name,
            "a": {"median": a, "status": a_st,
                  "runs": [num(v) for v in runs.get((mid, "A"), [])],
                  "server_cpu_s": cpu.get((mid, "A"), [])},
            "b": {"median": b, "status": b_st,
                  "runs": [num(v) for v in runs.get((mid, "B"), [])],
                  "server_cpu_s": cpu.get((mid, "B"), [])},
            "ratio": ratio, "goal": float(goal) if goal else None,
            "goal_met": met, "commands": cmds,
        }
        results.append(row)
        # Server CPU (all its processes) per GiB moved, for the sftp big
        # file rows: a figure the machine's load disturbs less than time.
        # The quota row too: its throughput swings with the page cache
        # on this kind of machine; CPU is the ledger's cost.
        if mid.startswith(("big_up_sftp@", "big_down_sftp@", "quota")) and \
                a_st == "ok" and b_st == "ok":
            la, lb = cpu.get((mid, "A"), [0]), cpu.get((mid, "B"), [0])
            ca = statistics.median(la) / gib
            cb = statistics.median(lb) / gib
            pairs = [y / x for x, y in zip(la, lb) if x > 0]
            results.append({
                "id": mid + "#cpu", "metric": "  server CPU per GiB",
                "unit": "s/GiB", "better": "lower", "reference": a_name,
                "a": {"median": ca, "status": "ok"},
                "b": {"median": cb, "status": "ok"},
                "ratio": statistics.median(pairs) if pairs else None,
                "goal": None, "goal_met": None, "commands": [],
            })

    # The table.
    print()
    print("Coffer vs OpenSSH - median of %s run(s); big file %s MiB; "
          "MB = 10^6 bytes" % (info.get("runs", "?"),
                               info.get("size_mb", "?")))
    print("ratio = Coffer / OpenSSH: higher is better, except memory and CPU rows "
          "(lower is better).")
    print("The quota row compares Coffer with itself: first column = "
          "Coffer with quota off.")
    print("Servers' folders on: %s" % info.get("server_fs", "?"))
    w = max([len(r["metric"]) for r in results] + [6])
    head = "%-*s  %-9s %9s %9s %6s  %s" % (w, "metric", "unit", "OpenSSH",
                                          "Coffer", "ratio", "goal")
    print(head)
    print("-" * len(head))
    for r in results:
        ratio = "%.2f" % r["ratio"] if r["ratio"] is not None else "-"
        goal = ""
        if r["goal"] is not None:
            goal = "%s%.2f" % (">=" if r["better"] == "higher" else "<=",
                               r["goal"])
            if r["goal_met"] is not None:
                goal += " ok" if r["goal_met"] else " SHORT"
        print("%-*s  %-9s %9s %9s %6s  %s" % (
            w, r["metric"], r["unit"], fmt(r["a"]["median"],
                                           r["a"]["status"]),
            fmt(r["b"]["median"], r["b"]["status"]), ratio, goal))
    print()

    doc = {
        "date": info.get("date"),
        "machine": machine(),
        "settings": {k: v for k, v in info.items() if k != "date"},
        "note": "a = reference (OpenSSH sshd, or Coffer quota off for "
                "the quota row), b = Coffer; a and b medians of their runs; "
                "ratio = median over runs of b_i / a_i; MB = 10^6 bytes",
        "results": results,
    }
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print("figures written to %s" % out)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
