"""End-to-end checks of the command line: exit codes, output files, fork,
stacks on/off, the environment a script sees."""
import json
import os
import re
import signal
import subprocess
import tempfile


def run_all(t):
    tmp, fix = t.TMP, t.FIX

    # every way to ask for help or the version succeeds
    for args in (["--help"], ["--version"], ["run", "--help"]):
        r = t.opprof(args)
        t.check(f"opprof {' '.join(args)} exits 0", r.returncode == 0 and r.stdout, r.stderr)

    r = t.opprof(["run", "-q", "-o", os.path.join(tmp, "x.json"), "no_such_script.py"])
    t.check("missing script: 66 and one line", r.returncode == 66 and
            r.stderr.count("\n") == 1 and r.stderr.startswith("opprof: "), repr(r.stderr))
    r = t.opprof(["frobnicate"])
    t.check("unknown command: 64", r.returncode == 64 and r.stderr.startswith("opprof: "), r.stderr)
    r = t.opprof(["run"])
    t.check("run without a script: 64", r.returncode == 64 and r.stderr.count("\n") == 1, r.stderr)
    r = t.opprof(["run", "-o"])
    t.check("-o without a value: 64", r.returncode == 64, r.stderr)
    r = t.opprof(["run", "-q", "--bogus-option", "loops.py"])
    t.check("an option nobody knows: 64 and one line", r.returncode == 64 and
            r.stderr.startswith("opprof: ") and r.stderr.count("\n") == 1, r.stderr)

    marker = os.path.join(tmp, "marker")
    r = t.opprof(["run", "-o", "/nonexistent/dir/p.json", "-c",
                  f"open({marker!r}, 'w').write('ran')"])
    t.check("unwritable -o: 73 before the script runs", r.returncode == 73 and
            not os.path.exists(marker) and r.stderr.count("\n") == 1, r.stderr)

    r = t.opprof(["run", "-q", "-o", "-", "-c", "pass"])
    ok = False
    try:
        ok = json.loads(r.stdout)["schema"] == "opprof-profile"
    except ValueError:
        pass
    t.check("-o - writes the profile to stdout", ok and r.returncode == 0, r.stdout[:200])

    # python's own options after opprof's
    py = t.run([t.PYTHON, "-X", "dev", "-W", "error", "env_check.py", "a"], stdin="hi",
               env={"OPPROF_TEST_VAR": "v"})
    op = t.opprof(["run", "-q", "-o", os.path.join(tmp, "env.json"), "-X", "dev", "-W", "error",
                   "env_check.py", "a"], stdin="hi", env={"OPPROF_TEST_VAR": "v"})
    t.check("python options, argv, sys.executable, env and stdin as under python",
            op.stdout == py.stdout and op.returncode == py.returncode,
            f"{op.stdout!r} != {py.stdout!r} {op.stderr}")

    # stacks on and off give the same counts; off records no stacks
    a, b = os.path.join(tmp, "stk.json"), os.path.join(tmp, "nostk.json")
    t.opprof(["run", "-q", "-o", a, "recursion.py"])
    t.opprof(["run", "-q", "--no-stacks", "-o", b, "recursion.py"])
    pa, pb = t.load(a), t.load(b)
    t.check("--no-stacks: same counts", t.profile_counts(pa) == t.profile_counts(pb), "")
    t.check("--no-stacks: no stacks", pb["stacks"] == [] and pb["stacks_enabled"] is False
            and pa["stacks"], "")

    # a forked child writes its own profile; the parent's stays whole
    out = os.path.join(tmp, "fork.json")
    code = ("import os\npid = os.fork()\nif pid == 0:\n    sum(range(10))\nelse:\n"
            "    os.waitpid(pid, 0)\n    print(pid)\n")
    r = t.opprof(["run", "-q", "-o", out, "-c", code])
    child = r.stdout.strip()
    t.check("fork: parent profile written", os.path.exists(out) and r.returncode == 0, r.stderr)
    cpath = os.path.join(tmp, f"fork.{child}.json")
    t.check("fork: child writes fork.<pid>.json", os.path.exists(cpath), os.listdir(tmp))
    if os.path.exists(cpath) and os.path.exists(out):
        t.check("fork: child profile counts only the child", t.load(cpath)["totals"]["instructions"]
                < t.load(out)["totals"]["instructions"], "")

    # KeyboardInterrupt: python's traceback and death by SIGINT, profile kept
    out = os.path.join(tmp, "kbd.json")
    code = "def f():\n    raise KeyboardInterrupt\nf()\n"
    py = t.run([t.PYTHON, "-c", code])
    op = t.opprof(["run", "-q", "-o", out, "-c", code])
    t.check("KeyboardInterrupt: same status and traceback", op.returncode == py.returncode
            and t.without_opprof_lines(op.stderr) == py.stderr, f"{op.returncode} {op.stderr}")
    t.check("KeyboardInterrupt: profile written", os.path.exists(out), op.stderr)

    # an activated virtual environment's packages are importable
    venv = os.path.join(tmp, "venv")
    r = t.run([t.PYTHON, "-m", "venv", "--without-pip", venv])
    if r.returncode == 0:
        site = t.run([os.path.join(venv, "bin", "python"), "-c",
                      "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
        with open(os.path.join(site, "venv_only_mod.py"), "w") as f:
            f.write("VALUE = 42\n")
        env = {"VIRTUAL_ENV": venv, "PATH": os.path.join(venv, "bin") + ":" + os.environ["PATH"]}
        r = t.opprof(["run", "-q", "-o", os.path.join(tmp, "venv.json"), "-c",
                      "import sys, venv_only_mod; print(venv_only_mod.VALUE, sys.prefix)"],
                     env=env)
        t.check("venv: its packages are importable", r.stdout.startswith("42 ") and
                venv in r.stdout, r.stdout + r.stderr)
    else:
        t.check("venv: created", False, r.stderr)


def run_interplay(t):
    """The script's own tracing and profiling next to opprof's."""
    tmp = t.TMP
    out = os.path.join(tmp, "cprof.json")
    code = "import cProfile\ncProfile.run('sum(range(100))', sort='calls')\nprint('done')\n"
    py = t.run([t.PYTHON, "-c", code])
    op = t.opprof(["run", "-q", "-o", out, "-c", code])
    t.check("a script using cProfile runs as under python", op.returncode == 0 and
            op.stdout.splitlines()[-1:] == ["done"] and py.stdout.count("\n") ==
            op.stdout.count("\n"), op.stderr)
    if t.PYVER >= (3, 12):
        t.check("cProfile in the script leaves opprof's counts whole",
                os.path.exists(out) and not t.load(out)["incomplete"], op.stderr)
    else:
        out = os.path.join(tmp, "settrace.json")
        code = "import sys\nsys.settrace(lambda *a: None)\nx = sum(range(10))\nprint(x)\n"
        op = t.opprof(["run", "-q", "-o", out, "-c", code])
        prof = t.load(out) if os.path.exists(out) else {}
        t.check("a script setting its own trace function: no warning, counting goes on "
                "(e2e_tracers.py has the details)",
                op.stdout == "45\n" and not op.stderr and prof.get("incomplete") is False,
                op.stderr)

    # a virtual environment of another Python version: one warning, ignored
    other = [v for v in ("3.10", "3.11", "3.12", "3.13") if v != "%d.%d" % t.PYVER]
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    exe = next((os.path.join(root, "versions", d, "bin", "python" + v)
                for v in other for d in sorted(os.listdir(os.path.join(root, "versions")))
                if d.startswith(v + ".") and os.path.exists(os.path.join(root, "versions", d, "bin",
                                                                       "python" + v))),
               None) if os.path.isdir(os.path.join(root, "versions")) else None
    if exe:
        venv = os.path.join(tmp, "venv-other")
        r = t.run([exe, "-m", "venv", "--without-pip", venv])
        env = {"VIRTUAL_ENV": venv}
        op = t.opprof(["run", "-q", "-o", os.path.join(tmp, "vo.json"), "-c", "print(1)"], env=env)
        warned = [l for l in op.stderr.splitlines() if "virtual environment" in l]
        t.check("a venv of another version: one warning line, run goes on",
                r.returncode == 0 and op.stdout == "1\n" and len(warned) == 1, op.stderr)


def run_timing(t):
    """--time-only and --no-time: what each leaves out."""
    tmp = t.TMP
    out = os.path.join(tmp, "timeonly.json")
    py = t.run([t.PYTHON, "recursion.py"])
    r = t.opprof(["run", "-q", "--time-only", "-o", out, "recursion.py"])
    p = t.load(out) if os.path.exists(out) else {}
    t.check("--time-only: runs as python, profile without counts but timed",
            r.stdout == py.stdout and r.returncode == py.returncode and p.get("counted") is False
            and p.get("timing") and p["totals"]["instructions"] == 0, r.stderr)
    r = t.opprof(["diff", out, out])
    t.check("--time-only profiles: diff by instructions refused (exit 2)", r.returncode == 2,
            r.stderr)
    out = os.path.join(tmp, "notime.json")
    t.opprof(["run", "-q", "--no-time", "-o", out, "recursion.py"])
    p = t.load(out) if os.path.exists(out) else {}
    t.check("--no-time: counts without times", p.get("totals", {}).get("instructions", 0) > 0
            and "timing" not in p and "time_ns" not in p["functions"][0], "")
    r = t.opprof(["run", "--time-only", "--no-time", "recursion.py"])
    t.check("--time-only --no-time: usage error", r.returncode == 64, r.stderr)
    r = t.opprof(["run", "--rate", "0", "recursion.py"])
    t.check("--rate 0: usage error", r.returncode == 64, r.stderr)
    # samples land on instructions, on the loop that takes the time
    examples = os.path.join(os.path.dirname(os.path.dirname(t.HERE)), "scripts", "examples")
    out = os.path.join(tmp, "scope.json")
    t.opprof(["run", "-q", "-o", out, "scope_loop.py", "400000"], cwd=examples)
    p = t.load(out) if os.path.exists(out) else {}
    tm = p.get("timing", {})
    fs = {f["qualname"]: f for f in p.get("functions", []) if f["file"].endswith("scope_loop.py")}
    t.check("timing: samples are attributed to instructions", tm.get("samples", 0) > 0 and
            p["totals"]["time_ns"] > 0 and tm["unattributed_ns"] * 5 < tm["sampled_ns"], str(tm))
    t.check("timing: both loops got time", fs and fs["<module>"]["time_ns"] > 0 and
            fs["function_loop"]["time_ns"] > 0, str({k: v["time_ns"] for k, v in fs.items()}))
    if "perf_event" in tm.get("clock", ""):
        got = tm["samples"] * 1e9 / max(tm["sampled_ns"], 1)
        t.check("timing: the perf clock delivers the asked rate (1000 Hz)", 600 < got < 1400,
                "%.0f samples per CPU second" % got)
    else:
        print("e2e: note: perf events refused here; the timer clock was used")
    # each thread's clock goes when the thread ends (a perf clock is a file
    # descriptor: a long-lived server starting threads must not run out)
    code = ("import threading, os\n"
            "for _ in range(300):\n"
            "    t = threading.Thread(target=sum, args=(range(20000),)); t.start(); t.join()\n"
            "print(len(os.listdir('/proc/self/fd')))\n")
    r = t.opprof(["run", "-q", "-o", os.path.join(tmp, "threads.json"), "-c", code])
    t.check("timing: 300 threads one after another leave no clock open",
            r.returncode == 0 and r.stdout.strip().isdigit() and int(r.stdout) < 40,
            r.stdout + r.stderr)
    # the POSIX-timer backend, weighted by missed expirations, still times
    t.opprof(["run", "-q", "-o", out, "scope_loop.py", "400000"], cwd=examples,
             env={"OPPROF_CLOCK": "timer"})
    p = t.load(out) if os.path.exists(out) else {}
    tm = p.get("timing", {})
    t.check("timing: OPPROF_CLOCK=timer samples with timer_create", "timer_create" in
            tm.get("clock", "") and tm.get("samples", 0) > 0 and p["totals"]["time_ns"] > 0,
            str(tm))


def listing_matches_dis(t):
    """The profile stores each function's code (v2: bytes, names, reprs of
    constants, line table) and readers disassemble it in C
    (reports/model/disasm.c): on a run through a good part of the stdlib,
    the listing `report --format json-v1` makes equals dis's of the same
    code, compiled again from the same files here."""
    code = ("import json, email.parser, argparse, dataclasses, asyncio, re, unittest, "
            "textwrap, fractions, statistics, enum, typing\nprint(1)\n")
    out = os.path.join(t.TMP, "listing.json")
    # one hash seed for both: a frozenset's repr is in hash order
    seed = {"PYTHONHASHSEED": "0"}
    r = t.opprof(["run", "-q", "--no-time", "--no-stacks", "-o", out, "-c", code], env=seed)
    if r.returncode != 0 or not os.path.exists(out):
        t.check("listing: profiled", False, r.stderr)
        return
    v1 = os.path.join(t.TMP, "listing-v1.json")
    r = t.opprof(["report", out, "--format", "json-v1", "-o", v1])
    d = t.run([t.PYTHON, os.path.join(os.path.dirname(__file__), "dis_listing.py"), v1],
              env=seed)
    if r.returncode != 0 or d.returncode != 0:
        t.check("listing: json-v1 and dis", False, r.stderr + d.stderr[-500:])
        return
    # a code object's repr holds its address: the one thing two compiles differ in
    norm = lambda text: json.loads(re.sub(r" at 0x[0-9a-f]+", " at 0x", text))
    theirs = norm(d.stdout)
    mine = {"|".join(map(str, (f["file"], f["name"], f["firstlineno"]))): f.get("listing")
            for f in norm(open(v1).read())["functions"]}
    both = [k for k in theirs if k in mine]
    differ = [k for k in both if mine[k] != theirs[k]]
    n = sum(len(theirs[k]) for k in both)
    t.check(f"listing: disassembled at read time equals dis's ({len(both)} functions, "
            f"{n} instructions)", not differ and len(both) > 300 and n > 10000,
            f"{len(differ)} differ, e.g. {differ[:2]}")
    # every code object of 55 stdlib modules and a synthetic one, compiled
    # (not run), against dis on this interpreter; too slow under valgrind
    binary = os.path.join(os.path.dirname(t.OPPROF), "tests", "test_disasm")
    if os.path.exists(binary) and not t.VALGRIND:
        r = t.run([t.PYTHON, os.path.join(os.path.dirname(__file__), "disasm_check.py"),
                   "--bin", binary, t.PYTHON])
        t.check("disasm: every code object of the stdlib sample equals dis's",
                r.returncode == 0 and " 0 mismatches" in r.stdout, r.stdout[-800:] + r.stderr[-800:])


def run_annotate(t):
    """annotate reads a saved profile alone: dis's listing with the numbers."""
    listing_matches_dis(t)
    tmp, out = t.TMP, os.path.join(t.TMP, "annot.json")
    t.opprof(["run", "-q", "-o", out, "loops.py"])
    r = t.opprof(["annotate", out, "work"])
    lines = r.stdout.splitlines()
    body = [l.split() for l in lines[2:] if l.strip() and not l.strip().startswith(("line", "("))]
    ops = {l[1] if l[0].isdigit() and len(l) > 1 and l[1].isdigit() else l[0] for l in body}
    t.check("annotate: the function's bytecode with counts", r.returncode == 0 and
            lines[0].startswith("work (loops.py:") and "STORE_FAST" in r.stdout and
            "line total" in r.stdout, r.stdout[:500] + r.stderr)
    prof = t.load(out)
    work = [f for f in prof["functions"] if f["qualname"] == "work"][0]
    t.check("annotate: the profile gives the whole disassembly",
            len(work.get("listing", [])) >= len(work["code"]), "")
    r = t.opprof(["annotate", out, "loops.py:%d" % work["firstlineno"]])
    t.check("annotate: FILE:LINE finds the function", r.returncode == 0 and
            r.stdout.startswith("work ("), r.stdout[:200] + r.stderr)
    r = t.opprof(["annotate", out])
    t.check("annotate: without a function, the hottest ones", r.returncode == 0 and
            r.stdout.count("line total") > 1, r.stderr)
    r = t.opprof(["annotate", out, "no_such_function"])
    t.check("annotate: an unknown function -> exit 2, one line", r.returncode == 2 and
            r.stderr.count("\n") == 1, r.stderr)
    odd = os.path.join(tmp, "two\nlines.py")
    with open(odd, "w") as f:
        f.write("def work():\n    return sum(range(10))\n\nwork()\n")
    out = os.path.join(tmp, "odd.json")
    t.opprof(["run", "-q", "-o", out, odd])
    r = t.opprof(["annotate", out, "work"])
    head = r.stdout.splitlines()[0] if r.stdout else ""
    t.check("annotate: a newline in the file's name is escaped, the header one line",
            r.returncode == 0 and head.startswith("work (two\\nlines.py:1)"), r.stdout[:300])


def run_report(t):
    """The report: on stderr after a run, and re-rendered from a saved profile."""
    tmp, out = t.TMP, os.path.join(t.TMP, "report.json")
    py = t.run([t.PYTHON, "loops.py"])
    r = t.opprof(["run", "-o", out, "loops.py"])
    t.check("run: the report on stderr, stdout untouched", r.stdout == py.stdout and
            "scope comparison" in r.stderr and "verdict:" in r.stderr, r.stderr[-500:])
    r = t.opprof(["report", out])
    text = r.stdout
    rows = [l.split()[0] for l in text.splitlines() if l.startswith("  module ") or
            l.startswith("  function ")]
    t.check("report: scope rows for module-level and function code",
            r.returncode == 0 and "module" in rows and "function" in rows, text[:800])
    t.check("report: name-access groups labelled", "dict-based" in text and
            "array-based" in text and "LOAD_NAME" in text and "LOAD_FAST" in text, text[:800])
    rep = os.path.join(tmp, "report.txt")
    r = t.opprof(["run", "-q", "--report", rep, "-o", out, "loops.py"])
    t.check("run --report FILE: the report in the file, not on stderr", not r.stderr and
            os.path.exists(rep) and "top functions" in open(rep).read(), r.stderr)
    bad = os.path.join(tmp, "notjson.json")
    with open(bad, "w") as f:
        f.write("nope")
    r = t.opprof(["report", bad])
    t.check("report: bad input -> exit 2, one line", r.returncode == 2 and
            r.stderr.count("\n") == 1, r.stderr)


def run_odd_paths(t):
    """A script whose name is not UTF-8 (Latin-1 bytes) runs as under python."""
    name = os.fsdecode(b"lat\xe9.py")
    path = os.path.join(os.fsdecode(t.TMP), name)
    with open(path, "w") as f:
        f.write("import sys\nprint('ran', len(sys.argv[0]) > 0)\n")
    py = t.run([t.PYTHON, name], cwd=t.TMP)
    op = t.opprof(["run", "-q", "-o", os.path.join(t.TMP, "latin.json"), name], cwd=t.TMP)
    t.check("a script named in Latin-1 bytes runs as under python",
            op.returncode == py.returncode == 0 and op.stdout == py.stdout,
            f"{op.returncode} {op.stderr[-300:]}")


def run_descriptors(t):
    """Many threads under a low descriptor limit: the script still gets the
    descriptors python would give it (opprof's clocks keep a few)."""
    if t.VALGRIND:
        return
    script = "ulimit -n 256 && exec \"$@\""
    py = t.run(["sh", "-c", script, "sh", t.PYTHON, "many_threads.py"], timeout=120)
    op = t.run(["sh", "-c", script, "sh", t.OPPROF, "run", "-q", "-o",
                os.path.join(t.TMP, "threads.json"), "many_threads.py"], timeout=120)
    t.check("300 threads and 100 files under ulimit -n 256: as under python",
            py.stdout == "opened 100\n" and op.stdout == py.stdout and op.returncode == 0,
            f"{op.returncode} {op.stdout!r} {op.stderr[-300:]}")


def run_os_exit(t):
    """os._exit() in the script: the profile is written, the process still
    ends as python's does (status, no atexit handlers)."""
    out = os.path.join(t.TMP, "os_exit.json")
    py = t.run([t.PYTHON, "os_exit.py"])
    op = t.opprof(["run", "-q", "-o", out, "os_exit.py"])
    t.check("os._exit: same stdout and status as python", op.returncode == py.returncode == 7
            and op.stdout == py.stdout and "atexit ran" not in op.stdout,
            f"{op.returncode} {op.stdout!r} {op.stderr[-300:]}")
    prof = t.load(out) if os.path.exists(out) else {}
    work = [f for f in prof.get("functions", []) if f["name"] == "work"]
    fi = [i["count"] for f in work for i in f["code"] if i["opname"] == "FOR_ITER"]
    t.check("os._exit: the profile is written, with what ran before it",
            prof.get("exit_status") == 7 and fi == [1001], f"{prof.get('exit_status')} {fi}")
    procs = t.load_raw(out).get("processes", []) if os.path.exists(out) else []
    t.check("os._exit: its process says how it ended, and its status",
            procs and procs[0].get("ended") == "os._exit" and procs[0].get("exit_status") == 7
            and procs[0].get("end_ns", 0) >= procs[0].get("start_ns", 0) > 0, str(procs[:1]))
    out2 = os.path.join(t.TMP, "exit_normally.json")
    t.opprof(["run", "-q", "-o", out2, "-c", "pass"])
    procs = t.load_raw(out2).get("processes", []) if os.path.exists(out2) else []
    t.check("a normal end: its process says \"exit\"", procs and procs[0].get("ended") == "exit",
            str(procs[:1]))


def run_fork_child(t):
    """A forked child's profile: counts whole from the instruction after
    fork() (3.12+ used to lose them up to the next branch and call the
    profile incomplete), its own clock and sample totals (they used to
    carry the parent's)."""
    d = tempfile.mkdtemp(dir=t.TMP)
    out = os.path.join(d, "fc.json")
    r = t.opprof(["run", "-q", "-o", out, "fork_child.py"])
    cpath = os.path.join(d, f"fc.{r.stdout.strip()}.json")
    ok = r.returncode == 0 and os.path.exists(cpath)
    t.check("fork child: writes its profile", ok, r.stderr[-300:] + str(os.listdir(d)))
    if not ok:
        return
    raw, parent = t.load_raw(cpath), t.load_raw(out)
    t.check("fork child: complete", not raw.get("incomplete"), str(raw.get("incomplete_reason")))
    tm = raw.get("timing", {})
    t.check("fork child: its own sample totals add up",
            tm.get("sampled_ns") == raw["totals"]["time_ns"] + tm.get("overhead_ns", 0) +
            tm.get("unattributed_ns", 0) and tm.get("sampled_ns", 0) <
            parent.get("timing", {}).get("sampled_ns", 0), f"{tm} {raw['totals']}")
    p = t.load(cpath)
    mod = [f for f in t.fn(p, "<module>")]
    lines = {}
    for f in mod:
        for i in f["code"]:
            lines.setdefault(i["line"], []).append((i["opname"], i["count"]))
    # line 16 is `pid = os.fork()`: only its store runs in the child
    after, body = lines.get(16, []), lines.get(18, []) + lines.get(19, [])
    t.check("fork child: counted from the instruction after fork(), once each",
            ("STORE_NAME", 1) in after and all(c == 0 for op, c in after if op != "STORE_NAME")
            and body and all(c == 1 for _, c in body),
            str({k: lines.get(k) for k in (16, 17, 18, 19)}))
    fi = [i["count"] for f in t.fn(p, "work") for i in f["code"] if i["opname"] == "FOR_ITER"]
    t.check("fork child: the child's own call counted exactly", fi == [2001], str(fi))


def run_fork_pool(t):
    """multiprocessing's terminate() ends fork workers with SIGTERM: they
    die at once as under python, with no line and no file of opprof's."""
    if t.VALGRIND:
        return
    d = os.path.join(t.TMP, "pool")
    os.makedirs(d, exist_ok=True)
    py = t.run([t.PYTHON, "fork_pool.py"])
    op = t.opprof(["run", "-q", "-o", os.path.join(d, "pool.json"), "fork_pool.py"])
    t.check("fork pool terminated: same output as python, no opprof line, no stray profile",
            op.returncode == py.returncode == 0 and op.stdout == py.stdout and
            "opprof:" not in op.stderr and sorted(os.listdir(d)) == ["pool.json"],
            f"{op.stderr[-300:]!r} {os.listdir(d)}")
