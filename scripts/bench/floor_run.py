"""python floor_run.py BUILD_BENCH_DIR SCRIPT [ARGS...]: runs SCRIPT as
__main__ with scripts/bench/floor.c's events installed (make bench's
"floor" rows)."""
import runpy
import sys

sys.path.insert(0, sys.argv[1])
import opfloor  # noqa: E402

script = sys.argv[2]
sys.argv = sys.argv[2:]
sys.path[0] = __import__("os").path.dirname(__import__("os").path.abspath(script))
opfloor.start()
runpy.run_path(script, run_name="__main__")
