"""Dump code objects and what dis.get_instructions() says about them.

    python3.X tests/e2e/disasm_dump.py OUT

For every code object (recursively through co_consts) of a set of stdlib
modules, compiled from source without importing them, plus a synthetic
module using the syntax of this version (match, except*, type params,
async, closures, huge functions that need EXTENDED_ARG), writes the input
reports/model/disasm.c takes (dz_code) and dis's listing, for
tests/unit/test_disasm.c to compare.  Standard library only.

Format: whitespace-separated tokens; a string is <byte length>:<utf-8
bytes>, so any content reads back without escaping.
    opdump 1 <minor>
    code <str qualname> <hex co_code>
    names <n> <str>*   consts <n> <str>*   (repr of each)
    locals <n> <str>*  (3.10 co_varnames, 3.11+ co._varname_from_oparg)
    cells <n> <str>*   (3.10 co_cellvars + co_freevars, else 0)
    lines <n> (<start> <end> <line, -1 for None>)*
    instrs <n> (<offset> <opcode> <arg|-1> <starts> <line> <jump target 0/1>
               <label|0> <str opname> <str argrepr>)*
    ... more "code" records ...
    end
<starts> is dis's starts_line: before 3.13 the line or -1, 3.13+ 0/1.
<line> is 3.13's line_number; before 3.13 (dis has none) the line of the
co_lines() range holding the offset.
"""
import dis
import importlib.util
import sys

MINOR = sys.version_info[1]

MODULES = """abc argparse ast asyncio.base_events asyncio.tasks asyncio.streams
base64 bisect calendar collections colorsys configparser contextlib copy
csv dataclasses datetime _pydecimal difflib dis email.message enum
fractions functools gettext heapq http.client inspect json.decoder
json.encoder logging mimetypes ntpath operator os pathlib pickle pprint
queue random sre_parse shlex shutil statistics string subprocess tarfile
textwrap threading tokenize traceback typing unittest.case urllib.parse
uuid weakref zipfile""".split()

SYNTH = '''
import asyncio
from os.path import *
def closures(a, *args, b=1, **kw):
    x = a
    def inner(y):
        nonlocal x
        x += y
        return lambda z: x + y + z + b
    return inner
class K(object):
    attr = [i * i for i in range(10) if i % 2]
    def method(self, v):
        return super().method(v), {k: v for k, v in kw.items()}, {s for s in v}
    @property
    def p(self):
        return f"{self!r:>10} {self.attr!s} {self.attr!a} {3.5:.2f} {self}"
async def agen(n):
    async with asyncio.Lock() as l:
        async for i in aiter_(n):
            yield await asyncio.sleep(0, i)
def matcher(cmd):
    match cmd:
        case ["go", direction] if direction in "nsew":
            return 1
        case {"x": x, **rest}:
            return x
        case K(attr=[1, *others]) | K(attr=(2, *others)):
            return others
        case str() as s if s is not None and s not in ():
            return s
        case _:
            return not cmd
def flow(it, d):
    try:
        for i in it:
            if i is None or i == 3 and not i < 4:
                continue
            while i > 0:
                i -= 1
                if i == 2:
                    break
            else:
                pass
    except (ValueError, TypeError) as e:
        raise RuntimeError("x") from e
    finally:
        del d[0]
    with open(it) as f, open(d) as g:
        a, *b = f.read(), g
    global G
    G = a @ b ** 2 // 3 >> 1 << 2 | 4 & 5 ^ 6 % 7
    G += 1; G -= 1; G *= 2; G /= 2; G //= 2; G %= 3; G **= 2; G @= 1
    G >>= 1; G <<= 1; G &= 1; G |= 1; G ^= 1
    print(-G, +G, ~G, not G, G[1:2], G[::3], *it, **d)
    assert G, "message"
    import os.path as p
    from os import sep
    return (yield from it)
'''
if MINOR >= 11:
    SYNTH += '''
def star(x):
    try:
        x()
    except* ValueError as eg:
        print(eg)
    except* TypeError:
        pass
'''
if MINOR >= 12:
    SYNTH += '''
type Alias[T] = list[T]
def generic[T: int, *Ts, **P](x: T) -> T:
    return [x for x in (x,)]
class G2[T]:
    def m(self) -> T: ...
'''
# A function large enough that opargs need EXTENDED_ARG (>255 constants,
# names, locals and jumps longer than 255 code units).
SYNTH += "def huge(x):\n" + "".join(
    "    v%d = x + %d.5\n    if v%d > g%d: x = 'c%d'\n" % (i, i, i, i, i)
    for i in range(400)) + "    return x\n"
SYNTH += "def deep(x):\n    return " + "+".join("x.a%d" % i for i in range(300)) + "\n"


def s(v):
    b = v.encode("utf-8", "backslashreplace")
    return b"%d:%s" % (len(b), b)


def strs(tag, seq):
    return b"%s %d %s\n" % (tag, len(seq), b" ".join(s(x) for x in seq))


def localsplus(co):
    if MINOR < 11:
        return list(co.co_varnames)
    out = []
    while True:
        try:
            out.append(co._varname_from_oparg(len(out)))
        except IndexError:
            return out


def dump_code(co, f, counts):
    lines = [(a, b, -1 if l is None else l) for a, b, l in co.co_lines()]
    out = [b"code %s %s\n" % (s(co.co_qualname if MINOR >= 11 else co.co_name),
                              co.co_code.hex().encode() or b"-")]
    out.append(strs(b"names", co.co_names))
    out.append(strs(b"consts", [repr(c) for c in co.co_consts]))
    out.append(strs(b"locals", localsplus(co)))
    out.append(strs(b"cells", list(co.co_cellvars + co.co_freevars) if MINOR < 11 else []))
    out.append(b"lines %d %s\n" % (len(lines), b" ".join(b"%d %d %d" % t for t in lines)))
    ins = list(dis.get_instructions(co))
    out.append(b"instrs %d\n" % len(ins))
    for i in ins:
        if MINOR >= 13:
            starts, line = int(i.starts_line), -1 if i.line_number is None else i.line_number
            label = i.label or 0
        else:
            starts = -1 if i.starts_line is None else i.starts_line
            line = next((l for a, b, l in lines if a <= i.offset < b), -1)
            label = 0
        out.append(b"%d %d %d %d %d %d %d %s %s\n" % (
            i.offset, i.opcode, -1 if i.arg is None else i.arg, starts, line,
            int(i.is_jump_target), label, s(i.opname), s(i.argrepr)))
    f.write(b"".join(out))
    counts[0] += 1
    counts[1] += len(ins)
    for c in co.co_consts:
        if hasattr(c, "co_code"):
            dump_code(c, f, counts)


def sources():
    yield "<synthetic>", SYNTH
    for name in MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except ImportError:
            continue
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        with open(spec.origin, "rb") as fh:
            yield spec.origin, fh.read()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    counts = [0, 0]
    nmods = 0
    with open(sys.argv[1], "wb") as f:
        f.write(b"opdump 1 %d\n" % MINOR)
        for path, src in sources():
            dump_code(compile(src, path, "exec"), f, counts)
            nmods += 1
        f.write(b"end\n")
    print("3.%d: %d modules, %d code objects, %d instructions dumped"
          % (MINOR, nmods, counts[0], counts[1]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
