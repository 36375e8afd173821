"""Overhead of the bytecode-rewriting prototype next to opprof and cProfile.

  python3 scripts/proto/bench.py PYTHON OPPROF [ROUNDS]

PYTHON: the interpreter (its bbprobe built by build.sh); OPPROF: the opprof
binary built for the same Python version.  Each workload (scripts/bench.py's
sizes; scope_loop.py at the size bench.py gives scope_interleaved.py) runs in
every mode, interleaved round by round; before each round the script waits
until the 1-minute load average is below BENCH_MAX_LOAD (0.6).  Prints the
median wall time of each mode and its ratio to plain python's median.
"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EX = os.path.join(HERE, "..", "examples")
PYTHON, OPPROF = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 9
MAX_LOAD = float(os.environ.get("BENCH_MAX_LOAD", "0.6"))
RUN = os.path.join(HERE, "run.py")

WORKLOADS = [("loop/float (nbody)", ["nbody.py", "100000"]),
             ("call-heavy", ["calls.py", "1000000"]),
             ("module vs function loop", ["scope_loop.py", "8000000"])]
MODES = [("python", [PYTHON]),
         ("proto driver, no probes", [PYTHON, RUN, "--probe", "none"]),
         ("proto, bool probe", [PYTHON, RUN, "--probe", "bool"]),
         ("proto, call probe", [PYTHON, RUN, "--probe", "call"]),
         ("opprof counts only", [OPPROF, "run", "-q", "--no-time", "--no-stacks",
                                 "-o", os.devnull]),
         ("cProfile", [PYTHON, "-m", "cProfile", "-o", os.devnull])]


def load():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def quiet():
    while load() >= MAX_LOAD:
        time.sleep(5)
    return load()


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, cwd=EX, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main():
    ver = subprocess.run([PYTHON, "-c", "import sys; print(sys.version.split()[0])"],
                         capture_output=True, text=True).stdout.strip()
    print(f"proto bench: Python {ver} ({PYTHON}), {ROUNDS} rounds, median wall time, "
          f"ratio to python; started {time.strftime('%Y-%m-%d %H:%M:%S')}")
    print(f"{'workload':26} {'mode':26} {'median s':>9} {'ratio':>7}")
    loads = []
    for name, args in WORKLOADS:
        for _, cmd in MODES:                 # warm-up: page cache, __pycache__
            timed(cmd + args)
        times = {m: [] for m, _ in MODES}
        for _ in range(ROUNDS):
            loads.append(quiet())
            for m, cmd in MODES:
                times[m].append(timed(cmd + args))
        base = statistics.median(times["python"])
        for m, _ in MODES:
            med = statistics.median(times[m])
            print(f"{name:26} {m:26} {med:9.3f} {med / base:6.2f}x", flush=True)
    print(f"1-minute load average at the start of each round: "
          f"{min(loads):.2f}-{max(loads):.2f}; ended {time.strftime('%Y-%m-%d %H:%M:%S')}")


if __name__ == "__main__":
    main()
