"""make bench: overhead of opprof against untraced python and cProfile.

Each workload runs untraced, under `opprof run` (stacks on and off) and
under `python -m cProfile`, interleaved round by round so that machine
noise hits every mode alike; the median wall time of each mode is printed
as a ratio to the untraced median of the same run.

Environment: OPPROF (binary), PYTHON_EXE (its python), BENCH_ROUNDS (5).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EX = os.path.join(HERE, "examples")
OPPROF = os.path.abspath(os.environ.get("OPPROF", "build/opprof"))
PYTHON = os.environ.get("PYTHON_EXE") or sys.executable
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TMP = tempfile.mkdtemp(prefix="opprof-bench-")

WORKLOADS = [
    ("loop/float (nbody)", ["nbody.py", "100000"]),
    ("call-heavy", ["calls.py", "1000000"]),
    ("module vs function loop", ["scope_loop.py", "3000000"]),
]


def modes(args):
    out = os.path.join(TMP, "p.json")
    return [
        ("python", [PYTHON] + args),
        ("opprof", [OPPROF, "run", "-q", "-o", out] + args),
        ("opprof --no-stacks", [OPPROF, "run", "-q", "--no-stacks", "-o", out] + args),
        ("cProfile", [PYTHON, "-m", "cProfile", "-o", os.path.join(TMP, "c.prof")] + args),
    ]


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, cwd=EX, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - t


def main():
    ver = subprocess.run([PYTHON, "-c", "import sys; print(sys.version.split()[0])"],
                         capture_output=True, text=True).stdout.strip()
    print(f"opprof bench: Python {ver}, {ROUNDS} rounds, median wall time, ratio to untraced")
    print(f"{'workload':26} {'mode':20} {'median s':>9} {'ratio':>7}")
    for name, args in WORKLOADS:
        ms = modes(args)
        for _, cmd in ms:          # warm-up: page cache, __pycache__
            timed(cmd)
        times = {m: [] for m, _ in ms}
        for _ in range(ROUNDS):
            for m, cmd in ms:
                times[m].append(timed(cmd))
        base = statistics.median(times["python"])
        for m, _ in ms:
            med = statistics.median(times[m])
            print(f"{name:26} {m:20} {med:9.3f} {med / base:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
