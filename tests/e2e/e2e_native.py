"""End-to-end checks of crash safety (fatal signals, SIGTERM/SIGHUP) and
of --native mixed stacks."""
import json
import os
import signal
import subprocess


def _crash_env(t):
    # under ASan its own fatal-signal handlers would change the exit status
    asan = os.environ.get("ASAN_OPTIONS")
    if asan is None:
        return None
    return {"ASAN_OPTIONS": asan + ":handle_segv=0:handle_abort=0:handle_sigbus=0:"
            "handle_sigfpe=0:handle_sigill=0"}


def _crash(t, name, script, sig, env=None):
    tmp = t.TMP
    out = os.path.join(tmp, f"crash_{name}.json")
    e = dict(_crash_env(t) or {})
    e.update(env or {})
    r = t.opprof(["run", "-q", "-o", out, script], cwd=os.path.join(t.FIX, "native"), env=e)
    py = t.run([t.PYTHON, script], cwd=os.path.join(t.FIX, "native"))
    t.check(f"{name}: exit status equals python's ({py.returncode})",
            r.returncode == py.returncode == -sig, f"{r.returncode} vs {py.returncode}")
    signame = signal.Signals(sig).name
    t.check(f"{name}: stderr report names the signal, native and Python frames",
            f"opprof: fatal signal {signame}" in r.stderr and "Native backtrace" in r.stderr
            and "Python stack" in r.stderr, r.stderr[-1500:])
    try:
        p = t.load(out)
    except (OSError, ValueError) as ex:
        t.check(f"{name}: the profile parses", False, str(ex))
        return None, r
    c = p.get("crash") or {}
    t.check(f"{name}: profile marked incomplete with the signal",
            p["incomplete"] is True and p.get("signal") == signame and
            p["exit_status"] == 128 + sig, str({k: p.get(k) for k in ("incomplete", "signal")}))
    t.check(f"{name}: at least one native frame with a module",
            any(f.get("module") for f in c.get("native_backtrace", [])), str(c)[:500])
    rr = t.opprof(["report", out])
    t.check(f"{name}: opprof reads the incomplete profile back", rr.returncode == 0, rr.stderr)
    return p, r


def run_crashes(t):
    p, r = _crash(t, "segv", "crash_segv.py", signal.SIGSEGV)
    if p:
        names = [f["function"] for f in p["crash"]["python_stack"]]
        t.check("segv: the Python stack has the caller of ctypes",
                "read_null" in names and "main" in names and names.index("read_null") <
                names.index("main"), str(names))
        t.check("segv: stderr shows the Python caller", "read_null in " in r.stderr, r.stderr)
    p, _ = _crash(t, "abort", "crash_abort.py", signal.SIGABRT)
    if p:
        names = [f["function"] for f in p["crash"]["python_stack"]]
        t.check("abort: the Python stack has give_up", names[:1] == ["give_up"], str(names))
    # faulthandler, installed before opprof, still runs after it
    p, r = _crash(t, "segv+faulthandler", "crash_segv.py", signal.SIGSEGV,
                  env={"PYTHONFAULTHANDLER": "1"})
    t.check("faulthandler set before opprof is chained to",
            "Fatal Python error: Segmentation fault" in r.stderr and
            r.stderr.find("opprof: fatal signal") < r.stderr.find("Fatal Python error"),
            r.stderr[-800:])
    # ... and one the script enables later runs first, then opprof's
    if t.VALGRIND:
        # faulthandler's re-raise of a fault that valgrind has already
        # reported, then opprof's forked writer under valgrind: not a case
        # valgrind can judge
        print("e2e: note: the late-faulthandler crash check is left out under valgrind")
        return
    out = os.path.join(t.TMP, "crash_late_fh.json")
    r = t.opprof(["run", "-q", "-o", out, "-c",
                  "import faulthandler, ctypes\nfaulthandler.enable()\nctypes.string_at(0)"],
                 env=_crash_env(t))
    t.check("faulthandler enabled by the script: both reports, status SIGSEGV",
            r.returncode == -signal.SIGSEGV and "Fatal Python error" in r.stderr and
            "opprof: fatal signal SIGSEGV" in r.stderr and os.path.exists(out), r.stderr[-800:])


def _signal_run(t, cmd, sig):
    p = subprocess.Popen(cmd, cwd=os.path.join(t.FIX, "native"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline().strip()
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return first, p.returncode, out, err


def run_termination(t):
    for sig in (signal.SIGTERM, signal.SIGHUP):
        name = signal.Signals(sig).name
        out = os.path.join(t.TMP, f"{name}.json")
        first, rc, _, err = _signal_run(t, t.VALGRIND + [t.OPPROF, "run", "-q", "-o", out,
                                                         "wait_for_signal.py"], sig)
        _, py_rc, _, _ = _signal_run(t, [t.PYTHON, "wait_for_signal.py"], sig)
        t.check(f"{name}: exits as python does ({py_rc})", first == "ready" and rc == py_rc == -sig,
                f"{first!r} {rc} {err[-500:]}")
        try:
            p = t.load(out)
            ok = p["incomplete"] and p.get("signal") == name and any(
                f["name"] == "work" and f["instructions"] > 0 for f in p["functions"])
        except (OSError, ValueError) as ex:
            ok, p = False, str(ex)
        t.check(f"{name}: the profile so far is written, marked", ok, str(p)[:300])
    # a Python-level handler the script installs works exactly as without opprof
    out = os.path.join(t.TMP, "term_handler.json")
    first, rc, o, err = _signal_run(t, t.VALGRIND + [t.OPPROF, "run", "-q", "-o", out,
                                                     "wait_for_signal.py", "--handler"],
                                    signal.SIGTERM)
    _, py_rc, py_o, _ = _signal_run(t, [t.PYTHON, "wait_for_signal.py", "--handler"],
                                    signal.SIGTERM)
    ok = rc == py_rc == 7 and o == py_o and "handled" in o
    t.check("script's SIGTERM handler runs as without opprof", ok, f"{rc} {py_rc} {o!r} {err}")
    try:
        p = t.load(out)
        t.check("script's SIGTERM handler: complete profile, exit 7",
                not p["incomplete"] and p["exit_status"] == 7 and "signal" not in p, str(p)[:300])
    except (OSError, ValueError) as ex:
        t.check("script's SIGTERM handler: profile written", False, str(ex))
    # SIGINT stays KeyboardInterrupt
    out = os.path.join(t.TMP, "sigint.json")
    first, rc, _, err = _signal_run(t, t.VALGRIND + [t.OPPROF, "run", "-q", "-o", out,
                                                     "wait_for_signal.py"], signal.SIGINT)
    t.check("SIGINT: KeyboardInterrupt traceback, killed by SIGINT, profile written",
            rc == -signal.SIGINT and "KeyboardInterrupt" in err and os.path.exists(out) and
            "signal" not in t.load(out), f"{rc} {err[-500:]}")


def run_native(t):
    fix = os.path.join(t.FIX, "native")
    a, b = os.path.join(t.TMP, "native.json"), os.path.join(t.TMP, "plain.json")
    folded = os.path.join(t.TMP, "native.folded")
    r = t.opprof(["run", "-q", "--native", "--folded", folded, "-o", a, "native_zlib.py"],
                 cwd=fix)
    t.check("--native run succeeds", r.returncode == 0, r.stderr)
    t.opprof(["run", "-q", "-o", b, "native_zlib.py"], cwd=fix)
    try:
        pa, pb = t.load(a), t.load(b)
    except (OSError, ValueError) as ex:
        t.check("--native profiles parse", False, str(ex))
        return

    def counts(p):
        return {(f["file"], f["name"], f["firstlineno"], i["offset"]): i["count"]
                for f in p["functions"] for i in f["code"]}
    t.check("--native: exact counts equal a run without it", counts(pa) == counts(pb), "")
    st = pa.get("native_stacks") or []
    diag = pa.get("native_sampling") or {}
    t.check("--native: native stacks and diagnostics", st and diag.get("samples", 0) > 0 and
            diag["merged"] + diag["native_only"] == diag["samples"], str(diag))
    total = sum(s["time_ns"] for s in st)

    def under_squeeze(s):
        f = s["frames"]
        names = [x.split(" (")[0] for x in f]
        return ("squeeze" in names and any(x.startswith("deflate ") for x in f) and
                names.index("squeeze") < [i for i, x in enumerate(f)
                                          if x.startswith("deflate ")][0])
    part = sum(s["time_ns"] for s in st if under_squeeze(s))
    t.check("--native: deflate under squeeze has most of the time",
            total and part > total / 2, f"{part}/{total}")
    try:
        lines = open(folded).read().splitlines()
    except OSError as ex:
        lines = [str(ex)]
    w_all = sum(int(l.rsplit(" ", 1)[1]) for l in lines if l.rsplit(" ", 1)[-1].isdigit())
    w_def = sum(int(l.rsplit(" ", 1)[1]) for l in lines
                if "squeeze (native_zlib.py:" in l and ";deflate [native]" in l)
    t.check("--native folded output: deflate [native] below squeeze, most samples",
            w_all and w_def > w_all / 2, "\n".join(lines[:3])[:800])
    rr = t.opprof(["report", "--format", "folded", a])
    t.check("--native folded from the saved profile is the same",
            rr.returncode == 0 and sorted(rr.stdout.splitlines()) == sorted(lines),
            rr.stderr)
    rr = t.opprof(["report", "--format", "speedscope", a])
    try:
        ss = json.loads(rr.stdout)
        names = [f["name"] for f in ss["shared"]["frames"]]
        weight = sum(pr["endValue"] - pr["startValue"] for pr in ss["profiles"])
    except (ValueError, KeyError) as ex:
        names, weight = [str(ex)], 0
    t.check("--native speedscope: native frames below the Python caller, same total",
            "deflate [native]" in names and "squeeze (native_zlib.py:13)" in names and
            weight == w_all, str(names[:10]) + rr.stderr)
    rr = t.opprof(["report", "--format", "html", a])
    t.check("--native html: the flame graph has the native frames",
            rr.returncode == 0 and "deflate [native]" in rr.stdout, rr.stderr)
    r = t.opprof(["run", "-q", "--native", "--no-time", "-o", a, "native_zlib.py"], cwd=fix)
    t.check("--native --no-time is a usage error", r.returncode == 64, r.stderr)


def run_all(t):
    run_crashes(t)
    run_termination(t)
    run_native(t)
