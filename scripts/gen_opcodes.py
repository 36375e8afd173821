#!/usr/bin/env python3
r"""Opcode tables for reports/model/disasm.c, taken from CPython's own dis.

The profile stores raw co_code; the readers (pure C, no libpython)
disassemble it with these tables.  Each table is what the running
interpreter's dis/opcode modules say, so the C disassembler follows the same
rules as dis.get_instructions() of that version.

Usage:
  python3.X scripts/gen_opcodes.py
      print the table of the running interpreter as JSON (one version).
  python3 scripts/gen_opcodes.py --write [--python EXE]... [--source DIR]...
      run every interpreter found (or the --python ones) with this script,
      and regenerate reports/model/opcodes_tables.c from all of them.
      Found: $PYENV_ROOT/versions/3.1x.*/bin/python3.1x, then python3.1x on
      PATH, then /usr/bin/python3.1x (first hit per minor version).
      --source DIR adds a version from a source tree (see below).
      Versions neither gives keep their table from the committed
      opcodes_tables.c (read back), so a machine without 3.10 does not
      drop it.  For 3.14 (no local interpreter):
        git -C MIRROR archive 0edaa75d86fbd8907f132ae567e4df8d31691849 \
            Lib/dis.py Lib/opcode.py Lib/_opcode_metadata.py Include \
            Modules/_opcode.c Python/ceval.c | tar -x -C /tmp/cpy314
        python3 scripts/gen_opcodes.py --write --source /tmp/cpy314
  python3 scripts/gen_opcodes.py --source DIR
      print the table of a CPython source tree (3.13+: Lib/_opcode_metadata.py
      plus the C headers _opcode reads), for a version without a local
      interpreter (3.14).  DIR is a checkout or an extracted release.

Standard library only.
"""
import glob
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT_C = os.path.join(ROOT, "reports", "model", "opcodes_tables.c")

FLAGS = ["ARG", "CONST", "NAME", "LOCAL", "FREE", "JREL", "JABS",
         "BACKWARD", "COMPARE", "JUMP", "EXC"]
# How dis.get_instructions() renders the argument; one per base opcode,
# in the order of the version's if/elif chain (see kind_of).
KINDS = ["NONE", "CONST", "NAME", "NAME_GLOBAL", "NAME_ATTR", "NAME_SUPER",
         "JUMP", "JUMP_FROM", "LOCAL", "CELL", "LOCAL_PAIR", "COMPARE",
         "FORMAT_VALUE", "CONVERT_VALUE", "FUNC_FLAGS", "BINARY_OP",
         "INTRINSIC1", "INTRINSIC2", "COMMON_CONST", "SPECIAL_METHOD",
         "IS_OP", "CONTAINS_OP"]


def kind_of(minor, op, flags, opmap):
    """The branch of dis's argrepr chain that `op` (a base opcode) takes."""
    def is_(n):
        return opmap.get(n, -1) == op
    if "ARG" not in flags:
        return "NONE"
    if "CONST" in flags:
        # 3.11 looks up co_consts for LOAD_CONST only (KW_NAMES: no repr)
        return "CONST" if minor != 11 or is_("LOAD_CONST") else "NONE"
    if "NAME" in flags:
        if minor >= 11 and is_("LOAD_GLOBAL"):
            return "NAME_GLOBAL"
        if minor >= 12 and is_("LOAD_ATTR"):
            return "NAME_ATTR"
        if minor >= 12 and is_("LOAD_SUPER_ATTR"):
            return "NAME_SUPER"
        return "NAME"
    if minor >= 13 and ("JUMP" in flags or "EXC" in flags):
        return "JUMP_FROM" if minor >= 14 and is_("END_ASYNC_FOR") else "JUMP"
    if minor <= 12 and ("JABS" in flags or "JREL" in flags):
        return "JUMP"
    if minor >= 13 and any(is_(n) for n in (
            "LOAD_FAST_LOAD_FAST", "LOAD_FAST_BORROW_LOAD_FAST_BORROW",
            "STORE_FAST_LOAD_FAST", "STORE_FAST_STORE_FAST")):
        return "LOCAL_PAIR"
    if minor == 10:
        # 3.10: locals, then compare, then cells (co_cellvars+co_freevars)
        if "LOCAL" in flags:
            return "LOCAL"
        if "COMPARE" in flags:
            return "COMPARE"
        if "FREE" in flags:
            return "CELL"
    else:
        if "LOCAL" in flags or "FREE" in flags:
            return "LOCAL"
        if "COMPARE" in flags:
            return "COMPARE"
    for opname_, kind in (("FORMAT_VALUE", "FORMAT_VALUE"),
                          ("CONVERT_VALUE", "CONVERT_VALUE"),
                          ("MAKE_FUNCTION" if minor <= 12 else
                           "SET_FUNCTION_ATTRIBUTE", "FUNC_FLAGS"),
                          ("BINARY_OP", "BINARY_OP"),
                          ("CALL_INTRINSIC_1", "INTRINSIC1"),
                          ("CALL_INTRINSIC_2", "INTRINSIC2"),
                          ("LOAD_COMMON_CONSTANT", "COMMON_CONST"),
                          ("LOAD_SPECIAL", "SPECIAL_METHOD"),
                          ("IS_OP", "IS_OP"), ("CONTAINS_OP", "CONTAINS_OP")):
        if is_(opname_):
            if minor < 11 and kind == "BINARY_OP":
                continue
            if minor < 12 and kind.startswith("INTRINSIC"):
                continue
            if minor < 14 and kind in ("COMMON_CONST", "SPECIAL_METHOD",
                                       "IS_OP", "CONTAINS_OP"):
                continue
            return kind
    return "NONE"


def build(minor, all_opname, opmap, deopt, sets, have_argument, caches_of,
          backward, extra):
    """The table of one version from dis's own data (see collect_running)."""
    ops = []
    for op in range(256):
        name = all_opname[op] if op < len(all_opname) else None
        if name is not None and name.startswith("<"):
            name = None
        flags = []
        if minor <= 11:
            if op >= have_argument:
                flags.append("ARG")
        elif op in sets["hasarg"]:
            flags.append("ARG")
        for f, s in (("CONST", "hasconst"), ("NAME", "hasname"),
                     ("LOCAL", "haslocal"), ("FREE", "hasfree"),
                     ("JREL", "hasjrel"), ("JABS", "hasjabs"),
                     ("COMPARE", "hascompare"), ("JUMP", "hasjump"),
                     ("EXC", "hasexc")):
            if op in sets.get(s, ()):
                flags.append(f)
        if backward(op):
            flags.append("BACKWARD")
        base = deopt(op)
        ops.append({"name": name, "base": base, "flags": flags,
                    "caches": caches_of(base),
                    "kind": None})
    for op in range(256):
        b = ops[op]["base"]
        ops[op]["kind"] = kind_of(minor, b, ops[b]["flags"], opmap)
    t = {"minor": minor, "ops": ops}
    t.update(extra)
    return t


def collect_running():
    import dis
    import opcode
    minor = sys.version_info[1]
    all_opname = list(getattr(dis, "_all_opname", opcode.opname))
    opmap = dict(opcode.opmap)
    names = ("hasarg", "hasconst", "hasname", "haslocal", "hasfree", "hasjrel",
             "hasjabs", "hascompare", "hasjump", "hasexc")
    sets = {n: set(getattr(opcode, n, ())) for n in names}
    if minor >= 11:
        deopt = dis._deoptop
    else:
        def deopt(op):
            return op
    ice = getattr(opcode, "_inline_cache_entries", None)
    if ice is None:
        def caches_of(op):
            return 0
    elif isinstance(ice, dict):
        def caches_of(op):
            return ice.get(all_opname[op], 0)
    else:
        def caches_of(op):
            return ice[op]
    if minor >= 11:
        backward = dis._is_backward_jump
    else:
        def backward(op):
            return False
    extra = {
        "cmp_op": list(opcode.cmp_op),
        "nb_ops": [s for _, s in getattr(opcode, "_nb_ops", ())],
        "intrinsic1": list(getattr(opcode, "_intrinsic_1_descs", ())),
        "intrinsic2": list(getattr(opcode, "_intrinsic_2_descs", ())),
        "func_flags": list(getattr(dis, "MAKE_FUNCTION_FLAGS", None)
                           or dis.FUNCTION_ATTR_FLAGS),
        "conversions": ([r for _, r in dis.FORMAT_VALUE_CONVERTERS]
                        if hasattr(dis, "FORMAT_VALUE_CONVERTERS")
                        else ["", "str", "repr", "ascii"]),
        "common_consts": [o.__name__ if isinstance(o, type) else repr(o)
                          for o in getattr(opcode, "_common_constants", ())],
        "special_methods": list(getattr(opcode, "_special_method_names", ())),
    }
    return build(minor, all_opname, opmap, deopt, sets, opcode.HAVE_ARGUMENT,
                 caches_of, backward, extra)


# --- a source tree (3.13+) -------------------------------------------------

def _c_strings(text):
    return [bytes(s, "ascii").decode("unicode_escape")
            for s in re.findall(r'"((?:[^"\\]|\\.)*)"', text)]


def collect_source(root):
    """The same table as collect_running, read from a CPython 3.13+ tree:
    Lib/_opcode_metadata.py and Lib/opcode.py are plain data; what they
    take from the C module _opcode (flags, nb_ops, intrinsic and special
    method names) is parsed from the headers _opcode.c reads."""
    def read(rel):
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            return f.read()
    patch = re.search(r"PY_MINOR_VERSION\s+(\d+)", read("Include/patchlevel.h"))
    minor = int(patch.group(1))
    meta = {}
    exec(compile(read("Lib/_opcode_metadata.py"), "_opcode_metadata", "exec"), meta)
    opmap = meta["opmap"]
    spec = meta["_specialized_opmap"]
    all_opname = ["<%r>" % op for op in range(max(opmap.values()) + 1)]
    for m in (opmap, spec):
        for n, op in m.items():
            all_opname[op] = n
    deoptmap = {s: b for b, fam in meta["_specializations"].items() for s in fam}

    def deopt(op):
        n = all_opname[op] if op < len(all_opname) else None
        return opmap[deoptmap[n]] if n in deoptmap else op
    # _PyOpcode_opcode_metadata[op] = { size, FORMAT, FLAG | FLAG ... }
    hdr = read("Include/internal/pycore_opcode_metadata.h")
    body = re.search(r"_PyOpcode_opcode_metadata\[\w*\]\s*=\s*\{(.*?)\n\};",
                     hdr, re.S).group(1)
    flagsets = {}
    for name, fl in re.findall(r"\[(\w+)\]\s*=\s*\{[^,]*,[^,]*,([^}]*)\}", body):
        if name in opmap:
            flagsets[opmap[name]] = set(re.findall(r"HAS_(\w+)_FLAG", fl))
    sets = {}
    for setname, flag in (("hasarg", "ARG"), ("hasconst", "CONST"),
                          ("hasname", "NAME"), ("hasjump", "JUMP"),
                          ("hasfree", "FREE"), ("haslocal", "LOCAL"),
                          ("hasexc", "EXC")):
        # opcode.py lists opmap values only: pseudo ops >255 do not matter
        sets[setname] = {op for op, f in flagsets.items() if flag in f}
    sets["hasjrel"] = sets["hasjump"]
    sets["hasjabs"] = set()
    sets["hascompare"] = {opmap["COMPARE_OP"]}
    ns = {}
    opc = read("Lib/opcode.py")
    cf = re.search(r"^_cache_format = \{.*?^\}", opc, re.S | re.M).group(0)
    exec(cf, ns)
    ice = {n: sum(v.values()) for n, v in ns["_cache_format"].items()}

    def caches_of(op):
        return ice.get(all_opname[op], 0)
    dis_src = read("Lib/dis.py")
    bw = re.search(r"def _is_backward_jump\(op\):\s*return opname\[op\] in \(([^)]*)\)",
                   dis_src).group(1)
    bw_names = set(_c_strings(bw.replace("'", '"')))

    def backward(op):
        return op < len(all_opname) and all_opname[op] in bw_names
    ff = re.search(r"FUNCTION_ATTR_FLAGS = \(([^)]*)\)", dis_src).group(1)
    # NB_* symbols by oparg (Include/opcode.h; internal/ before 3.13)
    utils = "".join(read(h) for h in ("Include/opcode.h",
                                      "Include/internal/pycore_opcode_utils.h")
                    if os.path.exists(os.path.join(root, h)))
    nb_num = {n: int(v) for n, v in re.findall(r"#define (NB_\w+)\s+(\d+)", utils)}
    ocs = read("Modules/_opcode.c")
    nb_sym = dict(re.findall(r"ADD_NB_OP\((NB_\w+),\s*\"([^\"]*)\"\)", ocs))
    nb_ops = [None] * (max(nb_num[n] for n in nb_sym) + 1)
    for n, s in nb_sym.items():
        nb_ops[nb_num[n]] = s
    intr = read("Include/internal/pycore_intrinsics.h")
    intrinsics = {}
    for kind in ("1", "2"):
        names = {}
        # unary and binary intrinsics share one #define namespace: the
        # header's "Binary Functions" comment splits them
        part = intr.split("Binary Functions")[0 if kind == "1" else 1]
        for n, v in re.findall(r"#define (INTRINSIC_\w+)\s+(\d+)", part):
            if not n.startswith("MAX_INTRINSIC"):
                names[int(v)] = n
        intrinsics[kind] = [names.get(i, "") for i in range(max(names) + 1)]
    special = []
    ceval = read("Python/ceval.c")
    m = re.search(r"_Py_SpecialMethods\[\]\s*=\s*\{(.*?)\};", ceval, re.S)
    if m:
        special = re.findall(r"&_Py_ID\((\w+)\)", m.group(1))
    extra = {
        "cmp_op": ["<", "<=", "==", "!=", ">", ">="],
        "nb_ops": nb_ops,
        "intrinsic1": intrinsics["1"],
        "intrinsic2": intrinsics["2"],
        "func_flags": _c_strings(ff.replace("'", '"')),
        "conversions": ["", "str", "repr", "ascii"],
        "common_consts": ["AssertionError", "NotImplementedError", "tuple",
                          "<built-in function all>", "<built-in function any>"],
        "special_methods": special,
    }
    return build(minor, all_opname, opmap, deopt, sets, meta["HAVE_ARGUMENT"],
                 caches_of, backward, extra)


# --- the C file -------------------------------------------------------------

def find_interpreters():
    found = {}
    roots = [os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))]
    for minor in range(10, 20):
        cands = []
        for r in roots:
            cands += sorted(glob.glob(os.path.join(r, "versions", "3.%d.*" % minor,
                                                   "bin", "python3.%d" % minor)))
        for d in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/bin"]:
            cands.append(os.path.join(d, "python3.%d" % minor))
        for c in cands:
            if os.access(c, os.X_OK):
                found[minor] = c
                break
    return found


def cstr(s):
    if s is None:
        return "NULL"
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def carray(name, items):
    body = ", ".join(cstr(s) for s in items) if items else "NULL"
    return "static const char *const %s[] = {%s};\n" % (name, body)


ACCESSORS = """const char *oc_name(const oc_table *t, unsigned op)
{
    return t && op < 256 ? t->ops[op].name : NULL;
}

unsigned oc_base(const oc_table *t, unsigned op)
{
    return t && op < 256 ? t->ops[op].base : op;
}

const char *oc_base_name(const oc_table *t, unsigned op)
{
    return oc_name(t, oc_base(t, op));
}

unsigned oc_caches(const oc_table *t, unsigned op)
{
    return t && op < 256 ? t->ops[op].caches : 0;
}
"""


def emit(tables):
    out = ["/* generated by scripts/gen_opcodes.py --write from CPython's own",
           " * dis/opcode modules, one table per minor version (a version with no",
           " * local interpreter from its source tree): do not edit. */",
           '#include "opcodes.h"', "", "#include <stddef.h>", ""]
    out.append("static const char *const unknown[256] = {")
    out.append("\n".join('    "<%d>",' % i for i in range(256)))
    out.append("};")
    out.append("const char *oc_placeholder(unsigned op)\n{\n"
               "    return op < 256 ? unknown[op] : \"<?>\";\n}\n")
    out.append(ACCESSORS)
    for minor in sorted(tables):
        t = tables[minor]
        v = "v%d" % minor
        out.append("/* ---- 3.%d ---- */" % minor)
        for key in ("cmp_op", "nb_ops", "intrinsic1", "intrinsic2",
                    "func_flags", "conversions", "common_consts",
                    "special_methods"):
            out.append(carray("%s_%s" % (v, key), t[key]).rstrip())
        out.append("static const oc_op %s_ops[256] = {" % v)
        for op, o in enumerate(t["ops"]):
            fl = " | ".join("OC_F_" + f for f in FLAGS if f in o["flags"]) or "0"
            out.append("    [%d] = {%s, %d, %d, OC_K_%s, %s}," % (
                op, cstr(o["name"]), o["base"], o["caches"], o["kind"], fl))
        out.append("};")
        out.append("static const oc_table %s = {" % v)
        out.append("    .minor = %d, .ops = %s_ops," % (minor, v))
        for key in ("cmp_op", "nb_ops", "intrinsic1", "intrinsic2",
                    "func_flags", "conversions", "common_consts",
                    "special_methods"):
            out.append("    .%s = %s_%s, .n_%s = %d," % (key, v, key, key, len(t[key])))
        out.append("};\n")
    out.append("const oc_table *oc_table_for(int minor)\n{\n    switch (minor) {")
    for minor in sorted(tables):
        out.append("    case %d: return &v%d;" % (minor, minor))
    out.append("    default: return NULL;\n    }\n}\n")
    out.append("int oc_versions(int *minors, int cap)\n{\n"
               "    static const int all[] = {%s};\n" % ", ".join(str(m) for m in sorted(tables)) +
               "    int n = (int)(sizeof all / sizeof all[0]);\n"
               "    for (int i = 0; i < n && i < cap; i++)\n        minors[i] = all[i];\n"
               "    return n;\n}")
    return "\n".join(out) + "\n"


def parse_c(text):
    """The tables of a file emit() wrote, for the versions kept as they are."""
    def unc(s):
        return None if s == "NULL" else s[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    tables = {}
    for minor in re.findall(r"static const oc_table v(\d+) = ", text):
        v = "v" + minor
        t = {"minor": int(minor), "ops": []}
        for key in ("cmp_op", "nb_ops", "intrinsic1", "intrinsic2",
                    "func_flags", "conversions", "common_consts",
                    "special_methods"):
            m = re.search(r"static const char \*const %s_%s\[\] = \{(.*)\};\n"
                          % (v, key), text)
            n = int(re.search(r"\.n_%s = (\d+)" % key,
                              text[text.index("oc_table %s =" % v):]).group(1))
            items = re.findall(r'"(?:[^"\\]|\\.)*"|NULL', m.group(1))
            t[key] = [unc(x) for x in items][:n]
        body = text[text.index("oc_op %s_ops[256]" % v):]
        for m in re.finditer(r'\[(\d+)\] = \{("(?:[^"\\]|\\.)*"|NULL), (\d+), (\d+), '
                             r'OC_K_(\w+), ([^}]*)\},', body[:body.index("};")]):
            t["ops"].append({"name": unc(m.group(2)), "base": int(m.group(3)),
                             "caches": int(m.group(4)), "kind": m.group(5),
                             "flags": re.findall(r"OC_F_(\w+)", m.group(6))})
        tables[int(minor)] = t
    return tables


def main(argv):
    if not argv:
        json.dump(collect_running(), sys.stdout, indent=1)
        print()
        return 0
    if argv[0] == "--source" and len(argv) == 2:
        json.dump(collect_source(argv[1]), sys.stdout, indent=1)
        print()
        return 0
    if argv[0] != "--write":
        print(__doc__, file=sys.stderr)
        return 2
    pythons, sources = [], []
    i = 1
    while i < len(argv):
        if argv[i] in ("--python", "--source") and i + 1 < len(argv):
            (pythons if argv[i] == "--python" else sources).append(argv[i + 1])
            i += 2
        else:
            print(__doc__, file=sys.stderr)
            return 2
    tables = {}
    if os.path.exists(OUT_C):
        with open(OUT_C) as f:
            tables = parse_c(f.read())
    exes = pythons or list(find_interpreters().values())
    for exe in exes:
        r = subprocess.run([exe, os.path.abspath(__file__)], capture_output=True,
                           text=True, check=True)
        t = json.loads(r.stdout)
        tables[t["minor"]] = t
        print("3.%d: %s" % (t["minor"], exe), file=sys.stderr)
    for src in sources:
        t = collect_source(src)
        tables[t["minor"]] = t
        print("3.%d: %s (source)" % (t["minor"], src), file=sys.stderr)
    with open(OUT_C + ".tmp", "w") as f:
        f.write(emit(tables))
    os.replace(OUT_C + ".tmp", OUT_C)
    print("wrote %s (3.%s)" % (os.path.relpath(OUT_C, ROOT),
                               ", 3.".join(str(m) for m in sorted(tables))),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
