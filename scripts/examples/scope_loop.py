"""The same loop at module level and inside a function.

At module level `i` and `total` are globals: every access is LOAD_NAME /
STORE_NAME, a dictionary lookup.  Inside a function they are locals:
LOAD_FAST / STORE_FAST, an array slot.  Same instruction counts, very
different costs: run `opprof run scope_loop.py` and compare.
"""
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 4_000_000

t0 = time.perf_counter()
total = 0
for i in range(N):
    total += i
t1 = time.perf_counter()


def function_loop(n):
    total = 0
    for i in range(n):
        total += i
    return total


t2 = time.perf_counter()
function_loop(N)
t3 = time.perf_counter()
print(f"module level: {t1 - t0:.3f} s, function: {t3 - t2:.3f} s, "
      f"ratio {(t1 - t0) / (t3 - t2):.2f}", file=sys.stderr)
