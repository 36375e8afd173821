"""What a program can see of its own rewritten code: run it with and without
the prototype and compare (README.md, "Program-visible differences").

  python3.11 scripts/proto/visible.py              # untouched
  python3.11 scripts/proto/run.py scripts/proto/visible.py
"""
import dis
import inspect
import io
import marshal
import sys
import traceback


def work(n):
    t = 0
    for i in range(n):
        if i % 3:
            t += i
    return t


def where():
    f = sys._getframe()
    return f.f_lasti, f.f_lineno


def fail(x):
    return 1 / x


def gen():
    yield 1
    yield 2


work(1000)                       # warm up: 3.11 quickens after 8 calls/loops
g = gen()
next(g)
code = work.__code__
print("len(co_code)        ", len(code.co_code))
print("co_consts           ", code.co_consts)
print("co_stacksize        ", code.co_stacksize)
print("co_lines()          ", sorted({line for _, _, line in code.co_lines() if line}))
print("f_lasti, f_lineno   ", where())
print("gi_frame.f_lasti    ", g.gi_frame.f_lasti, g.gi_frame.f_lineno)
with open(__file__) as f:
    fresh = [c for c in compile(f.read(), __file__, "exec").co_consts
             if getattr(c, "co_name", None) == "work"][0]
print("== freshly compiled ", code == fresh, hash(code) == hash(fresh))
print("getsource lines     ", len(inspect.getsource(work).splitlines()))
try:
    marshal.dumps(code)
    print("marshal.dumps       ", "ok")
except ValueError as e:
    print("marshal.dumps       ", "ValueError:", e)
try:
    fail(0)
except ZeroDivisionError:
    tb = traceback.format_exc().splitlines()
    print("traceback           ", tb[-3].strip(), "|", tb[-2].strip())
    print("tb_lasti            ", sys.exc_info()[2].tb_next.tb_lasti)
ops = []


def tracer(frame, event, arg):
    if frame.f_code is work.__code__:
        frame.f_trace_opcodes = True
        if event == "opcode":
            ops.append(frame.f_lasti)
    return tracer


sys.settrace(tracer)
work(3)
sys.settrace(None)
print("opcode events work(3)", len(ops))
out = io.StringIO()
dis.dis(work, file=out, adaptive=True) if sys.version_info >= (3, 11) else dis.dis(work, file=out)
print(out.getvalue())
