"""Independent reference counts, in pure Python, for the end-to-end tests.

usage: python reference.py OUT.json (script.py | -m module | -c code | -) [args]

Counts every instruction the way CPython itself reports it: sys.monitoring
INSTRUCTION events on 3.12+, settrace opcode events on 3.10/3.11.  Those
events never fire for RESUME or for the prologue before the first RESUME,
so those offsets are listed as excluded.  Slow (20-130x) but obviously
right, which is the point.
"""
import dis
import json
import os
import runpy
import sys
import threading
from collections import defaultdict

counts = defaultdict(int)          # (id(code), offset) -> count
codes = {}                         # id(code) -> code, kept alive


def key_of(code):
    return code.co_filename, code.co_name, code.co_firstlineno


if sys.version_info >= (3, 12):
    M = sys.monitoring
    TOOL = next(i for i in (1, 3, 4, 5) if M.get_tool(i) is None)

    def on_instruction(code, offset):
        k = id(code)
        if k not in codes:
            codes[k] = code
        counts[k, offset] += 1

    def start():
        M.use_tool_id(TOOL, "reference")
        M.register_callback(TOOL, M.events.INSTRUCTION, on_instruction)
        M.set_events(TOOL, M.events.INSTRUCTION)

    def stop():
        M.set_events(TOOL, 0)
else:
    def tracer(frame, event, arg):
        if event == "call":
            frame.f_trace_opcodes = True
            frame.f_trace_lines = False
            return tracer
        if event == "opcode":
            code = frame.f_code
            k = id(code)
            if k not in codes:
                codes[k] = code
            counts[k, frame.f_lasti] += 1   # bytes, on 3.10 too
        return tracer

    def start():
        threading.settrace(tracer)
        sys.settrace(tracer)

    def stop():
        sys.settrace(None)
        threading.settrace(None)


def excluded(code):
    """Offsets that have no event: RESUME and everything before the first."""
    out = []
    seen_resume = False
    for ins in dis.get_instructions(code):
        if ins.opname == "RESUME":
            seen_resume = True
            out.append(ins.offset)
        elif not seen_resume and sys.version_info >= (3, 11):
            out.append(ins.offset)
    return out


def dump(path):
    funcs = {}
    for (k, off), n in counts.items():
        code = codes[k]
        fk = "\0".join(map(str, key_of(code)))
        f = funcs.setdefault(fk, {"file": code.co_filename, "name": code.co_name,
                                  "firstlineno": code.co_firstlineno,
                                  "counts": defaultdict(int), "excluded": set()})
        f["counts"][off] += n
    for code in codes.values():
        fk = "\0".join(map(str, key_of(code)))
        if fk in funcs:
            funcs[fk]["excluded"].update(excluded(code))
    for f in funcs.values():
        f["counts"] = {str(o): n for o, n in f["counts"].items()}
        f["excluded"] = sorted(f["excluded"])
    with open(path, "w") as fh:
        json.dump(list(funcs.values()), fh)


def main():
    out = sys.argv[1]
    args = sys.argv[2:]
    status = 0
    if args[0] == "-m":
        sys.argv = args[1:]
        sys.path[0] = os.getcwd()
        run = lambda: runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    elif args[0] == "-":
        sys.argv = args
        sys.path[0] = ""
        code = compile(sys.stdin.read(), "<stdin>", "exec")
        run = lambda: exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
    elif args[0] == "-c":
        sys.argv = ["-c"] + args[2:]
        sys.path[0] = ""
        code = compile(args[1], "<string>", "exec")
        run = lambda: exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
    else:
        path = os.path.abspath(args[0])
        sys.argv = args
        sys.path[0] = os.path.dirname(path)
        run = lambda: runpy.run_path(path, run_name="__main__")
    import atexit
    start()
    try:
        run()
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        status = 1
    finally:
        atexit._run_exitfuncs()     # python runs them too, before finalizing
        stop()
    dump(out)
    sys.stdout.flush()
    os._exit(status)


main()
