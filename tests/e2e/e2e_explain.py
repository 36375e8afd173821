"""End-to-end tests of `opprof explain`, the report's legend and
`annotate --explain` (called by run_e2e.py with itself as `t`).

The glossary's claims are checked against every interpreter on the
machine: each name in its opcode.opmap, and on 3.11+ each specialized
name, must be given to that version, and no name to a version without it.
"""
import glob
import json
import os
import re
import sys

# what each interpreter says it has: opmap names and specialized names
NAMES = r"""
import json, opcode
names = set(opcode.opmap)
for forms in getattr(opcode, "_specializations", {}).values():
    names.update(forms)
print(json.dumps(sorted(names)))
"""

# dis of code compiled from a file, per code object depth first (explain's order)
DIS = r"""
import dis, json, sys
src = open(sys.argv[1]).read()
out = []
def walk(co):
    out.append([co.co_name, [(i.offset, i.opname) for i in dis.get_instructions(co)]])
    for c in co.co_consts:
        if hasattr(c, "co_code"):
            walk(c)
walk(compile(src, sys.argv[1], "exec"))
print(json.dumps(out))
"""

SAMPLE = """\
import math

RADIUS = 2.0


def area(r):
    return math.pi * r * r


class Shape:
    def grow(self, k):
        return [area(k * i) for i in range(3)]


total = 0
for i in range(5):
    total += i
print("this must never print")
"""


def interpreters(t):
    """(minor, exe) of every interpreter here: PYTHON_EXE and pyenv's."""
    found = {t.PYVER[1]: t.PYTHON}
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for minor in range(10, 15):
        for exe in sorted(glob.glob(os.path.join(root, "versions", "3.%d.*" % minor, "bin",
                                                 "python3.%d" % minor))):
            if not os.path.basename(os.path.dirname(os.path.dirname(exe))).endswith("t"):
                found.setdefault(minor, exe)
    return found


def coverage(t):
    counts = {}
    for minor, exe in sorted(interpreters(t).items()):
        r = t.run([exe, "-c", NAMES])
        if r.returncode != 0:
            t.check(f"explain: 3.{minor}'s opcode names read", False, r.stderr[-300:])
            continue
        have = set(json.loads(r.stdout))
        g = t.opprof(["explain", "--names", f"3.{minor}"])
        claimed = set(g.stdout.split())
        t.check(f"explain: every instruction name of 3.{minor} ({len(have)}) has an entry for it",
                g.returncode == 0 and not have - claimed, sorted(have - claimed)[:20])
        t.check(f"explain: no entry claims 3.{minor} for a name it does not have",
                not claimed - have, sorted(claimed - have)[:20])
        counts[minor] = len(claimed)
    print("e2e: glossary entries per version: " +
          ", ".join(f"3.{m} {n}" for m, n in sorted(counts.items())))


def one_name(t):
    a = t.opprof(["explain", "LOAD_NAME"])
    b = t.opprof(["explain", "load_name"])
    t.check("explain LOAD_NAME: exit 0, the same in any case", a.returncode == 0 and
            a.stdout == b.stdout and a.stdout.startswith("LOAD_NAME: "), a.stderr)
    for field in ("category", "example", "versions", "history"):
        t.check(f"explain LOAD_NAME: has its {field}", re.search(rf"^  {field} +\S", a.stdout, re.M),
                a.stdout)
    if t.PYVER >= (3, 11):
        s = t.opprof(["explain", "LOAD_ATTR"])
        t.check("explain LOAD_ATTR: lists its specialized forms",
                "LOAD_ATTR_INSTANCE_VALUE" in s.stdout and "specialized forms in" in s.stdout,
                s.stdout)
        s = t.opprof(["explain", "LOAD_ATTR_INSTANCE_VALUE"])
        t.check("explain LOAD_ATTR_INSTANCE_VALUE: says what it specializes",
                re.search(r"^  specializes LOAD_ATTR, in 3\.11", s.stdout, re.M), s.stdout)
    old = t.opprof(["explain", "BINARY_ADD"])
    t.check("explain BINARY_ADD: a 3.10 name is explained on any version, with its history",
            old.returncode == 0 and "3.10" in old.stdout, old.stdout + old.stderr)
    bad = t.opprof(["explain", "LOAD_NAMES"])
    t.check("explain LOAD_NAMES: exit 2, one line, closest names suggested",
            bad.returncode == 2 and bad.stdout == "" and len(bad.stderr.splitlines()) == 1
            and "LOAD_NAME" in bad.stderr, bad.stderr)


def listing(t):
    r = t.opprof(["explain"])
    mine = t.opprof(["explain", "--names", "%d.%d" % t.PYVER]).stdout.split()
    rows = [l.split()[0] for l in r.stdout.splitlines() if l.startswith("  ")]
    t.check(f"explain: every instruction of {t.PYVER[0]}.{t.PYVER[1]} listed once",
            r.returncode == 0 and sorted(rows) == sorted(mine) and len(rows) == len(set(rows)),
            f"{len(rows)} rows, {len(mine)} names")
    heads = [l for l in r.stdout.splitlines() if l and not l.startswith(" ")]
    for want in ("name access", "control flow", "calls"):
        t.check(f"explain: a '{want}' group", want in heads, heads)
    if t.PYVER >= (3, 11):
        t.check("explain: a 'specialized' group", "specialized" in heads, heads)


def compiled(t):
    tmp = os.path.join(t.TMP, "explain")
    os.makedirs(tmp, exist_ok=True)
    path = os.path.join(tmp, "sample.py")
    with open(path, "w") as f:
        f.write(SAMPLE)
    r = t.opprof(["explain", path])
    t.check("explain FILE: compiled, never run", r.returncode == 0 and
            "\nthis must never print\n" not in "\n" + r.stdout, r.stdout[-500:] + r.stderr)
    ref = t.run([t.PYTHON, "-c", DIS, path])
    want = json.loads(ref.stdout) if ref.returncode == 0 else []
    got, cur = [], None
    for line in r.stdout.splitlines():
        m = re.match(r"Disassembly of (\S+) ", line)
        if m:
            cur = [m.group(1).split(".")[-1], []]
            got.append(cur)
            continue
        m = re.match(r"^\s*(?:L\d+:|>>)?\s+(\d+)  ([A-Z_][A-Z0-9_]*)\b", line)
        if m and cur:
            cur[1].append([int(m.group(1)), m.group(2)])
    t.check(f"explain FILE: the instructions dis lists, code object by code object ({len(want)})",
            want and got == [[n, [list(x) for x in ins]] for n, ins in want],
            f"{[g[0] for g in got]} vs {[w[0] for w in want]}")
    meanings = [l for l in r.stdout.splitlines() if re.match(r"^\s*(?:L\d+:|>>)?\s+\d+  [A-Z]", l)]
    t.check("explain FILE: every instruction has its meaning beside it",
            meanings and all(len(l.rstrip()) > 60 for l in meanings),
            [l for l in meanings if len(l.rstrip()) <= 60][:3])
    t.check("explain FILE: source lines shown", "    7 | return math.pi * r * r" in r.stdout,
            r.stdout[:800])
    one = t.opprof(["explain", path, "Shape.grow"])
    t.check("explain FILE FUNCTION: only that function",
            one.returncode == 0 and one.stdout.count("Disassembly of") == 1 and
            "Disassembly of Shape.grow" in one.stdout or (t.PYVER < (3, 11) and
                                                          "Disassembly of grow" in one.stdout),
            one.stdout[:300] + one.stderr)
    c = t.opprof(["explain", "-c", "x = 1\nprint('ran')"])
    t.check("explain -c: disassembled, not run", c.returncode == 0 and "ran\n" not in c.stdout
            and "STORE_NAME" in c.stdout, c.stdout + c.stderr)
    cases = [
        (["explain", "-c", "x = (1,"], "SyntaxError"),
        (["explain", os.path.join(tmp, "missing.py")], "cannot read"),
        (["explain", path, "nosuchfunction"], "no function nosuchfunction"),
        (["explain", "--bogus"], "unknown option"),
    ]
    for args, what in cases:
        e = t.opprof(args)
        t.check(f"explain {' '.join(args[1:])[:30]}: exit 2 and one line ({what})",
                e.returncode == 2 and len(e.stderr.splitlines()) == 1 and what in e.stderr,
                f"{e.returncode} {e.stderr!r}")


def legend(t):
    out = os.path.join(t.TMP, "legend.json")
    t.opprof(["run", "-q", "-o", out, "loops.py", "a", "b"])
    rep = t.opprof(["report", out, "--width", "100"])
    text = rep.stdout
    at = text.find("legend (")
    t.check("report: ends with a legend", rep.returncode == 0 and at > 0, text[-500:])
    names = set(t.opprof(["explain", "--names", "%d.%d" % t.PYVER]).stdout.split())
    shown = set(re.findall(r"^\s{2}([A-Z][A-Z0-9_]+)\s", text[:at], re.M)) & names
    rows = dict(re.findall(r"^  ([A-Z][A-Z0-9_]+)\s+(\S.*)$", text[at:], re.M))
    t.check("report legend: one line per opcode shown, each with a meaning",
            shown and shown == set(rows) and "not in opprof" not in text[at:],
            sorted(shown ^ set(rows)))
    none = t.opprof(["report", out, "--no-legend"])
    lo, hi = text.find("\nlegend ("), text.find("\nfindings (")
    t.check("report --no-legend: the same report without the legend",
            0 < lo < hi and none.stdout == text[:lo] + text[hi:], none.stdout[-300:])
    a = t.opprof(["annotate", out, "--explain"])
    plain = t.opprof(["annotate", out])
    lines = [l for l in a.stdout.splitlines() if re.match(r"^\s+\d*\s+\d+  [A-Z]", l)]
    t.check("annotate --explain: each instruction row ends with its meaning",
            a.returncode == 0 and lines and all(len(l) > len("%6s %6s  %-24s %-28s" % ("", "", "", ""))
                                                 + 70 for l in lines) and a.stdout != plain.stdout,
            lines[:3])


FINDINGS = ["module_loop", "globals", "exceptions", "attributes", "generator"]
KIND = {"module_loop": "module-loop", "globals": "global-in-loop", "exceptions": "exceptions",
        "attributes": "attribute-in-loop", "generator": "generator"}


def findings_of(text):
    at = text.find("\nfindings (")
    return at, re.findall(r"^  \d+\. \[([a-z-]+)\]", text[at:], re.M) if at >= 0 else []


def findings(t):
    """Each fixture of fixtures/findings triggers its finding; its _no twin
    (the same work, written the better way) does not."""
    folder = os.path.join(t.FIX, "findings")
    for name in FINDINGS[:1] if t.QUICK else FINDINGS:   # QUICK: under valgrind
        for script, want in ((name + ".py", True), (name + "_no.py", False)):
            out = os.path.join(t.TMP, "fd-" + script + ".json")
            r = t.opprof(["run", "-o", out, script], cwd=folder)
            at, kinds = findings_of(r.stderr)
            print(f"e2e: findings of {script}: {', '.join(kinds) or 'none'}")
            t.check(f"findings: {script} {'shows' if want else 'does not show'} [{KIND[name]}]",
                    at >= 0 and (KIND[name] in kinds) == want, r.stderr[at:][:1500])
            rep = t.opprof(["report", out])
            t.check(f"findings: {script}: opprof report finds the same as the run",
                    findings_of(rep.stdout)[1] == kinds and
                    rep.stdout[findings_of(rep.stdout)[0]:] == r.stderr[at:].split("\nopprof: ")[0]
                    .rstrip("\n") + "\n", rep.stdout[-800:])
    out = os.path.join(t.TMP, "fd-time-only.json")
    r = t.opprof(["run", "--time-only", "-o", out, "module_loop.py"], cwd=folder)
    t.check("findings: --time-only says they need counts",
            "findings need exact counts" in r.stderr, r.stderr[-400:])


def run_all(t):
    coverage(t)
    findings(t)
    one_name(t)
    listing(t)
    compiled(t)
    legend(t)


if __name__ == "__main__":
    sys.exit("run through run_e2e.py")
