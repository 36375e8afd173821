"""End-to-end checks of the flame-graph outputs (--folded, --speedscope,
--html; opprof report --format): folded lines and sums on real runs of
scripts/examples/*.py, fresh and read-back outputs byte for byte, the
failures, the speedscope file against speedscope's own JSON schema (ajv),
and what headless Chromium shows of the HTML report and of speedscope
loading both files.  What needs node, npm packages or chromium is skipped
with a printed reason where they are missing (scripts/install-deps.sh
installs them)."""
import functools
import glob
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading

LINE = re.compile(r"(.*) (\d+)")
EXAMPLE_ARGS = {"scope_loop.py": ["200000"], "nbody.py": ["3000"], "calls.py": ["20000"]}


def skip(t, what, why):
    """Where a machine lacks the tools: said, never passed in silence; a
    failure where they must be there (.ci/run sets OPPROF_REQUIRE_BROWSER)."""
    print(f"e2e: SKIPPED {what}: {why} (scripts/install-deps.sh installs it)")
    if os.environ.get("OPPROF_REQUIRE_BROWSER"):
        t.check(f"{what}: OPPROF_REQUIRE_BROWSER is set, the tools must be there", False, why)


def node_path():
    if not shutil.which("npm") or not shutil.which("node"):
        return None
    r = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def parse_folded(text):
    """[(frames, weight)], or a string saying what is wrong."""
    if text and not text.endswith("\n"):
        return "no newline at the end"
    out = []
    for i, line in enumerate(text.split("\n")[:-1]):
        m = LINE.fullmatch(line)
        if not m or "\r" in line:
            return f"line {i + 1} does not match ^(.*) (\\d+)$: {line!r}"
        if int(m.group(2)) <= 0:
            return f"line {i + 1} has weight 0"
        out.append((m.group(1).split(";"), int(m.group(2))))
    stacks = [";".join(f) for f, _ in out]
    if len(set(stacks)) != len(stacks):
        return "a stack has two lines"
    return out


def check_folded(t, name, text, total):
    lines = parse_folded(text)
    if isinstance(lines, str):
        t.check(f"{name}: every folded line matches the pattern", False, lines)
        return []
    got = sum(w for _, w in lines)
    t.check(f"{name}: folded weights ({len(lines)} lines) sum to the total", got == total and
            lines, f"{got} != {total}")
    return lines


def default_metric(prof):
    timed = "timing" in prof
    return "time" if timed and (prof["totals"].get("time_ns") or prof.get("counted") is False) \
        else "instructions"


def total(prof, metric):
    return prof["totals"]["time_ns" if metric == "time" else "instructions"]


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def run_examples(t):
    """The property: on real runs, every line matches and weights add up."""
    examples = os.path.join(os.path.dirname(os.path.dirname(t.HERE)), "scripts", "examples")
    runs = {}
    for script in sorted(glob.glob(os.path.join(examples, "*.py"))):
        base = os.path.basename(script)
        stem = os.path.join(t.TMP, "flame-" + base[:-3])
        outs = {"folded": stem + ".folded", "speedscope": stem + ".speedscope.json",
                "html": stem + ".html"}
        r = t.opprof(["run", "-q", "-o", stem + ".json", "--folded", outs["folded"],
                      "--speedscope", outs["speedscope"], "--html", outs["html"], base] +
                     EXAMPLE_ARGS.get(base, []), cwd=examples)
        if not all(os.path.exists(p) for p in list(outs.values()) + [stem + ".json"]):
            t.check(f"{base}: profile and three flame-graph outputs written", False, r.stderr)
            continue
        prof = t.load(stem + ".json")
        metric = default_metric(prof)
        check_folded(t, f"{base} --folded ({metric})", read(outs["folded"]), total(prof, metric))
        for extra in (["--metric", "instructions"], ["--metric", "instructions", "--opcodes"],
                      ["--metric", "time"], ["--metric", "time", "--opcodes"]):
            r = t.opprof(["report", stem + ".json", "--format", "folded"] + extra)
            lines = check_folded(t, f"{base} report {' '.join(extra)}", r.stdout,
                                 total(prof, extra[1]))
            if "--opcodes" in extra and lines:
                leaves = [f[-1] for f, _ in lines if re.fullmatch(r"\[[A-Z0-9_]+\]", f[-1])]
                t.check(f"{base} {' '.join(extra)}: the opcodes are leaf frames",
                        len(leaves) * 2 > len(lines), str(lines[:3]))
        # a fresh run and its profile read back draw the same bytes
        for fmt, path in outs.items():
            r = t.opprof(["report", stem + ".json", "--format", fmt])
            t.check(f"{base}: --{fmt} of the run = report --format {fmt} of its profile",
                    r.returncode == 0 and r.stdout == read(path), r.stderr)
        ss = json.loads(read(outs["speedscope"]))
        ends = [p["endValue"] for p in ss["profiles"]]
        t.check(f"{base}: speedscope weights add up per thread and in all",
                all(sum(p["weights"]) == p["endValue"] for p in ss["profiles"]) and
                sum(ends) == total(prof, metric) and
                all(p["unit"] == ("nanoseconds" if metric == "time" else "none")
                    for p in ss["profiles"]), str(ends))
        runs[base] = (prof, outs)
    return runs


def run_modes(t):
    """--no-stacks, --time-only, --no-time, threads and names to escape."""
    fix, tmp = t.FIX, t.TMP
    out, folded = os.path.join(tmp, "fl-nostk.json"), os.path.join(tmp, "fl-nostk.folded")
    r = t.opprof(["run", "-o", out, "--no-stacks", "--folded", folded, "recursion.py"])
    if os.path.exists(folded):
        lines = check_folded(t, "--no-stacks", read(folded), total(t.load(out), "time")
                             if default_metric(t.load(out)) == "time"
                             else total(t.load(out), "instructions"))
        t.check("--no-stacks: one root frame per function, and a note on stderr",
                lines and all(len(f) == 1 for f, _ in lines) and "no call stacks" in r.stderr,
                r.stderr)
    else:
        t.check("--no-stacks: folded written", False, r.stderr)

    out, folded = os.path.join(tmp, "fl-to.json"), os.path.join(tmp, "fl-to.folded")
    r = t.opprof(["run", "-q", "--time-only", "--metric", "instructions", "--folded", folded,
                  "recursion.py"])
    t.check("--time-only --metric instructions: one line, exit 64", r.returncode == 64 and
            r.stderr.count("\n") == 1 and "--metric instructions" in r.stderr, r.stderr)
    # long enough to be sampled
    examples = os.path.join(os.path.dirname(os.path.dirname(t.HERE)), "scripts", "examples")
    t.opprof(["run", "-q", "--time-only", "-o", out, "--folded", folded, "calls.py"],
             cwd=examples)
    if os.path.exists(out):
        check_folded(t, "--time-only: by time", read(folded), total(t.load(out), "time"))
        r = t.opprof(["report", out, "--format", "folded", "--metric", "instructions"])
        t.check("report of a --time-only profile by instructions: one line, exit 2",
                r.returncode == 2 and r.stderr.count("\n") == 1 and not r.stdout, r.stderr)
    out, folded = os.path.join(tmp, "fl-nt.json"), os.path.join(tmp, "fl-nt.folded")
    t.opprof(["run", "-q", "--no-time", "-o", out, "--folded", folded, "recursion.py"])
    if os.path.exists(out):
        check_folded(t, "--no-time: by instructions", read(folded),
                     total(t.load(out), "instructions"))

    out, ss = os.path.join(tmp, "fl-thr.json"), os.path.join(tmp, "fl-thr.speedscope.json")
    t.opprof(["run", "-q", "-o", out, "--speedscope", ss, "--metric", "instructions",
              "threads.py"])
    if os.path.exists(ss):
        doc = json.loads(read(ss))
        names = [p["name"] for p in doc["profiles"]]
        t.check("speedscope: one profile per thread", {"MainThread", "worker-0", "worker-1",
                "worker-2"} <= set(names) and len(names) == len(set(names)) and
                sum(p["endValue"] for p in doc["profiles"]) == t.load(out)["totals"]["instructions"],
                str(names))

    # names with ';', a newline and a backslash stay one frame on one line
    code = ("def f():\n    return sum(range(50))\n"
            "kw = dict(co_name='semi;colon\\nnl\\\\bs')\n"
            "if hasattr(f.__code__, 'co_qualname'):\n    kw['co_qualname'] = kw['co_name']\n"
            "f.__code__ = f.__code__.replace(**kw)\n"
            "for _ in range(20):\n    f()\n")
    folded = os.path.join(tmp, "fl-esc.folded")
    r = t.opprof(["run", "-q", "-o", os.path.join(tmp, "fl-esc.json"), "--metric",
                  "instructions", "--folded", folded, "-c", code])
    text = read(folded) if os.path.exists(folded) else ""
    lines = parse_folded(text)
    t.check("escaping: every line still matches, the name is one frame",
            not isinstance(lines, str) and any(f[-1] == "semi\\x3bcolon\\x0anl\\\\bs (<string>:1)"
                                               for f, _ in lines), str(lines)[:500] + r.stderr)


def run_failures(t):
    tmp = t.TMP
    marker = os.path.join(tmp, "fl-marker")
    r = t.opprof(["run", "-q", "-o", os.path.join(tmp, "fl-f.json"), "--html",
                  "/nonexistent/dir/x.html", "-c", f"open({marker!r}, 'w').write('ran')"])
    t.check("unwritable --html: 73 before the script runs, one line", r.returncode == 73 and
            not os.path.exists(marker) and r.stderr.count("\n") == 1, r.stderr)
    for args, what in ((["--folded", "-"], "--folded -"), (["--opcodes"], "--opcodes alone")):
        r = t.opprof(["run", "-q"] + args + ["-c", "pass"])
        t.check(f"run {what}: usage error, one line", r.returncode == 64 and
                r.stderr.count("\n") == 1, r.stderr)
    # the output becomes a directory during the run: only that output is lost
    for status in (0, 3):
        out = os.path.join(tmp, f"fl-late{status}.json")
        html, folded = os.path.join(tmp, f"fl-late{status}.html"), out + ".folded"
        code = f"import os, sys\nos.mkdir({html!r})\nsys.exit({status})\n"
        r = t.opprof(["run", "-q", "-o", out, "--html", html, "--folded", folded, "-c", code])
        errs = [l for l in r.stderr.splitlines() if l.startswith("opprof: ")]
        ok = os.path.exists(out) and t.load(out)["exit_status"] == status
        t.check(f"an output failing at the end (script status {status}): one line, exit "
                f"{status or 73}, the profile and the other output kept",
                r.returncode == (status or 73) and len(errs) == 1 and "HTML" in errs[0] and ok
                and os.path.exists(folded), r.stderr)
    prof = os.path.join(tmp, "fl-late0.json")
    r = t.opprof(["report", prof, "--format", "svg"])
    t.check("report --format unknown: exit 2, one line", r.returncode == 2 and
            r.stderr.count("\n") == 1, r.stderr)
    r = t.opprof(["report", prof, "--metric", "time"])
    t.check("report --metric with the text format: exit 2, one line", r.returncode == 2 and
            r.stderr.count("\n") == 1, r.stderr)
    path = os.path.join(tmp, "fl-o.folded")
    r = t.opprof(["report", prof, "--format", "folded", "-o", path])
    t.check("report -o FILE writes the file, nothing on stdout", r.returncode == 0 and
            not r.stdout and os.path.exists(path), r.stderr)


def run_schema(t, runs, npm_root):
    schema = os.path.join(npm_root or "", "speedscope", "dist", "release",
                          "file-format-schema.json")
    ajv = shutil.which("ajv")
    if not ajv or not os.path.exists(schema):
        skip(t, "speedscope schema validation", "ajv (npm ajv-cli) or the npm package "
             "speedscope is not installed")
        return
    for base, (_, outs) in sorted(runs.items()):
        r = t.run([ajv, "validate", "--spec=draft7", "-s", schema, "-d", outs["speedscope"]])
        t.check(f"{base}: the speedscope file is valid against speedscope's schema",
                r.returncode == 0, (r.stdout + r.stderr)[-800:])
    bad = os.path.join(t.TMP, "fl-bad.json")
    with open(bad, "w") as f:
        json.dump({"profiles": []}, f)
    r = t.run([ajv, "validate", "--spec=draft7", "-s", schema, "-d", bad])
    t.check("the schema check can fail (a file without $schema)", r.returncode != 0, r.stdout)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def expected_nodes(lines):
    prefixes = {tuple(f[:k]) for f, _ in lines for k in range(1, len(f) + 1)}
    return len(prefixes) + 1   # and the root, "all"


def run_browser(t, runs, npm_root):
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or ""
    missing = [what for what, ok in (("chromium", os.access(chromium, os.X_OK)), ("node", shutil.which("node")),
               ("npm package playwright-core", npm_root and os.path.isdir(
                   os.path.join(npm_root, "playwright-core"))),
               ("npm package speedscope", npm_root and os.path.isdir(
                   os.path.join(npm_root, "speedscope")))) if not ok]
    if missing or "scope_loop.py" not in runs:
        skip(t, "headless-browser checks", ", ".join(missing) + " missing" if missing
             else "no scope_loop.py run")
        return
    prof, outs = runs["scope_loop.py"]
    metric = default_metric(prof)
    # the HTML with --opcodes: a deeper graph to count
    html = os.path.join(t.TMP, "fl-browser.html")
    t.opprof(["report", os.path.join(t.TMP, "flame-scope_loop.json"), "--format", "html",
              "--opcodes", "-o", html])
    opfolded = t.opprof(["report", os.path.join(t.TMP, "flame-scope_loop.json"), "--format",
                         "folded", "--opcodes"]).stdout
    www = os.path.join(t.TMP, "www")
    os.makedirs(www, exist_ok=True)
    app = os.path.join(www, "app")
    if not os.path.exists(app):
        os.symlink(os.path.join(npm_root, "speedscope", "dist", "release"), app)
    shutil.copy(outs["folded"], os.path.join(www, "p.folded"))
    shutil.copy(outs["speedscope"], os.path.join(www, "p.speedscope.json"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=www))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    shots = os.path.join(os.path.dirname(t.OPPROF), "screenshots")
    os.makedirs(shots, exist_ok=True)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    jobs = [("html", "file://" + html, os.path.join(shots, "html.png")),
            ("speedscope", f"{base}/app/index.html#profileURL={base}/p.folded",
             os.path.join(shots, "speedscope-folded.png")),
            ("speedscope", f"{base}/app/index.html#profileURL={base}/p.speedscope.json",
             os.path.join(shots, "speedscope-json.png"))]
    env = {"NODE_PATH": npm_root, "CHROMIUM": chromium}
    try:
        r = t.run(["node", os.path.join(t.HERE, "browser.js")] + [x for j in jobs for x in j],
                  env=env, timeout=120)
    finally:
        server.shutdown()
    try:
        res = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        t.check("browser: the driver ran", False, (r.stdout + r.stderr)[-1500:])
        return
    page, folded_ss, json_ss = (res + [{}, {}, {}])[:3]
    want = expected_nodes(parse_folded(opfolded))
    b = page.get("before", {})
    t.check("HTML: no JavaScript error, no fetch", not page.get("errors"), str(page.get("errors")))
    t.check(f"HTML: the flame graph drew every frame ({want})",
            b.get("frames") == want == b.get("drawn") == b.get("painted") and
            b.get("nodes", 0) >= want
            and b.get("width", 0) > 0 and "<module> (scope_loop.py:1)" in b.get("labels", []),
            json.dumps(b)[:600])
    t.check("HTML: tables (scopes, histograms, name access, top functions)",
            len(b.get("tables", [])) == 4 and b.get("functionRows", 0) >= 2, str(b.get("tables")))
    tip = page.get("tooltip") or ""
    t.check("HTML: hover shows counts, time and %", "instructions" in tip and "ms" in tip
            and "%" in tip, repr(tip))
    t.check("HTML: click zooms, reset zooms out",
            "zoomed into" in page.get("zoomed", {}).get("status", "") and
            "zoomed" not in page.get("reset", {}).get("status", "x"), str(page.get("zoomed")))
    names = {f for fr, _ in parse_folded(read(outs["folded"])) for f in fr}
    ss = json.loads(read(outs["speedscope"]))
    for what, got, frames, n in (("folded", folded_ss, names, 1),
                                 ("speedscope", json_ss, {f["name"] for f in ss["shared"]["frames"]},
                                  len(ss["profiles"]))):
        profiles = got.get("profiles", [])
        t.check(f"speedscope loads the {what} file: no error, the expected frames and total",
                not got.get("errors") and set(got.get("frames", [])) == frames and
                len(profiles) == n and sum(p["endValue"] - p["startValue"] for p in profiles)
                == total(prof, metric) and got.get("sandwich"),
                json.dumps(got)[:800] + f" want {sorted(frames)[:5]}")
    print(f"e2e: browser: HTML drew {b.get('frames')} frames; speedscope showed "
          f"{len(folded_ss.get('frames', []))} and {len(json_ss.get('frames', []))} frames; "
          f"screenshots in {shots}")


def run_all(t):
    runs = run_examples(t)
    run_modes(t)
    run_failures(t)
    npm_root = node_path()
    run_schema(t, runs, npm_root)
    run_browser(t, runs, npm_root)
