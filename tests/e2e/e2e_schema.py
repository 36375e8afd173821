"""End-to-end checks of the profile format v2 against its JSON Schema,
reports/model/profile-v2.schema.json, with ajv (npm ajv-cli, draft-07):
the hand-written documents in fixtures/schema/ (valid-*.json must pass;
each invalid-*.json has one defect and must fail for it, as INVALID says),
and the profiles opprof writes (default, --no-stacks, --no-time), which
must pass and also keep what the schema cannot say (SHAPE below).
Skipped with a printed reason where ajv is missing (scripts/install-deps.sh
installs it)."""
import base64
import glob
import json
import os
import re
import shutil
import subprocess
import zlib

from e2e_flame import skip

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(ROOT, "reports", "model", "profile-v2.schema.json")

# invalid fixture -> the (instancePath, keyword) of the error its one defect
# must cause: failing for another reason would prove nothing
INVALID = {
    "invalid-missing-key.json": ("", "required"),              # no "strings"
    "invalid-wrong-type.json": ("/stacks_enabled", "type"),    # "false", a string
    "invalid-negative-count.json": ("/functions/0/calls", "minimum"),  # counts may hold runs
    "invalid-unknown-key.json": ("", "additionalProperties"),  # v1's "stacks"
    "invalid-v1-function-id.json": ("/functions/0", "additionalProperties"),  # v1's "id"
    "invalid-bad-scope.json": ("/functions/0/scope", "enum"),
    "invalid-bad-base64.json": ("/functions/1/code/bytes", "pattern"),
    "invalid-uint64-wrap.json": ("/functions/0/counts/0", "maximum"),  # 2^64-1
    "invalid-process-zero.json": ("/functions/0/process", "minimum"),  # omitted when 0
    "invalid-no-ops.json": ("/functions/0", "required"),       # neither ops nor code
    "invalid-time-untimed.json": ("/totals/time_ns", "false schema"),  # no "timing"
    "invalid-missing-op-times.json": ("/nodes", "required"),   # timed
    "invalid-reason-complete.json": ("/incomplete_reason", "false schema"),
    "invalid-sources-text.json": ("/sources/files/0/text", "pattern"),   # not base64
}

# script, extra options: the profiles opprof writes
RUNS = [("recursion.py", []), ("classes.py", ["--no-stacks"]), ("threads.py", ["--no-time"]),
        ("classes.py", ["--lines"])]


def ajv_validate(t, paths, all_errors=False):
    """{path: [] when valid, else ajv's errors}; paths ajv said nothing of
    are missing.  Also ajv's (status, stdout, stderr).  Its output goes
    through files: node cuts what it writes to a pipe at 64 KiB when it exits."""
    cmd = [shutil.which("ajv"), "validate", "--spec=draft7", "-s", SCHEMA, "--errors=line"]
    cmd += ["--all-errors"] if all_errors else []
    logs = [os.path.join(t.TMP, "schema-ajv." + x) for x in ("out", "err")]
    with open(logs[0], "w") as out, open(logs[1], "w") as err:
        rc = subprocess.run(cmd + [x for p in paths for x in ("-d", p)], stdout=out,
                            stderr=err, timeout=60).returncode
    stdout, stderr = (open(p).read() for p in logs)
    res = {}
    for line in stdout.splitlines():
        if line.endswith(" valid"):
            res[line[:-len(" valid")]] = []
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        if line.endswith(" invalid"):
            try:
                errs = json.loads(lines[i + 1])
            except (IndexError, ValueError):
                errs = [{"instancePath": "?", "keyword": "?", "message": lines[i + 1:i + 2]}]
            res[line[:-len(" invalid")]] = errs
    return res, (rc, stdout, stderr)


def summary(errs, limit=8):
    """Distinct errors, array indexes folded: "/functions/*/time_ns: boolean
    schema is false (x31)"."""
    seen = {}
    for e in errs:
        if e.get("keyword") == "if":      # the "then" error is there too
            continue
        extra = e.get("params", {}).get("additionalProperty") or \
            e.get("params", {}).get("missingProperty")
        k = f"{re.sub(r'/[0-9]+', '/*', e.get('instancePath', '?'))}: {e.get('message')}" + \
            (f" ({extra})" if extra else "")
        seen[k] = seen.get(k, 0) + 1
    return "; ".join(f"{k} (x{n})" if n > 1 else k for k, n in list(seen.items())[:limit])


def run_fixtures(t):
    folder = os.path.join(t.FIX, "schema")
    files = sorted(glob.glob(os.path.join(folder, "*.json")))
    valid = [f for f in files if os.path.basename(f).startswith("valid-")]
    invalid = [f for f in files if os.path.basename(f).startswith("invalid-")]
    names = {os.path.basename(f) for f in invalid}
    t.check("schema fixtures: every invalid-*.json has its expected error in INVALID, and back",
            names == set(INVALID) and len(valid) >= 2, str(names ^ set(INVALID)))
    res, (_, stdout, stderr) = ajv_validate(t, files)
    t.check("the schema compiles under ajv's strict mode without a warning",
            "strict mode" not in stderr, stderr[-800:])
    for f in valid:
        t.check(f"schema: {os.path.basename(f)} is valid", res.get(f) == [],
                summary(res[f]) if res.get(f) else (stdout + stderr)[-800:])
    for f in invalid:
        name = os.path.basename(f)
        want = INVALID.get(name)
        errs = res.get(f)
        got = [(e.get("instancePath"), e.get("keyword")) for e in errs or []]
        path, keyword = want or ("?", "?")
        t.check(f"schema: {name} is invalid, with {keyword} at {path!r}",
                bool(errs) and want in got,
                summary(errs) if errs else "valid, or ajv said nothing: " + stderr[-500:])


def runs(v):
    """An array with runs (profile-v2.md) expanded: -k is k more of the
    value before."""
    out = []
    for x in v:
        if x < 0:
            if not out:
                raise ValueError("a run with no value before it")
            out.extend([out[-1]] * -x)
        else:
            out.append(x)
    return out


def shape_problems(prof, text):
    """SHAPE: what profile-v2.md says and the schema cannot."""
    bad = []
    if not text.endswith("}\n"):
        bad.append("no newline at the end")
    if list(prof)[:2] != ["schema", "version"]:
        bad.append(f"the first keys are {list(prof)[:2]}")
    try:
        for i, f in enumerate(prof["functions"]):
            deltas = runs(f["offset_deltas"])
            n = len(deltas)
            cols = dict(f, counts=runs(f["counts"]))
            for k in ("counts", "ops", "lines", "forms"):
                if k in f and len(cols[k]) != n:
                    bad.append(f"functions[{i}].{k}: {len(cols[k])} entries for {n} offsets")
            if any(d <= 0 for d in deltas[1:]):
                bad.append(f"functions[{i}].offsets not increasing")
            if f["opset"] != sorted(set(f["opset"])):
                bad.append(f"functions[{i}].opset not increasing")
            for what, arr, width in (("times", f.get("times", []), 3),
                                     ("form_times", f.get("form_times", []), 4),
                                     ("code.lines", f.get("code", {}).get("lines", []), 3)):
                if len(arr) % width:
                    bad.append(f"functions[{i}].{what}: {len(arr)} numbers, not {width}-tuples")
            code = f.get("code", {})
            if code.get("consts") and max(code["consts"]) >= len(prof["strings"]):
                bad.append(f"functions[{i}].code.consts: past the string table")
            if "line_runs" in code:   # a step follows each run with a line
                k = 0
                while k < len(code["line_runs"]):
                    k += 1 if code["line_runs"][k] < 0 else 2
                if k != len(code["line_runs"]):
                    bad.append(f"functions[{i}].code.line_runs: a run without its line")
        nodes = {k: runs(v) if k in ("thread", "instructions", "time_ns") else v
                 for k, v in prof["nodes"].items()}
        n = len(nodes["parent"])
        for k in ("function", "callsite", "thread", "instructions", "time_ns", "ops"):
            if k in nodes and len(nodes[k]) != n:
                bad.append(f"nodes.{k}: {len(nodes[k])} entries for {n} nodes")
        if any(p >= i for i, p in enumerate(nodes["parent"])):
            bad.append("a node's parent does not come before it")
        fns = prof["functions"]
        if any(len(o) > len(fns[f]["opset"]) for o, f in zip(nodes["ops"], nodes["function"])):
            bad.append("nodes.ops: more counts than the function's opset")
        if len(nodes.get("op_times", [])) % 3:
            bad.append("nodes.op_times: not triples")
        if "sites" in nodes:
            sums = [sum(runs(s)) for s in nodes["sites"]]
            if sums != nodes["instructions"]:
                bad.append("nodes.sites: a node's counts do not add up to its instructions")
            st = nodes.get("site_times", [])
            tsum = [0] * n
            for k in range(0, len(st) - 2, 3):
                tsum[st[k]] += st[k + 2]
            if len(st) % 3 or ("time_ns" in nodes and tsum != nodes["time_ns"]):
                bad.append("nodes.site_times: not triples adding up to the nodes' time_ns")
        elif "callsite" in nodes:
            bad.append("nodes: callsite (--lines) without sites")
        keys = list(prof)
        if "sources" in keys and keys.index("sources") < keys.index("nodes"):
            bad.append("sources before nodes")
        seen = set()
        for e in prof.get("sources", {}).get("files", []):
            name = prof["strings"][e["file"]]
            lines = runs(e["lines"])
            text = zlib.decompress(base64.b64decode(e["text"])).decode("utf-8")
            if name in seen or not name:
                bad.append(f"sources: {name!r} twice, or no name")
            seen.add(name)
            if lines[0] <= 0 or any(d <= 0 for d in lines[1:]):
                bad.append(f"sources: {name}: lines do not rise")
            if not text.endswith("\n") or text.count("\n") != len(lines) or \
                    set("\r\0") & set(text):
                bad.append(f"sources: {name}: not one line of text per line number")
    except (KeyError, TypeError, AttributeError, ValueError, zlib.error) as e:
        bad.append(f"not the v2 shape: {type(e).__name__} {e}")
    return bad[:6]


def run_profiles(t):
    written = {}
    for script, extra in RUNS:
        what = " ".join(["run"] + extra + [script])
        out = os.path.join(t.TMP, "schema-" + script[:-3] + "".join(extra) + ".json")
        r = t.opprof(["run", "-q", "-o", out] + extra + [script])
        if not os.path.exists(out):
            t.check(f"schema: opprof {what} wrote a profile", False, r.stderr[-500:])
            continue
        written[out] = what
    if not written:
        return
    res, (_, stdout, stderr) = ajv_validate(t, list(written), all_errors=True)
    for out, what in written.items():
        errs = res.get(out)
        t.check(f"schema: the profile of opprof {what} is valid", errs == [],
                summary(errs) if errs else (stdout + stderr)[-800:])
        with open(out) as f:
            text = f.read()
        try:
            bad = shape_problems(json.loads(text), text)
        except ValueError as e:
            bad = [f"not JSON: {e}"]
        t.check(f"schema: the profile of opprof {what} keeps what the schema cannot say",
                not bad, "; ".join(bad))


def run_all(t):
    if not shutil.which("ajv"):
        skip(t, "profile v2 schema validation", "ajv (npm ajv-cli) is not installed")
        return
    run_fixtures(t)
    run_profiles(t)
