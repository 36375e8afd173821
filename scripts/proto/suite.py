"""CPython's own tests under the prototype (README.md, "Program-visible differences").

  $PYENV_ROOT/versions/3.11.7/bin/python3.11 scripts/proto/suite.py            # untouched
  $PYENV_ROOT/versions/3.11.7/bin/python3.11 scripts/proto/run.py scripts/proto/suite.py
  (3.10: $PYENV_ROOT/versions/3.10.13/bin/python3.10; Debian's python3.11 has no test suite)

Runs the modules below (or those given as arguments) with unittest and
prints the number run, failed, and one line per failure.  SKIP=a,b leaves
out the tests whose id contains a or b.
"""
import os
import sys
import unittest

MODULES = ("test_json test_generators test_coroutines test_exceptions test_with "
           "test_contextlib test_dis test_traceback test_inspect test_sys_settrace "
           "test_dataclasses test_re test_asyncio.test_tasks test_pdb test_bdb test_trace "
           "test_code test_marshal test_pickle test_compile test_frame").split()


def flat(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flat(t)
        else:
            yield t


names = sys.argv[1:] or ["test." + m for m in MODULES]
skip = [s for s in os.environ.get("SKIP", "").split(",") if s]
suite = unittest.TestSuite(t for t in flat(unittest.defaultTestLoader.loadTestsFromNames(names))
                           if not any(k in t.id() for k in skip))
with open(os.devnull, "w") as devnull:
    r = unittest.TextTestRunner(verbosity=0, stream=devnull).run(suite)
print("ran", r.testsRun, "failures", len(r.failures), "errors", len(r.errors), file=sys.stderr)
for t, tb in r.failures + r.errors:
    print("FAIL", t.id(), tb.strip().splitlines()[-1][:150], file=sys.stderr)
