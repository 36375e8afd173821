"""scope_loop.py's two loops, taken in turns: make bench's fidelity workload.

The module-level loop (LOAD_NAME/STORE_NAME, dictionary lookups) and the
function loop (LOAD_FAST/STORE_FAST, array slots) run the same iterations
in 30 alternating slices.  On a shared machine the CPU's speed drifts for
seconds at a time; run one after the other, the two loops met different
machines and their ratio swung from 1.7 to 3.4 between untraced runs of
3.14.  Taken in turns, both see the same drift, and the ratio the script
prints (its own perf_counter, the truth opprof's sampled ratio is compared
with) stays within a few percent from run to run.
"""
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000
SLICES = 30
n = N // SLICES


def function_loop(n):
    total = 0
    for i in range(n):
        total += i
    return total


module_s = function_s = 0.0
for _ in range(SLICES):
    t0 = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    t1 = time.perf_counter()
    function_loop(n)
    t2 = time.perf_counter()
    module_s += t1 - t0
    function_s += t2 - t1
print(f"module level: {module_s:.3f} s, function: {function_s:.3f} s, "
      f"ratio {module_s / function_s:.2f}", file=sys.stderr)
