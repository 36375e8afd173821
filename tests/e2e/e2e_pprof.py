"""End-to-end checks of the pprof output (run --pprof, report --format
pprof) read by `go tool pprof` itself: its -raw totals per sample type
equal the profile's totals exactly, the hot function tops -top, --opcodes
gives opcode leaves and `-tagfocus opcode=` finds their counts, the
labels are there, -diff_base of two runs shows the increase `opprof diff`
reports, --no-stacks, --time-only and --native load with their sample
types and totals, and report --format pprof of a saved profile is the
run's file byte for byte.  Skipped with a printed reason where go is
missing (scripts/install-deps.sh installs golang-go)."""
import os
import pty
import re
import shutil
import subprocess

from e2e_flame import skip

SAMPLE = re.compile(r"\s+(-?\d+(?:\s+-?\d+)*):((?:\s+\d+)*)\s*")
TOP_ROW = re.compile(r"\s*(-?\d+)\s+-?[\d.]+%\s+[\d.]+%\s+(-?\d+)\s+-?[\d.]+%\s+(.+)")


def pprof(t, args):
    return t.run(["go", "tool", "pprof"] + args, cwd=t.TMP, env={"PPROF_TMPDIR": t.TMP})


def raw(t, path, *extra):
    """(sample types, totals per type, sample depths, -raw text) of `path`
    as go tool pprof reads it; types None when it cannot."""
    r = pprof(t, ["-raw", "-symbolize=none", *extra, path])
    lines = r.stdout.splitlines()
    if r.returncode != 0 or "Samples:" not in lines:
        return None, [], [], r.stdout + r.stderr
    at = lines.index("Samples:") + 1
    types = [x.replace("[dflt]", "") for x in lines[at].split()]
    totals, depths = [0] * len(types), []
    for line in lines[at + 1:]:
        if not line.startswith(" "):
            break
        m = SAMPLE.fullmatch(line)
        if m:
            values = [int(v) for v in m.group(1).split()]
            totals = [a + b for a, b in zip(totals, values)]
            depths.append(len(m.group(2).split()))
    return types, totals, depths, r.stdout


def top_rows(text):
    """[(flat, name)] of a -top listing, in its order."""
    return [(int(m.group(1)), m.group(3).strip()) for m in map(TOP_ROW.fullmatch,
                                                               text.splitlines()) if m]


def native_time(prof):
    return sum(s["time_ns"] for s in prof.get("native_stacks", []))


def check_file(t, name, path, prof, types, cpu_total=None):
    """The file loads, with these sample types, adding up to the profile's totals."""
    got, totals, depths, text = raw(t, path)
    t.check(f"{name}: go tool pprof reads it, sample types {types}", got == types,
            f"{got} {text[-600:]}")
    if got != types:
        return depths, text
    want = {"instructions/count": prof["totals"]["instructions"],
            "cpu/nanoseconds": prof["totals"].get("time_ns") if cpu_total is None else cpu_total}
    t.check(f"{name}: -raw totals equal the profile's", totals == [want[x] for x in types],
            f"{totals} != {[want[x] for x in types]}")
    return depths, text


def same_bytes(t, name, path, json_path, extra=()):
    """report --format pprof of the saved profile, to a file and to standard
    output, is the run's file."""
    out = path + ".report"
    r = t.opprof(["report", json_path, "--format", "pprof", "-o", out, *extra])
    with open(path, "rb") as a:
        want = a.read()
    got = open(out, "rb").read() if os.path.exists(out) else b""
    t.check(f"{name}: report --format pprof of its profile = run --pprof, byte for byte",
            r.returncode == 0 and got == want and want[:2] == b"\x1f\x8b", r.stderr)
    s = subprocess.run(t.VALGRIND + [t.OPPROF, "report", json_path, "--format", "pprof",
                                     "-o", "-", *extra], capture_output=True)
    t.check(f"{name}: report -o - writes the same bytes to standard output",
            s.returncode == 0 and s.stdout == want, s.stderr.decode(errors="replace"))


def run_app(t, rounds, extra=()):
    stem = os.path.join(t.TMP, f"pp-app{rounds}{''.join(extra)}")
    r = t.opprof(["run", "-q", "-o", stem + ".json", "--pprof", stem + ".pb.gz", *extra,
                  "pprof_app.py", str(rounds)])
    ok = r.returncode == 0 and os.path.exists(stem + ".pb.gz")
    t.check(f"run --pprof {' '.join(extra)}: profile and pprof file written", ok, r.stderr)
    return (stem, t.load_raw(stem + ".json")) if ok else (None, None)


def run_default(t):
    stem, prof = run_app(t, 100)
    if not stem:
        return None
    path, both = stem + ".pb.gz", ["instructions/count", "cpu/nanoseconds"]
    _, text = check_file(t, "run --pprof", path, prof, both)
    t.check("labels thread, scope and process on every sample",
            text.count("thread:[MainThread]") and "scope:[function]" in text and
            f"process:[{prof['processes'][0]['pid']}]" in text, text[-800:])
    r = pprof(t, ["-top", "-sample_index=instructions", "-symbolize=none", path])
    rows = top_rows(r.stdout)
    t.check("-top: the hot function first", rows and rows[0][1] == "heavy", r.stdout[-800:])
    pid = prof["processes"][0]["pid"]
    _, totals, _, _ = raw(t, path, f"-tagfocus=process={pid}")
    t.check("-tagfocus process=PID keeps every sample",
            totals == [prof["totals"]["instructions"], prof["totals"]["time_ns"]], str(totals))
    same_bytes(t, "default", path, stem + ".json")
    # --opcodes, from the saved profile: the opcode is the leaf, with its label
    ops = path + ".ops"
    r = t.opprof(["report", stem + ".json", "--format", "pprof", "--opcodes", "-o", ops])
    check_file(t, "--opcodes", ops, prof, both)
    r = pprof(t, ["-traces", "-sample_index=instructions", "-symbolize=none", ops])
    leaves = re.findall(r"^\s+\d+\s+(\[[A-Z0-9_]+\])$", r.stdout, re.M)
    t.check("--opcodes: the traces' leaves are opcodes like [BINARY_OP]", len(leaves) > 3,
            r.stdout[-600:])
    v1 = t.load(stem + ".json")
    counts = {}
    for f in v1["functions"]:
        for i in f["code"]:
            counts[i["opname"]] = counts.get(i["opname"], 0) + i["count"]
    name = max(counts, key=counts.get)
    _, totals, _, _ = raw(t, ops, f"-tagfocus=opcode=^{name}$")
    t.check(f"--opcodes: -tagfocus opcode={name} holds its count", totals[:1] == [counts[name]],
            f"{totals} != {counts[name]}")
    stem2, prof2 = run_app(t, 100, ("--opcodes",))
    if stem2:
        same_bytes(t, "--opcodes", stem2 + ".pb.gz", stem2 + ".json", ("--opcodes",))
    return stem


def run_diff(t, base):
    stem, _ = run_app(t, 130)
    if not stem or not base:
        return
    r = pprof(t, ["-top", "-sample_index=instructions", "-symbolize=none",
                  f"-diff_base={base}.pb.gz", stem + ".pb.gz"])
    rows = top_rows(r.stdout)
    d = t.opprof(["diff", base + ".json", stem + ".json", "--format", "json", "--soft"])
    try:
        import json
        delta = {f["qualname"]: f["delta"] for f in json.loads(d.stdout)["functions"]}
    except (ValueError, KeyError) as ex:
        delta = {"?": str(ex)}
    t.check("-diff_base: heavy's increase on top, the one opprof diff reports",
            rows and rows[0][1] == "heavy" and delta.get("heavy", 0) > 0 and
            rows[0][0] == delta["heavy"] and
            all(v == 0 for k, v in delta.items() if k != "heavy"),
            f"{rows[:3]} {delta}")


def run_modes(t):
    for extra, types in ((("--no-stacks",), ["instructions/count", "cpu/nanoseconds"]),
                         (("--time-only",), ["cpu/nanoseconds"])):
        stem, prof = run_app(t, 100, extra)
        if not stem:
            continue
        depths, _ = check_file(t, extra[0], stem + ".pb.gz", prof, types)
        if extra[0] == "--no-stacks":
            t.check("--no-stacks: one frame a sample", depths and set(depths) == {1},
                    str(sorted(set(depths))))
        same_bytes(t, extra[0], stem + ".pb.gz", stem + ".json")
    fix = os.path.join(t.FIX, "native")
    stem = os.path.join(t.TMP, "pp-native")
    r = t.opprof(["run", "-q", "--native", "-o", stem + ".json", "--pprof", stem + ".pb.gz",
                  "native_zlib.py"], cwd=fix)
    if r.returncode != 0 or not os.path.exists(stem + ".pb.gz"):
        t.check("--native --pprof written", False, r.stderr)
        return
    prof = t.load_raw(stem + ".json")
    _, text = check_file(t, "--native", stem + ".pb.gz", prof,
                         ["instructions/count", "cpu/nanoseconds"], native_time(prof))
    maps = text[text.find("\nMappings"):]
    t.check("--native: native frames on mappings of their shared objects",
            prof.get("native_modules") and re.search(r"/lib\S*(libz|libpython)\S*\.so", maps),
            maps[:600])
    same_bytes(t, "--native", stem + ".pb.gz", stem + ".json")


def run_refusals(t):
    path = os.path.join(t.TMP, "pp-app100.json")
    if not os.path.exists(path):
        return
    r = t.opprof(["run", "-q", "-o", os.path.join(t.TMP, "pp-x.json"), "--pprof",
                  "pprof_app.py", "pprof_app.py"])
    t.check("--pprof over the script: refused before it runs (73, one line)",
            r.returncode == 73 and r.stdout == "" and len(r.stderr.splitlines()) == 1, r.stderr)
    master, slave = pty.openpty()
    try:
        s = subprocess.run(t.VALGRIND + [t.OPPROF, "report", path, "--format", "pprof"],
                           stdout=slave, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(slave)
        os.close(master)
    t.check("report --format pprof to a terminal: refused in one line, exit 2",
            s.returncode == 2 and len(s.stderr.splitlines()) == 1 and "terminal" in s.stderr,
            s.stderr)


def run_lines(t):
    """--pprof records the call tree by line: `-lines` shows the leaf's own
    lines and each caller at the line of its call, the two calls of leaf()
    in mid() apart, weighing 10 and 20 iterations' worth."""
    stem = os.path.join(t.TMP, "pp-lines")
    r = t.opprof(["run", "-q", "--no-time", "-o", stem + ".json", "--pprof", stem + ".pb.gz",
                  "callsites.py"])
    if r.returncode or not os.path.exists(stem + ".pb.gz"):
        t.check("pprof: --lines run", False, r.stderr[-300:])
        return
    top = pprof(t, ["-top", "-lines", "-symbolize=none", "-nodecount=100", "-nodefraction=0",
                    "-sample_index=instructions", stem + ".pb.gz"])
    rows = {}
    for m in map(TOP_ROW.fullmatch, top.stdout.splitlines()):
        if m:
            rows[m.group(3).strip()] = (int(m.group(1)), int(m.group(2)))
    at = {name.rsplit(":", 1)[1]: v for name, v in rows.items() if name.startswith("mid ")}
    leaf = sorted(int(name.rsplit(":", 1)[1]) for name in rows if name.startswith("leaf "))
    # mid's own lines 12 and 13 hold the calls: their cum is what each call ran
    ok = "12" in at and "13" in at and at["13"][1] > at["12"][1] and leaf and \
        min(leaf) >= 4 and max(leaf) <= 8 and len(leaf) >= 3
    t.check("pprof: -lines shows each call at its line in the caller and the leaf's own "
            "lines", ok, top.stdout[-1500:] + top.stderr[-300:])


def run_all(t):
    if not shutil.which("go"):
        skip(t, "pprof output read by go tool pprof", "no go command")
        return
    run_lines(t)
    base = run_default(t)
    run_diff(t, base)
    run_modes(t)
    run_refusals(t)
