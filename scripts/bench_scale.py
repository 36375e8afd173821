"""make bench, "scale" section: what the end of a run, the profile and the
readers cost as the amount of code a program touches grows.

Workloads (each run untraced and under `opprof run -q`, default options):
- CPython's own test modules (`-m test` with the dozen modules below), on
  interpreters that ship them;
- `-m json.tool` on a tiny file (the fixed cost of a small run);
- generated programs: N functions called once each (wide, N = 1k, 10k,
  50k), a call tree of N functions (deep and wide), and recursion to depth
  D (one function calling itself, 3.11+: 3.10 recursion uses the C stack).

Per workload: wall time of python and of opprof (ratio), the exit work
(from the script's last atexit handler to the process's end, minus
python's own), peak RSS of both, profile size; each the median of
SCALE_ROUNDS (default 3) interleaved rounds; then each reader on the
profile (report, annotate, diff, merge, report --format json-v1/html/
speedscope/folded/pprof; no folded, pprof or json-v1 for the deep
recursions, whose layouts repeat every path): wall time and peak RSS above `opprof
--version`'s, the RSS goal taken per input (diff and merge read two).  Peak
RSS is the child's own (wait4), never a sum.

The goals are the profile-size issue's; every line states the figure and
the goal, and `check scale` lines say met / NOT met.  Environment: OPPROF,
PYTHON_EXE, SCALE_SIZES (default "1000,10000,50000"), SCALE_DEPTHS (default
"5000,10000,20000"), SCALE_ROUNDS, SCALE_READERS=0 (the runs only), SCALE_QUICK=1 (only
the smallest generated program and json.tool: a smoke run).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

OPPROF = os.path.abspath(os.environ.get("OPPROF", "build/opprof"))
PYTHON = os.environ.get("PYTHON_EXE") or sys.executable
QUICK = bool(os.environ.get("SCALE_QUICK"))
SIZES = [int(s) for s in os.environ.get("SCALE_SIZES", "1000,10000,50000").split(",")]
READERS = os.environ.get("SCALE_READERS", "1") != "0"
DEPTHS = [int(s) for s in os.environ.get("SCALE_DEPTHS", "5000,10000,20000").split(",")]
ROUNDS = max(1, int(os.environ.get("SCALE_ROUNDS", "1" if QUICK else "3")))
TMP = tempfile.mkdtemp(prefix="opprof-scale-")
TEST_MODULES = ["test_grammar", "test_with", "test_class", "test_scope", "test_contextlib",
                "test_fstring", "test_keywordonlyarg", "test_unpack", "test_augassign",
                "test_dataclasses", "test_string_literals", "test_list"]
MB = 1024 * 1024

# printed last by the script: the realtime clock, for the exit work
END_HOOK = ("import atexit as _a, sys as _s, time as _t\n"
            "_a.register(lambda: print('SCALE-END', _t.time_ns(), file=_s.stderr))\n")


def measure(cmd, cwd=TMP):
    """(wall s, peak RSS bytes, ns from SCALE-END to the exit, stderr)."""
    err = os.path.join(TMP, "stderr.txt")
    with open(err, "w") as ef:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=ef)
        _, status, ru = os.wait4(p.pid, 0)
        end = time.time_ns()
        wall = time.perf_counter() - t
    with open(err, errors="replace") as ef:
        text = ef.read()
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{cmd[:4]} failed: {text[-500:]}")
    m = re.search(r"SCALE-END (\d+)", text)
    tail = (end - int(m.group(1))) if m else None
    return wall, ru.ru_maxrss * 1024, tail, text


def write_program(name, body):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(END_HOOK + body)
    return path


def wide(n):
    """n functions, each called once from the module: n stacks of depth 2."""
    defs = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(n))
    return write_program(f"wide{n}.py", defs + "t = 0\n" + "".join(
        f"t = f{i}(t)\n" for i in range(n)) + "print(t)\n")


def tree(n):
    """n functions in a call tree: f{i} calls f{2i+1} and f{2i+2}."""
    defs = "".join(
        f"def f{i}(x):\n" + "".join(f"    x = f{c}(x)\n" for c in (2 * i + 1, 2 * i + 2) if c < n)
        + "    return x + 1\n" for i in range(n))
    return write_program(f"tree{n}.py", defs + "print(f0(0))\n")


def recursion(depth):
    return write_program(f"rec{depth}.py", (
        "import sys\nsys.setrecursionlimit(%d)\n"
        "def r(n):\n    return r(n - 1) + 1 if n else 0\nprint(r(%d))\n") % (depth + 1000, depth))


def readers(profile, deep):
    """(name, inputs read, command).  Folded stacks and pprof's samples
    repeat every path, so a deep recursion's are depth² by the format
    (GBs): left out there."""
    out = os.path.join(TMP, "reader.out")
    yield "report", 1, [OPPROF, "report", profile, "-o", out]
    yield "annotate", 1, [OPPROF, "annotate", profile]
    yield "diff", 2, [OPPROF, "diff", profile, profile]
    yield "merge", 2, [OPPROF, "merge", "-o", out, profile, profile]
    yield "report --format json-v1", 1, [OPPROF, "report", profile, "--format", "json-v1",
                                         "-o", out + ".v1.json"]
    for fmt in ("html", "speedscope") + (() if deep else ("folded", "pprof")):
        yield f"report --format {fmt}", 1, [OPPROF, "report", profile, "--format", fmt, "-o",
                                            out + "." + fmt]


def median_of(runs):
    """Per field, the median of the rounds (None if any is None)."""
    out = []
    for k in range(3):
        v = sorted(r[k] for r in runs if r[k] is not None)
        out.append(v[len(v) // 2] if len(v) == len(runs) else None)
    return tuple(out) + (runs[-1][3],)


def run_workload(name, args, checks, base_rss, ver):
    profile = os.path.join(TMP, "p.json")
    # python and opprof interleaved, medians: one round of the test-module
    # run varied by 0.5-1 s on this (virtual, shared) machine
    rounds = [(measure([PYTHON] + args), measure([OPPROF, "run", "-q", "-o", profile] + args))
              for _ in range(ROUNDS)]
    py = median_of([r[0] for r in rounds])
    op = median_of([r[1] for r in rounds])
    size = os.path.getsize(profile)
    exit_ns = (op[2] - py[2]) if op[2] is not None and py[2] is not None else None
    print(f"{name:28} python {py[0]:7.3f}s {py[1] / MB:6.0f}MB | opprof {op[0]:7.3f}s "
          f"{op[0] / py[0]:5.2f}x {op[1] / MB:6.0f}MB | exit work "
          + (f"{exit_ns / 1e6:8.1f}ms ({exit_ns / 1e9 / py[0]:5.1%} of python)"
             if exit_ns is not None else "       ?") + f" | profile {size / MB:7.2f}MB")
    worst = {}
    deep = name.startswith("recursion")
    for rname, inputs, cmd in readers(profile, deep) if READERS else ():
        if deep and "json-v1" in rname:
            continue   # v1 repeats each stack's frames: depth² by that layout
        w, rss, _, _ = measure(cmd)
        worst[rname] = (w, rss - base_rss, inputs)
        extra = ""
        if "html" in rname:
            html = os.path.getsize(cmd[-1])
            extra = f" page {html / MB:.2f}MB ({html / size:.2f}x the profile)"
            worst["html-size"] = html / size
        print(f"{'':28}   {rname:24} {w:7.3f}s {(rss - base_rss) / MB:7.1f}MB above --version"
              f"{extra}")
    checks.append((name, py, op, size, exit_ns, worst))


def main():
    ver = subprocess.run([PYTHON, "-c", "import sys; print(sys.version.split()[0])"],
                         capture_output=True, text=True).stdout.strip()
    major_minor = tuple(int(x) for x in ver.split(".")[:2])
    base_rss = measure([OPPROF, "--version"])[1]
    print(f"opprof bench, scale: Python {ver}; peak RSS of `opprof --version` "
          f"{base_rss / MB:.1f}MB")
    checks = []
    tiny = os.path.join(TMP, "tiny.json")
    with open(tiny, "w") as f:
        f.write('{"a": [1, 2, 3], "b": {"c": "d"}, "e": null}\n')
    run_workload("-m json.tool (tiny file)", ["-c", END_HOOK + "import runpy, sys\n"
                 f"sys.argv = ['json.tool', {tiny!r}]\nrunpy.run_module('json.tool', "
                 "run_name='__main__')\n"], checks, base_rss, ver)
    have_tests = subprocess.run([PYTHON, "-c", "import test.test_grammar"],
                                capture_output=True).returncode == 0
    if have_tests and not QUICK:
        code = (END_HOOK + "import runpy, sys\nsys.argv = ['test', '-q'] + %r\n"
                "runpy.run_module('test', run_name='__main__', alter_sys=True)\n") % TEST_MODULES
        run_workload("-m test (12 test modules)", ["-c", code], checks, base_rss, ver)
    elif not have_tests:
        print(f"-m test: this interpreter ships no test package: left out")
    for n in SIZES[:1] if QUICK else SIZES:
        run_workload(f"wide, {n} functions", [wide(n)], checks, base_rss, ver)
        run_workload(f"tree, {n} functions", [tree(n)], checks, base_rss, ver)
    if major_minor >= (3, 11):
        for d in ([1000] if QUICK else DEPTHS):
            run_workload(f"recursion depth {d}", [recursion(d)], checks, base_rss, ver)
    for line in goal_lines(ver, checks):
        print(line)
    shutil.rmtree(TMP, ignore_errors=True)
    return 0


def goal_lines(ver, checks):
    """The profile-size issue's goals, one `check scale` line per workload."""
    out = []
    for name, py, op, size, exit_ns, worst in checks:
        bad = []
        runs = [v for k, v in worst.items() if k != "html-size" and "json-v1" not in k] \
            or [(0, 0, 1)]
        slowest = max(w for w, _, _ in runs)
        fattest = max(r for _, r, _ in runs)
        # RSS against what a reader reads: diff and merge read the profile twice
        per_input = max(r / n for _, r, n in runs)
        if name.startswith("-m test"):
            bad += [f"run {op[0] / py[0]:.2f}x > 1.6x"] if op[0] / py[0] > 1.6 else []
            bad += [f"profile {size / MB:.1f}MB > 12MB"] if size > 12 * MB else []
            bad += [f"exit work {exit_ns / 1e9 / py[0]:.0%} > 10%"] \
                if exit_ns and exit_ns / 1e9 > 0.1 * py[0] else []
            bad += [f"slowest reader {slowest:.1f}s > 1.5s"] if slowest > 1.5 else []
            bad += [f"reader RSS {fattest / MB:.0f}MB > 200MB"] if fattest > 200 * MB else []
            bad += [f"run RSS +{(op[1] - py[1]) / MB:.0f}MB > +100MB"] \
                if op[1] - py[1] > 100 * MB else []
        if name.startswith("recursion depth 20000"):
            bad += [f"profile {size / MB:.1f}MB > 5MB"] if size > 5 * MB else []
            bad += [f"run {op[0]:.1f}s > 1s"] if op[0] > 1 else []
            bad += [f"report {worst['report'][0]:.1f}s > 1s"] \
                if "report" in worst and worst["report"][0] > 1 else []
        if name.startswith("-m json.tool"):
            over = op[0] - py[0]
            bad += [f"{over * 1000:.0f}ms over python > 60ms"] if over > 0.06 else []
            bad += [f"profile {size / 1024:.0f}KB > 300KB"] if size > 300 * 1024 else []
        if per_input > 3 * size and size > MB:
            bad += [f"reader RSS {per_input / size:.1f}x its input > 3x"]
        if worst.get("html-size", 0) > 1.5:
            bad += [f"HTML {worst['html-size']:.1f}x the profile > 1.5x"]
        out.append(f"check scale Python {ver}: {name}: " +
                   ("goals met" if not bad else "NOT met: " + "; ".join(bad)))
    return out


if __name__ == "__main__":
    sys.exit(main())
