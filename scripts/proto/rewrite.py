"""Basic-block counting by bytecode rewriting (prototype, CPython 3.10/3.11).

rewrite(code) returns a copy of `code` (and, recursively, of the code objects
in its co_consts) with a probe inserted in front of every basic-block leader:

  3.11 bool  LOAD_CONST probe; POP_JUMP_FORWARD_IF_TRUE 0        (nb_bool)
  3.11 call  PUSH_NULL; LOAD_CONST probe; PRECALL 0; CALL 0; POP_TOP
  3.10 bool  LOAD_CONST probe; POP_JUMP_IF_TRUE <next>
  3.10 call  LOAD_CONST probe; CALL_FUNCTION 0; POP_TOP

Jump arguments (with EXTENDED_ARG as needed), the line/location table, the
3.11 exception table and co_stacksize are recomputed.  Every rewritten code
object is remembered with its original, so that counts() can give
per-instruction counts at the offsets of the ORIGINAL bytecode: every
instruction of a block is counted as many times as the block was entered
(an exception leaving a block half-way over-counts the rest of the block).
Not part of opprof: see README.md.
"""
import dis
import sys

from bbprobe import Probe

PY = sys.version_info[:2]
if PY not in ((3, 10), (3, 11)):
    raise ImportError("the prototype handles CPython 3.10 and 3.11 only")

OP = dis.opmap
EXT = OP["EXTENDED_ARG"]
CACHES = getattr(dis, "_inline_cache_entries", [0] * 256)
JREL = set(dis.hasjrel)
JABS = set(dis.hasjabs)
BACKWARD = {op for op in JREL if "BACKWARD" in dis.opname[op]}
# the instruction after one of these starts a block (fall-through is either
# impossible or a second way in, or a generator resumes there)
BLOCK_END = {OP[n] for n in ("RETURN_VALUE", "RAISE_VARARGS", "RERAISE", "YIELD_VALUE",
                             "RETURN_GENERATOR", "JUMP_ABSOLUTE", "YIELD_FROM") if n in OP} | JREL | JABS

RESUME = OP.get("RESUME")
BACK_TO_SEND = OP.get("JUMP_BACKWARD_NO_INTERRUPT")
PROBE_KIND = "bool"
REGISTRY = []          # (original code, rewritten code, [(leader offset, probe)])


def parse(code):
    """Logical instructions: (start incl. EXTENDED_ARG prefixes, op offset, op, arg)."""
    raw = code.co_code
    out, i, ext, start = [], 0, 0, None
    while i < len(raw):
        op, arg = raw[i], raw[i + 1] | ext
        if start is None:
            start = i
        if op == EXT:
            ext, i = arg << 8, i + 2
            continue
        out.append((start, i, op, arg))
        ext, start = 0, None
        i += 2 + 2 * CACHES[op]
    return out


def jump_target(op_off, op, arg):
    if op in JABS:
        return 2 * arg                               # 3.10: instruction units
    if op in BACKWARD:
        return op_off + 2 - 2 * arg
    return op_off + 2 + 2 * CACHES[op] + 2 * arg


def exception_table(code):
    return dis._parse_exception_table(code) if PY >= (3, 11) else []


def n_ext(arg):
    return 0 if arg < 1 << 8 else 1 if arg < 1 << 16 else 2 if arg < 1 << 24 else 3


def varint(out, v):                                  # 3.11 location table
    while v >= 64:
        out.append(0x40 | (v & 63))
        v >>= 6
    out.append(v)


def encode_locations(units, firstlineno):
    """3.11 co_linetable from one (line, endline, col, endcol) per code unit."""
    out, prev, i = bytearray(), firstlineno, 0
    while i < len(units):
        n = 1
        while n < 8 and i + n < len(units) and units[i + n] == units[i]:
            n += 1
        line, eline, col, ecol = units[i]
        if line is None:
            out.append(0x80 | (15 << 3) | (n - 1))
        else:
            out.append(0x80 | (14 << 3) | (n - 1))
            d = line - prev
            varint(out, (-d << 1) | 1 if d < 0 else d << 1)
            varint(out, (eline if eline is not None else line) - line)
            varint(out, col + 1 if col is not None else 0)
            varint(out, ecol + 1 if ecol is not None else 0)
            prev = line
        i += n
    return bytes(out)


def encode_lines(units, firstlineno):
    """3.10 co_linetable (bytecode delta, line delta) pairs from a line per code unit."""
    out, prev, i = bytearray(), firstlineno, 0
    while i < len(units):
        j = i
        while j < len(units) and units[j] == units[i]:
            j += 1
        line, bdelta = units[i], 2 * (j - i)
        if line is None:
            ldelta = -128
        else:
            ldelta, prev = line - prev, line
            while ldelta > 127:
                out += bytes((0, 127))
                ldelta -= 127
            while ldelta < -127:
                out += bytes((0, 129))
                ldelta += 127
        while bdelta > 254:
            out += bytes((254, ldelta & 255))
            ldelta = -128 if line is None else 0
            bdelta -= 254
        out += bytes((bdelta, ldelta & 255))
        i = j
    return bytes(out)


def encode_exceptions(entries):
    out = bytearray()
    for values in entries:
        for k, v in enumerate(values):
            msb = 0x80 if k == 0 else 0
            for s in (24, 18, 12, 6):
                if v >= 1 << s:
                    out.append(((v >> s) & 63) | 0x40 | msb)
                    msb = 0
            out.append((v & 63) | msb)
    return bytes(out)


def unit_positions(code):
    if PY >= (3, 11):
        return list(code.co_positions())
    lines = [None] * (len(code.co_code) // 2)
    for start, end, line in code.co_lines():
        lines[start // 2:end // 2] = [line] * ((end - start) // 2)
    return lines


def probe_items(k, const_index):
    """The probe in front of original instruction k: [op, arg, target, caches]."""
    if PROBE_KIND == "bool":
        jump = OP["POP_JUMP_FORWARD_IF_TRUE"] if PY >= (3, 11) else OP["POP_JUMP_IF_TRUE"]
        return [[OP["LOAD_CONST"], const_index, None, 0], [jump, 0, ("next", k), 0]]
    if PY >= (3, 11):
        return [[OP["PUSH_NULL"], 0, None, 0], [OP["LOAD_CONST"], const_index, None, 0],
                [OP["PRECALL"], 0, None, CACHES[OP["PRECALL"]]],
                [OP["CALL"], 0, None, CACHES[OP["CALL"]]], [OP["POP_TOP"], 0, None, 0]]
    return [[OP["LOAD_CONST"], const_index, None, 0], [OP["CALL_FUNCTION"], 0, None, 0],
            [OP["POP_TOP"], 0, None, 0]]


def rewrite(code):
    consts = [rewrite(c) if isinstance(c, type(code)) else c for c in code.co_consts]
    ins = parse(code)
    index = {}
    for k, (start, op_off, _, _) in enumerate(ins):
        index[start] = index[op_off] = k
    table = exception_table(code)
    leaders = {0} | {e.target for e in table}
    for k, (start, op_off, op, arg) in enumerate(ins):
        if op in JREL or op in JABS:
            leaders.add(jump_target(op_off, op, arg))
        if op in BLOCK_END and k + 1 < len(ins):
            leaders.add(ins[k + 1][0])
    leaders = sorted(index[o] for o in leaders if o in index)
    is_leader = set(leaders)

    # the new instruction stream: [op, arg, target, caches, original index,
    # the instruction whose block a probe counts, the one whose position it takes]
    items, probes, bypass = [], [], []
    for k, (start, op_off, op, arg) in enumerate(ins):
        target = ("start", index[jump_target(op_off, op, arg)]) \
            if op in JREL or op in JABS else None
        if op == BACK_TO_SEND and ins[target[1]][2] == OP["SEND"]:
            # 3.11 `yield from`/`await` loop: back to SEND itself, not to its
            # probe (a tracer sees no line event on that edge only if it lands
            # on SEND); SEND's count is then its probe + this jump's block
            target = ("real", target[1])
            bypass.append((target[1], op_off))
        if k in is_leader:
            probe = Probe()
            probes.append((ins[k][1], probe))
            block = [it + [None, k, k] for it in probe_items(k, len(consts))]
            consts.append(probe)
            # 3.11: a suspended generator's `yield from`/`await` is found by the
            # RESUME right after its YIELD_VALUE (_PyGen_yf): RESUME keeps its
            # place and the probe goes after it (RESUME does nothing else)
            # (with the next instruction's position: no line event of its own)
            if RESUME is not None and op == RESUME:
                where = min(k + 1, len(ins) - 1)
                items += [[op, arg, target, CACHES[op], k, k, k]] + \
                    [it[:5] + [k, where] for it in block]
                continue
            items += block
        items.append([op, arg, target, CACHES[op], k, k, k])

    ext = [n_ext(it[1]) for it in items]
    while True:                        # sizes -> offsets -> jump args -> sizes
        offs, pos = [], 0
        for it, e in zip(items, ext):
            offs.append(pos)
            pos += 2 * (e + 1 + it[3])
        real, first = {}, {}
        for j, it in enumerate(items):   # a block starts at its probe or at RESUME
            if it[4] is not None:
                real[it[4]] = offs[j]
            first.setdefault(it[5], offs[j])
        changed = False
        for j, it in enumerate(items):
            if it[2] is None:
                continue
            kind, k = it[2]
            tgt = first[k] if kind == "start" else real[k] if kind == "real" else offs[j + 1]
            op = it[0]
            after = offs[j] + 2 * ext[j] + 2
            if op in JABS:
                it[1] = tgt // 2
            elif op in BACKWARD:
                it[1] = (after - tgt) // 2
            else:
                it[1] = (tgt - after) // 2
            if n_ext(it[1]) > ext[j]:
                ext[j], changed = n_ext(it[1]), True
        if not changed:
            break

    old_units = unit_positions(code)
    raw, units = bytearray(), []
    for j, it in enumerate(items):
        op, arg, _, ncache, k, _, src = it
        where = old_units[ins[src][1] // 2]
        for s in range(ext[j], 0, -1):
            raw += bytes((EXT, (arg >> (8 * s)) & 255))
        raw += bytes((op, arg & 255)) + bytes(2 * ncache)
        units += [where] * (ext[j] + 1 + ncache)

    def new(off):                      # an original offset, probe included
        return pos if off == len(code.co_code) else first[index[off]]

    kw = dict(co_code=bytes(raw), co_consts=tuple(consts),
              co_stacksize=code.co_stacksize + (2 if PROBE_KIND == "call" else 1))
    if PY >= (3, 11):
        kw["co_linetable"] = encode_locations(units, code.co_firstlineno)
        kw["co_exceptiontable"] = encode_exceptions(
            (new(e.start) // 2, (new(e.end) - new(e.start)) // 2, new(e.target) // 2,
             e.depth << 1 | e.lasti) for e in table)
    else:
        kw["co_linetable"] = encode_lines(units, code.co_firstlineno)
    out = code.replace(**kw)
    starts = [off for off, _ in probes]

    def block_probe(off):
        return probes[max(i for i, s in enumerate(starts) if s <= off)][1]
    extra = {ins[k][1]: [] for k, _ in bypass}
    for k, off in bypass:
        extra[ins[k][1]].append(block_probe(off))
    REGISTRY.append((code, out, [(off, p, extra.get(off, ())) for off, p in probes]))
    return out


def counts():
    """Per-instruction counts at the original offsets, summed over code objects
    of the same function: {(file, name, firstlineno): {op offset: [opname, count]}}."""
    result = {}
    for code, _, probes in REGISTRY:
        fn = result.setdefault((code.co_filename, getattr(code, "co_qualname", code.co_name),
                                code.co_firstlineno), {})
        starts = [off for off, _, _ in probes]
        b = -1
        for start, op_off, op, _ in parse(code):
            while b + 1 < len(starts) and starts[b + 1] <= op_off:
                b += 1
            c = probes[b][1].count + sum(p.count for p in probes[b][2])
            row = fn.setdefault(op_off, [dis.opname[op], 0])
            row[1] += c
    return result
