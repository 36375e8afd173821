"""End-to-end checks of the script's own tracers under opprof on 3.10/3.11,
where opprof counts through the thread's one C trace function: sys.settrace,
sys.gettrace, threading.settrace and frames' f_trace* behave as under python,
pdb, doctest and coverage.py (both of its tracers) work, and counting goes on
through every tracer window, exactly.  The same scripts on 3.12+ (opprof's own
sys.monitoring tool beside the script's settrace) behave and count the same,
but for pdb on 3.13.0, whose settrace misses frames already running (README)."""
import os
import shutil

from e2e_flame import skip

TR = "tracers"


def absent(what, why):
    """What this interpreter cannot have (no package installs it): said,
    not failed."""
    print(f"e2e: SKIPPED {what}: {why}")


def same_as_python(t, what, args, stdin="", env=None):
    """Runs args under python and opprof: the opprof run's profile path, and
    whether stdout, stderr and the exit status agree."""
    out = os.path.join(t.TMP, "tr-" + what.replace(" ", "-") + ".json")
    py = t.run([t.PYTHON] + args, stdin=stdin, env=env)
    op = t.opprof(["run", "-q", "--no-time", "-o", out] + args, stdin=stdin, env=env)
    ok = (op.stdout == py.stdout and op.returncode == py.returncode and
          t.without_opprof_lines(op.stderr) == py.stderr)
    t.check(f"tracers: {what}: as under python", ok,
            f"{op.returncode} {py.returncode}\n{op.stdout[-600:]!r}\n!=\n{py.stdout[-600:]!r}\n"
            f"{op.stderr[-400:]}")
    prof = t.load(out) if os.path.exists(out) else None
    t.check(f"tracers: {what}: the profile is complete", prof and not prof["incomplete"],
            prof.get("incomplete_reason", "") if prof else op.stderr[-300:])
    return prof


def counts_of(t, prof, names):
    """{(qualname, offset): count} of the fixture functions named."""
    return {(f["qualname"], c["offset"]): c["count"] for f in prof["functions"]
            if f["name"] in names and t.from_fixtures(f["file"]) for c in f["code"]}


def windows(t):
    script = os.path.join(TR, "windows.py")
    env = dict(os.environ, WINDOWS="1")
    p1 = same_as_python(t, "settrace windows", [script], env=env)
    plain = os.path.join(t.TMP, "tr-nowindows.json")
    r = t.opprof(["run", "-q", "--no-time", "-o", plain, script],
                 env=dict(os.environ, WINDOWS="0"))
    if not p1 or r.returncode or not os.path.exists(plain):
        t.check("tracers: the run without windows", False, r.stderr[-300:])
        return
    p0 = t.load(plain)
    names = ("work", "before", "after", "in_thread")
    a, b = counts_of(t, p1, names), counts_of(t, p0, names)
    t.check("tracers: code run inside the script's tracer windows counts exactly as "
            f"without them ({len(a)} instructions)", a and a == b,
            str([(k, a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)][:6]))
    ref = os.path.join(t.TMP, "tr-nowindows.ref.json")
    r = t.run([t.PYTHON, os.path.join(t.HERE, "reference.py"), ref, script],
              env=dict(os.environ, WINDOWS="0"))
    if r.returncode == 0 and os.path.exists(ref):
        t.compare_counts("tracers: without windows", p0, ref, False)


def debugger_and_doctest(t):
    prof = None
    if t.PYVER != (3, 13):   # 3.13.0's settrace misses frames already running (README)
        prof = same_as_python(t, "pdb stops at breakpoint() and steps",
                              [os.path.join(TR, "pdb_session.py")],
                              stdin="n\np x\nn\np y\nc\n")
    if prof:
        work = [f for f in prof["functions"] if f["name"] == "work"]
        t.check("tracers: pdb: the code it stepped through is counted",
                work and work[0]["calls"] == 2 and work[0]["instructions"] > 0, str(work))
    prof = same_as_python(t, "python -m doctest",
                          ["-m", "doctest", "-v", os.path.join(TR, "doctested.py")])
    if prof:
        sq = [f for f in prof["functions"] if f["name"] == "square"]
        t.check("tracers: doctest: the function under test is counted",
                sq and sq[0]["calls"] == 5, str(sq))


def coverage(t):
    r = t.run([t.PYTHON, "-c", "import coverage"])
    debian = t.run([t.PYTHON, "-c", "import sys; print(sys.prefix)"]).stdout.strip() == "/usr"
    if r.returncode and debian:
        skip(t, "tracers: coverage.py", f"no coverage module for {t.PYTHON}")
        return
    if r.returncode:
        absent("tracers: coverage.py", f"{t.PYTHON} has no coverage module (Debian's "
               "python3-coverage is for its own python3)")
        return
    script = os.path.join(TR, "windows.py")
    for mode, opts in (("C tracer", []), ("Python tracer", ["--timid"])):
        data = os.path.join(t.TMP, "tr-coverage-" + opts[0][2:] if opts else "tr-coverage")
        env = dict(os.environ, WINDOWS="0", COVERAGE_FILE=data)
        prof = same_as_python(t, f"coverage run ({mode})",
                              ["-m", "coverage", "run"] + opts + [script], env=env)
        rep = t.run([t.PYTHON, "-m", "coverage", "report", "--include=*windows.py"], env=env)
        t.check(f"tracers: coverage ({mode}) measured the script under opprof",
                rep.returncode == 0 and "windows.py" in rep.stdout, rep.stdout + rep.stderr)
        plain = os.path.join(t.TMP, "tr-nowindows.json")
        if prof and os.path.exists(plain):
            names = ("work", "before", "after")
            t.check(f"tracers: coverage ({mode}): counts as without it",
                    counts_of(t, prof, names) == counts_of(t, t.load(plain), names), "")


def cpython_tests(t):
    """CPython's own tests of tracing, as under python: 3.10/3.11 only,
    where the interpreter has its test package (pyenv's; Debian's has none)."""
    if t.PYVER >= (3, 12) or t.QUICK:
        return
    mods = ["test_scope", "test_sys_settrace", "test_pdb", "test_trace", "test_doctest"]
    if t.run([t.PYTHON, "-c", "import test.support, test.test_sys_settrace"]).returncode:
        absent("tracers: CPython's test modules", f"{t.PYTHON} has no test package")
        return
    out = os.path.join(t.TMP, "tr-cpython.json")
    py = t.run([t.PYTHON, "-m", "test"] + mods, timeout=900)
    op = t.opprof(["run", "-q", "--no-time", "-o", out, "-m", "test"] + mods, timeout=900)
    ok = "SUCCESS" in py.stdout.splitlines()[-1] and "SUCCESS" in op.stdout.splitlines()[-1]
    t.check(f"tracers: CPython's {', '.join(mods)} pass under opprof as under python",
            ok and op.returncode == py.returncode == 0, op.stdout[-1200:] + op.stderr[-400:])
    prof = t.load(out) if os.path.exists(out) else None
    t.check("tracers: ... and their profile is complete", prof and not prof["incomplete"],
            prof.get("incomplete_reason", "") if prof else "no profile")


def run_all(t):
    windows(t)
    debugger_and_doctest(t)
    coverage(t)
    cpython_tests(t)
