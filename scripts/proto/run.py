"""Run a script with basic-block counting probes (prototype, CPython 3.10/3.11).

  python3.11 scripts/proto/run.py [--probe bool|call|none] [-o COUNTS.json] script.py [args]

The script's code and every module imported from source afterwards (through
SourceLoader.get_code, i.e. ordinary .py files; the .pyc written is the
ORIGINAL code's, since rewriting happens after get_code) are rewritten before
they first run.  At exit the per-instruction counts (original offsets) go to
COUNTS.json (default: none written; a one-line summary on stderr).
--probe none runs the same driver without rewriting (the driver's own cost).
Not part of opprof: see README.md.
"""
import atexit
import json
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    args, kind, out = sys.argv[1:], "bool", None
    while args and args[0].startswith("-"):
        if args[0] == "--probe":
            kind, args = args[1], args[2:]
        elif args[0] == "-o":
            out, args = args[1], args[2:]
        else:
            sys.exit(f"run.py: unknown option {args[0]}")
    if not args:
        sys.exit(__doc__)
    sys.path[0:0] = [os.path.join(HERE, "build", "%d.%d" % sys.version_info[:2]), HERE]
    import rewrite
    del sys.path[0:2]
    rewrite.PROBE_KIND = kind
    on = kind != "none"

    if on:
        from importlib._bootstrap_external import SourceLoader
        original_get_code = SourceLoader.get_code

        def get_code(self, fullname):
            code = original_get_code(self, fullname)   # writes the original .pyc
            return rewrite.rewrite(code) if code is not None else None
        SourceLoader.get_code = get_code

    def dump():
        counts = rewrite.counts()
        total = sum(c for fn in counts.values() for _, c in fn.values())
        print(f"run.py: {len(rewrite.REGISTRY)} code objects rewritten, "
              f"{total} instructions counted", file=sys.stderr)
        if out:
            with open(out, "w") as f:
                json.dump({"python": sys.version.split()[0], "probe": kind, "functions": [
                    {"file": file, "qualname": name, "firstlineno": line,
                     "code": [{"offset": off, "opname": op, "count": c}
                              for off, (op, c) in sorted(fn.items())]}
                    for (file, name, line), fn in counts.items()]}, f)
    atexit.register(dump)

    path = os.path.abspath(args[0])
    sys.argv = args
    sys.path[0] = os.path.dirname(path)
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec", dont_inherit=True)
    if on:
        code = rewrite.rewrite(code)
    mod = types.ModuleType("__main__")
    mod.__file__, mod.__builtins__ = path, __builtins__
    sys.modules["__main__"] = mod
    exec(code, mod.__dict__)


main()
