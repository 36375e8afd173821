"""The cost of ending a fork Pool: `pool.terminate(); pool.join()` sends
SIGTERM to its 4 idle workers and waits for them (scripts/bench.py, "pool
teardown": under python, opprof run, opprof run --subprocesses).

Prints the wall time of terminate() + join() in ms on stdout, or writes it
to the file named by POOL_TEARDOWN_OUT (so that it does not mix with
anything else on stdout).
"""
import multiprocessing as mp
import os
import time


def started(barrier):
    # every worker is running Python (past fork) before any work is given
    barrier.wait()


def square(x):
    return x * x


if __name__ == "__main__":
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(4)
    pool = ctx.Pool(4, initializer=started, initargs=(barrier,))
    total = sum(pool.map(square, range(64), chunksize=4))
    t = time.perf_counter()
    pool.terminate()
    pool.join()
    ms = (time.perf_counter() - t) * 1000
    line = f"{ms:.3f}\n"
    out = os.environ.get("POOL_TEARDOWN_OUT")
    if out:
        with open(out, "w") as f:
            f.write(line)
    else:
        print(f"sum {total}; terminate+join {line}", end="")
