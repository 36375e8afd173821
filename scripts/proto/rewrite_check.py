"""Static self-check of rewrite.py over the whole standard library.

  python3.11 scripts/proto/rewrite_check.py

Compiles every .py file of the interpreter's standard library, rewrites
every code object, and checks on the result that
  - every original instruction is there, same opcode, same argument
    (jump arguments: same target instruction),
  - it has the same position (3.11: line, end line, columns; 3.10: line),
  - 3.11: the same exception handler (same target instruction, depth, lasti),
  - dis can list it.
Prints the number of code objects checked and any failure.
"""
import dis
import io
import os
import sys
import sysconfig
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[0:0] = [os.path.join(HERE, "build", "%d.%d" % sys.version_info[:2]), HERE]
import rewrite  # noqa: E402

PY311 = sys.version_info >= (3, 11)


def handlers(code, ins, offsets):
    """For each original instruction index: (handler instruction index, depth, lasti)."""
    table = rewrite.exception_table(code)
    out = [None] * len(ins)
    for k, (_, op_off, _, _) in enumerate(ins):
        for e in table:
            if e.start <= op_off < e.end:
                out[k] = (offsets.get(e.target, f"not an instruction start: {e.target}"), e.depth, e.lasti)
                break
    return out


def check(old, new):
    a, b = rewrite.parse(old), rewrite.parse(new)
    probe_consts = {i for i, c in enumerate(new.co_consts) if isinstance(c, rewrite.Probe)}
    # drop the probes from the new stream: what is left must be the old one
    kept, j = [], 0
    call311 = PY311 and rewrite.PROBE_KIND == "call"
    probe_len = 2 if rewrite.PROBE_KIND == "bool" else (5 if PY311 else 3)

    def is_probe(j):
        if call311:
            j += 1
            if b[j - 1][2] != rewrite.OP["PUSH_NULL"] or j >= len(b):
                return False
        return b[j][2] == rewrite.OP["LOAD_CONST"] and b[j][3] in probe_consts
    while j < len(b):
        if is_probe(j):
            j += probe_len
            continue
        kept.append(j)
        j += 1
    if len(kept) != len(a):
        return f"{len(a)} instructions, {len(kept)} after rewriting"
    old_index = {ins[0]: k for k, ins in enumerate(a)} | {ins[1]: k for k, ins in enumerate(a)}
    new_index = {}
    for k, j in enumerate(kept):       # a jump to a probe lands on its instruction
        new_index[b[j][0]] = new_index[b[j][1]] = k
        p = j - probe_len              # only the probe's first instruction
        if p >= 0 and is_probe(p):
            new_index[b[p][0]] = new_index[b[p][1]] = k
    pa, pb = rewrite.unit_positions(old), rewrite.unit_positions(new)
    for k, j in enumerate(kept):
        (_, oa, opa, arga), (_, ob, opb, argb) = a[k], b[j]
        if opa != opb:
            return f"instruction {k}: {dis.opname[opa]} became {dis.opname[opb]}"
        if opa in rewrite.JREL or opa in rewrite.JABS:
            ta = old_index[rewrite.jump_target(oa, opa, arga)]
            tb = new_index[rewrite.jump_target(ob, opb, argb)]
            if ta != tb:
                return f"{dis.opname[opa]} at {oa}: target {ta} became {tb}"
        elif arga != argb:
            return f"{dis.opname[opa]} at {oa}: argument {arga} became {argb}"
        if pa[oa // 2] != pb[ob // 2]:
            return f"{dis.opname[opa]} at {oa}: position {pa[oa // 2]} became {pb[ob // 2]}"
    if PY311:
        ha = handlers(old, a, old_index)
        hb = [h for j, h in enumerate(handlers(new, b, new_index)) if j in set(kept)]
        if ha != hb:
            return "exception table differs"
    dis.dis(new, file=io.StringIO())
    return None


def main():
    rewrite.PROBE_KIND = sys.argv[1] if len(sys.argv) > 1 else "bool"
    root = sysconfig.get_paths()["stdlib"]
    files = codes = 0
    failures = []
    warnings.simplefilter("ignore")
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ("site-packages", "dist-packages")]
        for n in names:
            if not n.endswith(".py"):
                continue
            path = os.path.join(dirpath, n)
            try:
                with open(path, "rb") as f:
                    code = compile(f.read(), path, "exec", dont_inherit=True)
            except (SyntaxError, ValueError):
                continue        # lib2to3 test data and the like
            files += 1
            rewrite.REGISTRY.clear()
            rewrite.rewrite(code)
            for old, new, _ in rewrite.REGISTRY:
                codes += 1
                err = check(old, new)
                if err:
                    failures.append(f"{path}:{old.co_firstlineno} {old.co_name}: {err}")
    print(f"rewrite_check: Python {sys.version.split()[0]}, probe {rewrite.PROBE_KIND}: "
          f"{files} files, {codes} code objects, {len(failures)} failures")
    for line in failures[:20]:
        print("  " + line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
