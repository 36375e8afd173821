"""Profile v2 end to end (reports/model/profile-v2.md): what opprof writes
reads back to the same bytes, plain or gzip; version 1 stays readable and
`--format json-v1` keeps its layout; a program of 10,000 functions gives a
profile that grows with the functions, not faster."""
import gzip
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
V1_FIXTURE = os.path.join(HERE, "fixtures", "profiles", "v1-loops-3.11.json")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def round_trips(t):
    out = os.path.join(t.TMP, "rt.json")
    r = t.opprof(["run", "-q", "-o", out, "recursion.py"])
    if r.returncode != 0 or not os.path.exists(out):
        t.check("profile: a run to read back", False, r.stderr[-500:])
        return
    again = os.path.join(t.TMP, "rt-again.json")
    r = t.opprof(["report", out, "--format", "json", "-o", again])
    t.check("profile: written, read and written again gives the same bytes",
            r.returncode == 0 and read(again) == read(out), r.stderr)
    gz = os.path.join(t.TMP, "rt.json.gz")
    r = t.opprof(["report", out, "--format", "json", "-o", gz])
    data = read(gz) if os.path.exists(gz) else b""
    t.check("profile: .gz is gzip of the same bytes, mtime 0",
            r.returncode == 0 and data[:2] == b"\x1f\x8b" and data[4:8] == b"\0\0\0\0" and
            gzip.decompress(data) == read(out), r.stderr)
    a = t.opprof(["report", out])
    b = t.opprof(["report", gz])
    t.check("profile: a .gz profile reads as the plain one", b.returncode == 0 and
            b.stdout.replace(gz, out) == a.stdout, b.stderr)
    r = t.run(["sh", "-c", f"cat {gz} | {' '.join(t.VALGRIND + [t.OPPROF])} report -"])
    t.check("profile: gzip through a pipe", r.returncode == 0 and "instructions" in r.stdout,
            r.stderr)
    # the v1 layout: the same run, read back losslessly, and comparable
    v1 = os.path.join(t.TMP, "rt-v1.json")
    v1b = os.path.join(t.TMP, "rt-v1b.json")
    r1 = t.opprof(["report", out, "--format", "json-v1", "-o", v1])
    r2 = t.opprof(["report", v1, "--format", "json-v1", "-o", v1b])
    t.check("profile: json-v1 writes version 1, which reads back to the same bytes",
            r1.returncode == r2.returncode == 0 and read(v1).startswith(
                b'{"schema":"opprof-profile","version":1,') and read(v1) == read(v1b),
            r1.stderr + r2.stderr)
    r = t.opprof(["diff", v1, out])
    t.check("profile: diff of a v1 and a v2 profile of one run: no change",
            r.returncode == 0 and "no function changed" in r.stdout and
            "verdict: ok" in r.stdout, r.stdout[-400:] + r.stderr)
    p1, p2 = t.load(v1), t.load(out)
    t.check("profile: v1 and v2 of one run hold the same counts and stacks",
            p1["functions"] == p2["functions"] and p1["stacks"] == p2["stacks"] and
            p1["totals"]["instructions"] == p2["totals"]["instructions"], "")


def old_v1(t):
    """A profile the previous opprof wrote (version 1, Debian's 3.11)."""
    r = t.opprof(["report", V1_FIXTURE])
    t.check("profile: a v1 file of the previous opprof: report", r.returncode == 0 and
            "instructions" in r.stdout, r.stderr)
    r = t.opprof(["annotate", V1_FIXTURE, "work"])
    t.check("profile: a v1 file of the previous opprof: annotate with its listing",
            r.returncode == 0 and "STORE_FAST" in r.stdout and "no disassembly" not in r.stdout,
            r.stdout[:300] + r.stderr)
    r = t.opprof(["diff", V1_FIXTURE, V1_FIXTURE])
    t.check("profile: a v1 file of the previous opprof: diff", r.returncode == 0, r.stderr)
    v2 = os.path.join(t.TMP, "from-v1.json")
    r = t.opprof(["report", V1_FIXTURE, "--format", "json", "-o", v2])
    r2 = t.opprof(["diff", V1_FIXTURE, v2])
    t.check("profile: a v1 file converts to v2 and compares equal", r.returncode == 0 and
            r2.returncode == 0 and t.load(v2)["stacks"] == t.load(V1_FIXTURE)["stacks"],
            r.stderr + r2.stderr)


def many_functions(t):
    """A smoke check of linearity, not a timing gate."""
    n = 1000 if t.VALGRIND else 10000
    src = os.path.join(t.TMP, "many.py")
    with open(src, "w") as f:
        f.write("".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(n)))
        f.write(f"t = 0\nfor g in [globals()['f%d' % i] for i in range({n})]:\n"
                "    t = g(t)\nprint(t)\n")
    out = os.path.join(t.TMP, "many.json")
    r = t.opprof(["run", "-q", "-o", out, src], timeout=900)
    ok = r.returncode == 0 and os.path.exists(out)
    size = os.path.getsize(out) if ok else 0
    nfun = len(t.load(out)["functions"]) if ok else 0
    t.check(f"profile: {n} functions run and are profiled ({size} bytes, "
            f"{size // max(nfun, 1)} per function)",
            ok and r.stdout.strip() == str(n * (n - 1) // 2) and nfun > n and
            size < 1500 * nfun, r.stderr[-500:])


def lines(t):
    """--lines: each call path knows the line of its call in its caller, and
    what it ran per line and opcode adds up, path by path, to exactly the
    function's per-instruction counts; without --lines the profile is as
    before (no callsite, no sites) and counts the same."""
    src = os.path.join(t.FIX, "callsites.py")
    out, plain = os.path.join(t.TMP, "lines.json"), os.path.join(t.TMP, "nolines.json")
    r = t.opprof(["run", "-q", "--lines", "--no-time", "-o", out, src])
    r2 = t.opprof(["run", "-q", "--no-time", "-o", plain, src])
    ran = r.returncode == r2.returncode == 0 and r.stdout == r2.stdout == "7 40\n"
    t.check("profile: --lines runs the fixture as python does", ran,
            r.stderr[-400:] + r2.stderr[-400:])
    if not ran:
        return
    raw, v1, v1plain = t.load_raw(out), t.load(out), t.load(plain)
    t.check("profile: --lines counts every function as without it",
            [f["code"] for f in v1["functions"]] == [f["code"] for f in v1plain["functions"]],
            "")
    t.check("profile: without --lines, no callsite and no sites",
            "callsite" not in t.load_raw(plain)["nodes"] and
            "sites" not in t.load_raw(plain)["nodes"], "")
    S, fns, nodes = raw["strings"], raw["functions"], raw["nodes"]
    opidx = {n: i for i, n in enumerate(raw["opnames"])}
    name = [S[f["qualname"]] for f in fns]
    # each executed instruction, per function (v1's per-instruction objects):
    # a call site is one, as the call ran
    code = [{c["offset"]: c for c in f["code"]} for f in v1["functions"]]

    def call_line(i):
        f = nodes["function"][nodes["parent"][i]]
        c = code[f].get(nodes["callsite"][i], {})
        return (name[f], c.get("line"), c.get("opname"))

    sites = {}
    for i, fid in enumerate(nodes["function"]):
        if nodes["parent"][i] >= 0 and name[fid] in ("leaf", "gen", "Box.__init__"):
            sites.setdefault(name[fid], []).append(call_line(i))
    expect = {"leaf": [("mid", 12), ("mid", 13)], "gen": [("<module>", 29), ("<module>", 30)],
              "Box.__init__": [("<listcomp>" if t.PYVER < (3, 12) else "<module>", 32)]}
    got = {k: sorted((c, l) for c, l, _ in v) for k, v in sites.items()}
    t.check("profile: --lines: each call path has the line of its call in its caller "
            "(two call sites, two paths)", got == expect, f"{got} != {expect} ({sites})")
    # a node's sites over its function's (line, op) pairs, added up over
    # the function's nodes, are the function's own counts by (line, op)
    ok, why = True, ""
    for fid, f in enumerate(v1["functions"]):
        own = {}
        for c in f["code"]:
            k = (-1 if c["line"] is None else c["line"], c["opname"])
            own[k] = own.get(k, 0) + c["count"]
        keys = sorted(own, key=lambda k: (k[0] + 1, opidx[k[1]]))
        total = {}
        for i, nf in enumerate(nodes["function"]):
            if nf != fid:
                continue
            vals = []
            for x in nodes["sites"][i]:
                vals.extend([vals[-1]] * -x if x < 0 else [x])
            if sum(vals) != runs_sum(nodes["instructions"], i):
                ok, why = False, f"node {i} of {name[fid]}: sites {sum(vals)}"
            for k, v in zip(keys, vals):
                total[k] = total.get(k, 0) + v
        if {k: v for k, v in total.items() if v} != {k: v for k, v in own.items() if v}:
            ok, why = False, f"{name[fid]}: {total} != {own}"
    t.check("profile: --lines: the call paths' counts per line and opcode add up to each "
            "function's exact counts", ok, why)


def runs_sum(col, i):
    """Entry i of a column with runs (profile-v2.md)."""
    out = []
    for x in col:
        out.extend([out[-1]] * -x if x < 0 else [x])
    return out[i]


def run_all(t):
    lines(t)
    round_trips(t)
    old_v1(t)
    many_functions(t)
