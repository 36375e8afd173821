"""End-to-end checks of diff, merge and run --compare."""
import json
import os
import re
import shutil


def run_all(t):
    tmp, fix = t.TMP, t.FIX
    env = {"PYTHONHASHSEED": "0"}
    v1, v2 = os.path.join(fix, "diff_v1"), os.path.join(fix, "diff_v2")

    def profile(name, folder, extra=()):
        out = os.path.join(tmp, name)
        r = t.opprof(["run", "-q", "-o", out] + list(extra) + ["app.py"], cwd=folder, env=env)
        t.check(f"diff: {name} profiled", r.returncode == 0 and os.path.exists(out), r.stderr)
        return out

    profile("warmup.json", v1)       # fills __pycache__: imports do the same work from now on
    profile("warmup2.json", v2)
    a1, a2 = profile("a1.json", v1), profile("a2.json", v1)
    b = profile("b.json", v2)

    # the bundled CI benchmark, run twice: exactly zero, all gated
    bench = os.path.join(os.path.dirname(os.path.dirname(t.HERE)), "scripts", "examples")
    c1, c2 = [os.path.join(tmp, f"ci{i}.json") for i in (1, 2)]
    for out in (c1, c1, c2):     # the first run is the warm-up
        t.opprof(["run", "-q", "-o", out, "ci_bench.py"], cwd=bench, env=env)
    r = t.opprof(["diff", "--format", "json", c1, c2])
    d = json.loads(r.stdout) if r.returncode == 0 else {}
    t.check("diff: scripts/examples/ci_bench.py twice -> zero delta", r.returncode == 0 and
            d["total"]["delta"] == 0 and d["total"]["before"] > 10000, r.stdout[:300] + r.stderr)

    # identical runs: exit 0, a delta of exactly zero
    r = t.opprof(["diff", "--format", "json", a1, a2])
    d = json.loads(r.stdout) if r.returncode == 0 else {}
    t.check("diff: identical runs exit 0 with zero delta", r.returncode == 0 and
            d["total"]["delta"] == 0 and all(f["status"] == "same" for f in d["functions"]),
            r.stdout[:300] + r.stderr)

    # more work in one function: exit 3, that function first, its opcodes named
    r = t.opprof(["diff", "--format", "json", "--threshold", "2%", a1, b])
    d = json.loads(r.stdout) if r.stdout.startswith("{") else {}
    first = d.get("functions", [{}])[0]
    ops = {o["opname"]: o["delta"] for o in first.get("opcodes", [])}
    t.check("diff: a regression exits 3 with the grown function first",
            r.returncode == 3 and first.get("qualname") == "work" and first.get("file") == "app.py"
            and d["verdict"] == "regression", f"{r.returncode} {first} {r.stderr}")
    t.check("diff: the regressed function's opcode deltas are named",
            ops.get("LOAD_GLOBAL", 0) > 0, str(ops))
    r = t.opprof(["diff", "--threshold", "2%", a1, b])
    lines = r.stdout.splitlines()
    work_line = next((i for i, l in enumerate(lines) if "work (app.py" in l), None)
    t.check("diff: text names the function and its opcodes", r.returncode == 3 and
            work_line is not None and any("LOAD_GLOBAL" in l for l in lines[work_line:]),
            r.stdout)
    r = t.opprof(["diff", "--soft", "--threshold", "2%", a1, b])
    t.check("diff: --soft limits only warn", r.returncode == 0, r.stdout[-300:])
    r = t.opprof(["diff", "--threshold", "1000%", a1, b])
    t.check("diff: growth under the limit exits 0", r.returncode == 0, r.stdout[-300:])
    r = t.opprof(["diff", "--threshold", "1000%", "--function-threshold", "5%", a1, b])
    t.check("diff: --function-threshold gates one function", r.returncode == 3, r.stdout[-300:])
    r = t.opprof(["diff", b, a1])
    t.check("diff: an improvement never fails", r.returncode == 0, r.stdout[-300:])
    r = t.opprof(["diff", "--metric", "time", "--soft", "--format", "json", a1, b])
    d = json.loads(r.stdout) if r.stdout.startswith("{") else {}
    t.check("diff: --metric time compares sampled times, with a warning",
            r.returncode == 0 and d.get("metric") == "time" and "noisy" not in r.stdout
            and "time varies" in r.stderr, r.stderr)
    untimed = profile("untimed.json", v1, ["--no-time"])
    r = t.opprof(["diff", "--metric", "time", a1, untimed])
    t.check("diff: --metric time refuses a profile without times (exit 2)",
            r.returncode == 2 and "no times" in r.stderr, r.stderr)
    gated = []
    for extra in ([], ["--include-imports"]):
        r = t.opprof(["diff", "--format", "json"] + extra + [a1, a2])
        d = json.loads(r.stdout) if r.stdout.startswith("{") else {}
        gated.append(d.get("total", {}).get("before", 0))
        imports = [f for f in d.get("functions", []) if f["file"].startswith("<frozen importlib")]
        t.check(f"diff: import machinery {'gated' if extra else 'not gated'} "
                f"{' '.join(extra)}", imports and all(f["gated"] == bool(extra) for f in imports),
                str(imports[:1]))
    t.check("diff: --include-imports adds to the gated total", gated[1] > gated[0], str(gated))

    for fmt in ("markdown", "github", "junit"):
        r = t.opprof(["diff", "--format", fmt, "--threshold", "2%", a1, b])
        t.check(f"diff: --format {fmt} exits 3", r.returncode == 3 and r.stdout, r.stderr)
        if fmt == "markdown":
            t.check("diff: markdown has a summary line and a table", r.stdout.startswith("**")
                    and "| " in r.stdout and "work" in r.stdout, r.stdout[:300])
        if fmt == "github":
            t.check("diff: github annotates work's first line",
                    "::error file=app.py,line=" in r.stdout, r.stdout[:300])
        if fmt == "junit":
            xml = os.path.join(tmp, "diff.xml")
            with open(xml, "w") as f:
                f.write(r.stdout)
            if shutil.which("xmllint"):
                x = t.run(["xmllint", "--noout", xml])
                t.check("diff: junit is well-formed (xmllint)", x.returncode == 0, x.stderr)
            else:
                print("SKIP diff: junit well-formedness: xmllint is not installed "
                      "(apt-get install libxml2-utils)")

    # foreign interpreter: refused with exit 2 unless allowed
    foreign = os.path.join(tmp, "foreign.json")
    p = t.load(a1)
    p["python"]["hexversion"] += 1
    p["python"]["build"] = "9.9.9 (other)"
    with open(foreign, "w") as f:
        json.dump(p, f)
    r = t.opprof(["diff", a1, foreign])
    t.check("diff: another interpreter is refused with exit 2 and one line",
            r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("opprof: "),
            r.stderr)
    r = t.opprof(["diff", "--allow-interpreter-mismatch", a1, foreign])
    t.check("diff: --allow-interpreter-mismatch compares with a warning",
            r.returncode == 0 and "different interpreters" in r.stdout, r.stdout[-300:])

    # bad input: one line, exit 2
    text = open(a1).read()
    bad = {"truncated": text[: len(text) // 2], "empty": "", "not-json": "hello",
           "array": "[1, 2]", "other-schema": '{"schema": "x", "version": 1}',
           "version-3": text.replace('"version":2', '"version":3', 1),
           "v2-not-first": text.replace('{"schema":"opprof-profile","version":2,',
                                        '{"root":"x","schema":"opprof-profile","version":2,', 1)}
    for name, content in bad.items():
        path = os.path.join(tmp, name + ".json")
        with open(path, "w") as f:
            f.write(content)
        r = t.opprof(["diff", a1, path])
        t.check(f"diff: {name} profile -> exit 2, one line", r.returncode == 2 and
                r.stderr.count("\n") == 1 and r.stderr.startswith("opprof: "), r.stderr)
    r = t.opprof(["diff", a1, os.path.join(tmp, "missing.json")])
    t.check("diff: missing profile -> exit 2", r.returncode == 2, r.stderr)
    for path, says in ((tmp, "is a directory, not a profile"),
                       ("/dev/null", "is a device, not a profile")):
        for cmd in (["diff", a1, path], ["report", path], ["merge", "-o", "-", a1, path]):
            r = t.opprof(cmd)
            t.check(f"{cmd[0]}: {path} as a profile -> exit 2, one fitting line",
                    r.returncode == 2 and r.stderr.count("\n") == 1 and says in r.stderr,
                    r.stderr)
    # counts no run can make: refused, not summed into overflow
    huge = os.path.join(tmp, "huge.json")
    with open(huge, "w") as f:
        f.write(re.sub(r'"counts":\[\d+', '"counts":[9223372036854775807', text))
    r = t.opprof(["diff", huge, huge])
    t.check("diff: INT64_MAX counts -> exit 2, one line", r.returncode == 2 and
            r.stderr.count("\n") == 1 and ("2^63-1" in r.stderr or "not the sum" in r.stderr),
            r.stderr)
    # a piped profile is read as a stream, as "-" is
    r = t.run(["sh", "-c", f"cat {a1} | {' '.join(t.VALGRIND + [t.OPPROF])} report /dev/stdin"])
    t.check("report of a pipe (/dev/stdin): read as a stream", r.returncode == 0, r.stderr)
    r = t.opprof(["diff", a1])
    t.check("diff: one profile only -> exit 2", r.returncode == 2, r.stderr)
    r = t.opprof(["diff", "--format", "yaml", a1, a2])
    t.check("diff: unknown format -> exit 2", r.returncode == 2, r.stderr)

    # merge: sums, and is associative
    def merge(out, *ins):
        r = t.opprof(["merge", "-o", out] + list(ins))
        t.check(f"merge: {os.path.basename(out)} written", r.returncode == 0, r.stderr)
        return out
    ab = merge(os.path.join(tmp, "ab.json"), a1, b)
    abc_left = merge(os.path.join(tmp, "ab_c.json"), ab, a2)
    bc = merge(os.path.join(tmp, "bc.json"), b, a2)
    abc_right = merge(os.path.join(tmp, "a_bc.json"), a1, bc)
    t.check("merge: merge(a, merge(b, c)) == merge(merge(a, b), c)",
            open(abc_left).read() == open(abc_right).read(), "")
    # merge adds each function and node as it reads it (opprof's key
    # order); a file in another order is read whole, to the same sum
    def reorder(src, name, top=None, cols=None):
        p = json.load(open(src))
        if top:
            p = {k: p[k] for k in top(list(p))}
        if cols:
            p["nodes"] = {k: p["nodes"][k] for k in cols(list(p["nodes"]))}
        dst = os.path.join(tmp, name)
        with open(dst, "w") as f:
            json.dump(p, f)
        return dst
    def last(key):
        return lambda keys: [k for k in keys if k != key] + [key]
    late_threads = reorder(b, "late_threads.json", top=last("threads"))
    late_thread_col = reorder(b, "late_thread_col.json", cols=last("thread"))
    for path in (late_threads, late_thread_col):
        out = merge(os.path.join(tmp, "ab_" + os.path.basename(path)), a1, path)
        t.check(f"merge: {os.path.basename(path)} (read whole) sums as opprof's order does",
                open(out).read() == open(ab).read(), "")
    if "time_ns" in json.load(open(b))["nodes"]:
        late_time = reorder(b, "late_time.json", cols=last("time_ns"))
        r = t.opprof(["merge", "-o", os.path.join(tmp, "lt.json"), a1, late_time])
        t.check("merge: nodes.time_ns after nodes.ops -> exit 2, one line naming it",
                r.returncode == 2 and r.stderr.count("\n") == 1 and "time_ns" in r.stderr,
                r.stderr)
        r = t.opprof(["report", late_time])
        t.check("report: nodes.time_ns after nodes.ops is read", r.returncode == 0, r.stderr)
    m = t.load(ab)
    t.check("merge: totals add up", m["totals"]["instructions"] ==
            t.load(a1)["totals"]["instructions"] + t.load(b)["totals"]["instructions"], "")
    r = t.opprof(["merge", "-o", os.path.join(tmp, "mix.json"), a1, foreign])
    t.check("merge: another interpreter is refused with exit 2", r.returncode == 2, r.stderr)

    # run --compare: one step; the script's failure outranks a regression
    r = t.opprof(["run", "-q", "-o", os.path.join(tmp, "c.json"), "--compare", a1,
                  "--threshold", "2%", "app.py"], cwd=v2, env=env)
    t.check("run --compare: regression -> exit 3, stderr says so", r.returncode == 3 and
            "regression against" in r.stderr and r.stdout.startswith("total="), r.stderr[-400:])
    r = t.opprof(["run", "-q", "-o", os.path.join(tmp, "c.json"), "--compare", a1, "app.py"],
                 cwd=v1, env=env)
    t.check("run --compare: no regression -> exit 0", r.returncode == 0 and
            "no regression" in r.stderr, r.stderr[-400:])
    r = t.opprof(["run", "-q", "-o", os.path.join(tmp, "c.json"), "--compare", a1, "-c",
                  "import sys; sys.exit(5)"], env=env)
    t.check("run --compare: the script's own status wins", r.returncode == 5 and
            "exited with status 5" in r.stderr, r.stderr[-400:])
    r = t.opprof(["run", "-q", "-o", os.path.join(tmp, "c.json"), "--compare",
                  os.path.join(tmp, "truncated.json"), "app.py"], cwd=v1, env=env)
    t.check("run --compare: a bad baseline -> 65 before the run", r.returncode == 65 and
            not r.stdout and "bad baseline" in r.stderr, r.stderr)
