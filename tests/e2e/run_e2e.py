"""End-to-end tests: run build/opprof on fixtures and check it against
python itself and against an independent pure-Python reference.

Environment: OPPROF (the binary), PYTHON_EXE (the python it was built for).
Prints one line per failure and ends with "e2e: N passed, N failed".
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")
OPPROF = os.path.abspath(os.environ["OPPROF"])
PYTHON = os.environ.get("PYTHON_EXE") or sys.executable
VALGRIND = os.environ.get("VALGRIND", "").split()
QUICK = bool(os.environ.get("E2E_QUICK"))
TMP = tempfile.mkdtemp(prefix="opprof-e2e-")

passed = failed = 0
compared = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}"[:2000])


def run(cmd, cwd=FIX, stdin="", env=None, timeout=600):
    e = dict(os.environ)
    e.setdefault("PYTHONHASHSEED", "0")
    if env:
        e.update(env)
    return subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True,
                          env=e, timeout=timeout)


def opprof(args, **kw):
    return run(VALGRIND + [OPPROF] + args, **kw)


# What the tools a test build runs under say on the process's stderr,
# which output comparisons must not count as the program's: AddressSanitizer
# on a context switch (crash.c moves the writer onto a stack of its own with
# makecontext), and valgrind's own notes ("--PID-- ...", e.g. a system call
# it does not know: pidfd_open under 3.14's asyncio).  Both are warnings;
# valgrind's errors ("==PID== ...") stay.
ASAN_NOTES = ("WARNING: ASan doesn't fully support makecontext",
              "WARNING: ASan is ignoring requested __asan_handle_no_return",
              "False positive error reports may follow",
              "For details see https://github.com/google/sanitizers/issues/189")
VALGRIND_NOTE = re.compile(r"^--\d+-- ")


def without_tool_notes(text):
    return "".join(l for l in text.splitlines(True)
                   if not any(n in l for n in ASAN_NOTES) and
                   not (VALGRIND and VALGRIND_NOTE.match(l)))


def without_opprof_lines(text):
    """The program's stderr: without opprof's own lines, nor the tools'."""
    return "".join(l for l in without_tool_notes(text).splitlines(True)
                   if not l.startswith("opprof: "))


def load_raw(path):
    """The file as it is: v2's own layout (totals are where v1 has them)."""
    with open(path) as f:
        return json.load(f)


def load(path):
    """A profile in v1's layout, through `report --format json-v1`: the
    tests read per-instruction objects and stacks as frame lists, which v2
    stores as columns and a tree (reports/model/profile-v2.md).  Not under
    valgrind: the run that wrote it was.  Other JSON (the reference
    counter's) is read as it is."""
    with open(path, "rb") as f:
        head = f.read(64)
    if not head.startswith(b'{"schema":"opprof-profile","version":2') and head[:2] != b"\x1f\x8b":
        with open(path) as f:
            return json.load(f)
    r = subprocess.run([OPPROF, "report", path, "--format", "json-v1"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise ValueError(f"{path}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def from_fixtures(file, strings=False):
    """Code of the fixtures; "<string>" too where the case execs strings
    (the stdlib execs its own strings, e.g. in dataclasses)."""
    pseudo = strings if isinstance(strings, str) else "<string>"   # or "<stdin>"
    return file.startswith(FIX + os.sep) or (bool(strings) and file == pseudo)


def profile_counts(prof, strings=False):
    """(file, name, firstlineno, offset) -> [opname, count] for fixture code."""
    out = {}
    for f in prof["functions"]:
        if not from_fixtures(f["file"], strings):
            continue
        for ins in f["code"]:
            k = (f["file"], f["name"], f["firstlineno"], ins["offset"])
            prev = out.get(k, [ins["opname"], 0])
            out[k] = [ins["opname"], prev[1] + ins["count"]]
    return out


def observer_effect(counts, k):
    """3.14 runs a suspended generator's implicit StopIteration handler
    (CALL_INTRINSIC_1 then RERAISE) when it is closed only while a tool
    listens for PY_UNWIND (genobject.c gen_close), as opprof did with
    stacks on until it dropped return events: where a run has them they
    really ran, and not in one without (README)."""
    if PYVER < (3, 14):
        return False
    op = counts.get(k, [None])[0]
    at = lambda d: counts.get(k[:3] + (k[3] + d,), [None])[0]
    return (op == "CALL_INTRINSIC_1" and at(2) == "RERAISE") or \
        (op == "RERAISE" and at(-2) == "CALL_INTRINSIC_1")


def compare_counts(name, prof, ref_path, strings):
    global compared
    ref = load(ref_path)
    mine = profile_counts(prof, strings)
    theirs, skip = {}, set()
    for f in ref:
        if not from_fixtures(f["file"], strings):
            continue
        base = (f["file"], f["name"], f["firstlineno"])
        for off, n in f["counts"].items():
            k = base + (int(off),)
            theirs[k] = theirs.get(k, 0) + n
        skip.update(base + (o,) for o in f["excluded"])
    bad = []
    for k in sorted(set(mine) | set(theirs), key=str):
        if k in skip or (observer_effect(mine, k) and mine[k][1] >= theirs.get(k, 0)):
            continue
        a = mine.get(k, [None, 0])[1]
        b = theirs.get(k, 0)
        compared += 1
        if a != b:
            bad.append(f"{os.path.basename(k[0])}:{k[1]}@{k[3]} "
                       f"{mine.get(k, ['?'])[0]} opprof={a} reference={b}")
    check(f"{name}: counts equal the reference ({len(theirs)} instructions)",
          not bad and theirs, "; ".join(bad[:8]) or "nothing compared")


CASES = [
    # name, python arguments, stdin
    ("loops", ["loops.py", "a", "b"], ""),
    ("classes", ["classes.py"], ""),
    ("recursion", ["recursion.py"], ""),
    ("generators", ["generators.py"], ""),
    ("exceptions", ["exceptions.py"], ""),
    ("closures", ["closures.py"], ""),
    ("async", ["async_fixture.py"], ""),
    ("threads", ["threads.py"], ""),
    ("exec", ["exec_string.py"], ""),
    ("jumps", ["jumps.py"], ""),
    ("sys_exit", ["sys_exit.py"], ""),
    ("exit_msg", ["exit_msg.py"], ""),
    ("uncaught", ["uncaught.py"], ""),
    ("module", ["-m", "mpkg.tool", "x", "y"], ""),
    ("command", ["-c", "import sys\nt = 0\nfor i in range(30):\n    t += i\nprint(t, sys.argv)", "z"], ""),
    ("stdin", ["-", "z"], "import sys\nt = 0\nfor i in range(40):\n    t += i\nprint(t, sys.argv)\n"),
]


def test_case(name, args, stdin):
    out = os.path.join(TMP, name + ".json")
    ref = os.path.join(TMP, name + ".ref.json")
    py = run([PYTHON] + args, stdin=stdin)
    op = opprof(["run", "-q", "-o", out] + args, stdin=stdin)
    check(f"{name}: same stdout as python", op.stdout == py.stdout,
          f"{op.stdout!r} != {py.stdout!r}")
    check(f"{name}: same exit status as python ({py.returncode})",
          op.returncode == py.returncode, f"{op.returncode}")
    err = without_opprof_lines(op.stderr)
    check(f"{name}: same stderr as python", err == py.stderr, f"{err!r} != {py.stderr!r}")
    if not os.path.exists(out):
        check(f"{name}: profile written", False, op.stderr)
        return None
    prof = load(out)
    check(f"{name}: exit_status recorded", prof["exit_status"] == py.returncode,
          str(prof["exit_status"]))
    check_times(name, prof)
    if QUICK:
        return prof
    strings = {"command": "<string>", "stdin": "<stdin>"}.get(name, False)
    a = profile_counts(prof, strings)
    # every way of counting must give the same numbers as the default
    modes = [["--no-stacks"], ["--no-time"]]
    if PYVER >= (3, 12):
        modes += [["--instruction-events"], ["--instruction-events", "--no-stacks"]]
    for extra in modes:
        alt = os.path.join(TMP, name + "".join(extra) + ".json")
        r = opprof(["run", "-q"] + extra + ["-o", alt] + args, stdin=stdin)
        b = profile_counts(load(alt), strings) if os.path.exists(alt) else {"missing": r.stderr}
        diff = [f"{k[1]}@{k[3]} {a.get(k)} {b.get(k)}" for k in set(a) | set(b)
                if a.get(k) != b.get(k) and not (observer_effect(a, k) or observer_effect(b, k))]
        check(f"{name}: {' '.join(extra)} gives the same counts ({len(a)})",
              not diff and a, "; ".join(diff[:8]))
    check(f"{name}: counts consistent", not prof["incomplete"],
          prof.get("incomplete_reason", ""))
    r = run([PYTHON, os.path.join(HERE, "reference.py"), ref] + args, stdin=stdin)
    if r.returncode != py.returncode or not os.path.exists(ref):
        check(f"{name}: reference ran", False, r.stderr[-500:])
        return prof
    compare_counts(name, prof, ref, strings)
    return prof


def check_times(name, prof):
    """Sampled times: present, consistent sums, never negative."""
    if not prof.get("timing"):
        check(f"{name}: timed by default", False, "no timing object")
        return
    fns = prof["functions"]
    ok = all(f["time_ns"] == sum(i.get("time_ns", 0) for i in f["code"]) for f in fns)
    check(f"{name}: function time is the sum of its instructions", ok, "")
    check(f"{name}: total time is the sum over functions",
          prof["totals"]["time_ns"] == sum(f["time_ns"] for f in fns), "")
    t = prof["timing"]
    check(f"{name}: sampled time adds up", t["sampled_ns"] ==
          prof["totals"]["time_ns"] + t["overhead_ns"] + t["unattributed_ns"], str(t))
    if prof["stacks"]:
        check(f"{name}: stack times add up", prof["totals"]["time_ns"] ==
              sum(s.get("time_ns", 0) for s in prof["stacks"]), "")
        check(f"{name}: cumulative >= self", all(f["cumulative_ns"] >= f["time_ns"] for f in fns),
              str([(f["qualname"], f["time_ns"], f["cumulative_ns"]) for f in fns
                   if f["cumulative_ns"] < f["time_ns"]][:3]))


def fn(prof, name):
    return [f for f in prof["functions"] if f["name"] == name and from_fixtures(f["file"])]


def test_model(profs):
    p = profs.get("classes")
    if p:
        quals = {f["qualname"] for f in p["functions"] if from_fixtures(f["file"])}
        want = {"<module>", "Base", "Base.__init__", "Base.value", "Base.double",
                "Base.make", "Outer", "Outer.Inner", "Outer.Inner.value",
                "Outer.method", "Outer.method.<locals>.local"}
        check("qualnames rebuilt/read correctly", want <= quals, str(sorted(want - quals)))
        scopes = {f["qualname"]: f["scope"] for f in p["functions"] if from_fixtures(f["file"])}
        check("scopes: module/class/function",
              scopes.get("<module>") == "module" and scopes.get("Outer.Inner") == "class"
              and scopes.get("Base.value") == "function", str(scopes))
        init = fn(p, "__init__")
        check("calls counted", init and init[0]["calls"] == 30, str(init and init[0]["calls"]))
        files = {f["file"] for f in p["functions"]}
        check("files are absolute", all(f.startswith(("/", "<")) for f in files), str(files))
        check("totals add up", p["totals"]["instructions"] ==
              sum(f["instructions"] for f in p["functions"]), "")
        if p["stacks"]:
            check("stacks add up to the total", p["totals"]["instructions"] ==
                  sum(s["instructions"] for s in p["stacks"]), "")
    p = profs.get("closures")
    if p:
        scopes = {f["name"]: f["scope"] for f in p["functions"] if from_fixtures(f["file"])}
        check("scopes: lambda/genexpr", scopes.get("<lambda>") == "lambda"
              and scopes.get("<genexpr>") == "comprehension", str(scopes))
        if PYVER < (3, 12):  # inlined into their function from 3.12 on
            check("scopes: listcomp", scopes.get("<listcomp>") == "comprehension", str(scopes))
    p = profs.get("async")
    if p:
        scopes = {f["name"]: f["scope"] for f in p["functions"] if from_fixtures(f["file"])}
        check("scopes: coroutine/async_generator", scopes.get("main") == "coroutine"
              and scopes.get("agen") == "async_generator", str(scopes))
    p = profs.get("generators")
    if p:
        scopes = {f["name"]: f["scope"] for f in p["functions"] if from_fixtures(f["file"])}
        check("scopes: generator", scopes.get("count") == "generator", str(scopes))
    p = profs.get("threads")
    if p:
        names = {s["thread"] for s in p["stacks"]
                 if any(p["functions"][i]["name"] == "work" for i in s["frames"])}
        check("threads: one stack per named thread",
              names == {"worker-0", "worker-1", "worker-2"}, str(names))
    p = profs.get("exec")
    if p:
        mods = [f for f in p["functions"] if f["file"] == "<string>" and f["name"] == "<module>"]
        mine = [f for f in mods if f["calls"] == 5]
        check("exec of one string in a loop is one function", len(mine) == 1,
              str([(f["qualname"], f["calls"]) for f in mods]))
        fi = [i["count"] for f in mine for i in f["code"] if i["opname"] == "FOR_ITER"]
        check("exec'd string counted exactly", fi == [55], str(fi))
    p = profs.get("recursion")
    if p:
        fibs = [s for s in p["stacks"] if s["frames"] and
                p["functions"][s["frames"][-1]]["name"] == "fib"]
        check("recursion: one stack per depth", len(fibs) >= 10, str(len(fibs)))
    p = profs.get("sys_exit")
    if p:
        check("atexit handlers are profiled", fn(p, "goodbye"), "goodbye missing")
    p = profs.get("py314")
    if p:
        ops = [i["count"] for f in fn(p, "templates") for i in f["code"]
               if i["opname"] == "BUILD_TEMPLATE"]
        check("3.14: template strings counted", ops == [5], str(ops))
        ann = {f["qualname"]: f["calls"] for f in p["functions"]
               if f["name"] == "__annotate__" and from_fixtures(f["file"])}
        check("3.14: deferred annotations run as __annotate__ functions",
              ann.get("__annotate__", 0) >= 2 and ann.get("Later.__annotate__", 0) >= 1,
              str(ann))


PYVER = (0, 0)


def main():
    global PYVER
    v = run([PYTHON, "-c", "import sys; print(*sys.version_info[:2])"]).stdout.split()
    PYVER = tuple(map(int, v))
    profs = {}
    cases = CASES + ([("py314", ["py314.py"], "")] if PYVER >= (3, 14) else [])
    for name, args, stdin in cases:
        profs[name] = test_case(name, args, stdin)
    test_model({k: v for k, v in profs.items() if v})
    import e2e_cli
    e2e_cli.run_all(sys.modules[__name__])
    e2e_cli.run_interplay(sys.modules[__name__])
    e2e_cli.run_timing(sys.modules[__name__])
    e2e_cli.run_annotate(sys.modules[__name__])
    e2e_cli.run_report(sys.modules[__name__])
    e2e_cli.run_odd_paths(sys.modules[__name__])
    e2e_cli.run_descriptors(sys.modules[__name__])
    e2e_cli.run_os_exit(sys.modules[__name__])
    e2e_cli.run_fork_pool(sys.modules[__name__])
    e2e_cli.run_fork_child(sys.modules[__name__])
    import e2e_diff
    e2e_diff.run_all(sys.modules[__name__])
    import e2e_flame
    e2e_flame.run_all(sys.modules[__name__])
    import e2e_native
    e2e_native.run_all(sys.modules[__name__])
    import e2e_pprof
    e2e_pprof.run_all(sys.modules[__name__])
    import e2e_output
    e2e_output.run_all(sys.modules[__name__])
    import e2e_schema
    e2e_schema.run_all(sys.modules[__name__])
    import e2e_profile
    e2e_profile.run_all(sys.modules[__name__])
    import e2e_sources
    e2e_sources.run_all(sys.modules[__name__])
    import e2e_explorer
    e2e_explorer.run_all(sys.modules[__name__])
    import e2e_explain
    e2e_explain.run_all(sys.modules[__name__])
    import e2e_tracers
    e2e_tracers.run_all(sys.modules[__name__])
    import e2e_install
    e2e_install.run_all(sys.modules[__name__])
    import e2e_monitoring
    e2e_monitoring.run_all(sys.modules[__name__])
    import e2e_specialize
    e2e_specialize.run_all(sys.modules[__name__])
    import e2e_processes
    e2e_processes.run_all(sys.modules[__name__])
    print(f"e2e: {compared} instructions compared with the reference")
    print(f"e2e: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
