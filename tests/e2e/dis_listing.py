"""dis's listing of the functions of a profile, as `report --format json-v1`
writes them ([offset, opname, arg, argrepr, line]), for the e2e test that
compares the listing opprof disassembles at read time with dis's.

usage: python dis_listing.py PROFILE_V1.json  -> JSON on stdout:
{"file|name|firstlineno": listing, ...} for every function whose source
file compiles here (the line of an instruction is that of its co_lines
range, as opprof stores it).  Code comes from each file's .pyc, as
imports load it."""
import dis
import importlib.util
import json
import marshal
import sys
import types


def lines_of(code):
    line = {}
    for start, end, ln in code.co_lines():
        for off in range(start, end, 2):
            line[off] = ln
    return line


def shown(i):
    """dis's argrepr as a profile keeps it (profile-v2.md, code.consts): a
    code object without address and file, a long repr cut."""
    if i.opcode not in dis.hasconst:
        return i.argrepr
    if isinstance(i.argval, types.CodeType):
        return "<code object %s, line %d>" % (i.argval.co_name, i.argval.co_firstlineno)
    return i.argrepr if len(i.argrepr) <= 100 else i.argrepr[:99] + "\u2026"


def listing(code):
    line = lines_of(code)
    return [[i.offset, i.opname, i.arg, shown(i), line.get(i.offset)]
            for i in dis.get_instructions(code)]


def walk(code, out):
    out.append(code)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            walk(c, out)


def load_code(file):
    """The module's code as the run had it: from its .pyc when there is one
    (a frozenset constant's repr follows the order marshal rebuilt it in,
    not the compiler's), else compiled from the source."""
    try:
        with open(importlib.util.cache_from_source(file), "rb") as fh:
            fh.read(16)
            return marshal.load(fh)
    except (OSError, ValueError, NotImplementedError):
        with open(file, "rb") as fh:
            return compile(fh.read(), file, "exec")


def main():
    prof = json.load(open(sys.argv[1]))
    want = {(f["file"], f["name"], f["firstlineno"]) for f in prof["functions"]}
    files = {k[0] for k in want}
    out = {}
    for file in sorted(files):
        codes = []
        try:
            walk(load_code(file), codes)
        except (OSError, SyntaxError, ValueError, EOFError, TypeError):
            continue
        for c in codes:
            key = (file, c.co_name, c.co_firstlineno)
            if key in want:
                out["|".join(map(str, key))] = listing(c)
    json.dump(out, sys.stdout)


main()
