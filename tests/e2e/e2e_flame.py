"""End-to-end checks of the flame-graph outputs (--folded, --speedscope,
--html; opprof report --format): folded lines and sums on real runs of
scripts/examples/*.py, fresh and read-back outputs byte for byte, the
failures, the speedscope file against speedscope's own JSON schema (ajv)
and against the folded lines, what headless Chromium shows of the HTML
report and of speedscope loading both files, and outputs that grow
linearly with the depth of a recursion (all but folded, which repeats
each path in full).  What needs node, npm packages or chromium is skipped
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
EXAMPLE_ARGS = {"scope_loop.py": ["200000"], "scope_interleaved.py": ["200000"],
                "nbody.py": ["3000"], "calls.py": ["20000"]}


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


def folded_name(name):
    """A frame's name as a folded line writes it (fl_put_folded_name)."""
    out = []
    for c in name:
        if c == "\\":
            out.append("\\\\")
        elif c == ";" or ord(c) < 0x20 or ord(c) == 0x7f:
            out.append(f"\\x{ord(c):02x}")
        elif c in "\u2028\u2029":
            out.append("".join(f"\\x{b:02x}" for b in c.encode()))
        else:
            out.append(c)
    return "".join(out)


def speedscope_weights(doc):
    """{(profile name, (frame name, ...)): self weight} from the evented
    profiles of a speedscope file (time between two events goes to the
    frames open), and the biggest depth; or a string saying what is wrong:
    a close of another frame than the one on top, time going back, a frame
    left open, events not ending at endValue."""
    names = [f["name"] for f in doc["shared"]["frames"]]
    out, deepest = {}, 0
    for p in doc["profiles"]:
        if p.get("type") != "evented" or "samples" in p:
            return f"profile {p.get('name')!r} is not evented"
        stack, last = [], p["startValue"]
        for e in p["events"]:
            if e["at"] < last:
                return f"{p['name']}: time goes back at {e}"
            if e["at"] > last:
                if not stack:
                    return f"{p['name']}: time with no frame open before {e}"
                key = (p["name"], tuple(names[f] for f in stack))
                out[key] = out.get(key, 0) + e["at"] - last
            last = e["at"]
            if e["type"] == "O":
                stack.append(e["frame"])
                deepest = max(deepest, len(stack))
            elif not stack or stack.pop() != e["frame"]:
                return f"{p['name']}: {e} closes another frame than the one open"
        if stack or (p["events"] and last != p["endValue"]):
            return f"{p['name']}: ends with {len(stack)} frames open at {last}, not " \
                   f"{p['endValue']}"
    return out, deepest


def check_speedscope(t, name, doc, total, metric, folded=None):
    """Evented profiles that add up per thread and in all, in the metric's
    unit; the same self weights as the folded lines (threads merged)."""
    got = speedscope_weights(doc)
    if isinstance(got, str):
        t.check(f"{name}: speedscope events nest and add up", False, got)
        return
    weights, _ = got
    ends = [p["endValue"] - p["startValue"] for p in doc["profiles"]]
    per = [sum(w for (n, _), w in weights.items() if n == p["name"]) for p in doc["profiles"]]
    t.check(f"{name}: speedscope weights add up per thread and in all",
            per == ends and sum(ends) == total and
            all(p["unit"] == ("nanoseconds" if metric == "time" else "none")
                for p in doc["profiles"]), f"{per} {ends} {total}")
    if folded is not None:
        merged = {}
        for (_, path), w in weights.items():
            key = ";".join(folded_name(f) for f in path)
            merged[key] = merged.get(key, 0) + w
        lines = {";".join(f): w for f, w in folded}
        t.check(f"{name}: speedscope and folded give each path the same weight",
                merged == lines, str(sorted(set(merged.items()) ^ set(lines.items()))[:800]))


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
        folded = check_folded(t, f"{base} --folded ({metric})", read(outs["folded"]),
                              total(prof, metric))
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
        check_speedscope(t, base, json.loads(read(outs["speedscope"])), total(prof, metric),
                         metric, folded)
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


DEEP = ("import sys, threading\n"
        "sys.setrecursionlimit({depth} + 1000)\n"
        "threading.stack_size(512 << 20)   # 3.10 recurses on the C stack too\n"
        "def r(n):\n    return r(n - 1) + 1 if n else 0\n"
        "t = threading.Thread(target=lambda: print(r({depth})))\n"
        "t.start()\nt.join()\n")


def run_deep(t):
    """A recursion 20,000 deep: the speedscope file and the HTML page grow
    with the call tree's nodes, not with the square of its depth as the
    folded lines do (3.6 GB of them here).  Returns the deep run's outputs
    for the schema and browser checks, or None."""
    sizes, outs = {}, None
    for depth in (1000, 20000):
        stem = os.path.join(t.TMP, f"fl-deep{depth}")
        with open(stem + ".py", "w") as f:
            f.write(DEEP.format(depth=depth))
        outs = {"speedscope": stem + ".speedscope.json", "html": stem + ".html"}
        r = t.opprof(["run", "-q", "-o", stem + ".json", "--metric", "instructions",
                      "--speedscope", outs["speedscope"], "--html", outs["html"],
                      f"fl-deep{depth}.py"], cwd=t.TMP)
        if r.returncode != 0 or not all(os.path.exists(p) for p in outs.values()):
            t.check(f"recursion {depth} deep: profile and outputs written", False,
                    r.stderr[-800:])
            return None
        sizes[depth] = [os.path.getsize(p) for p in outs.values()]
        doc = json.loads(read(outs["speedscope"]))
        check_speedscope(t, f"recursion {depth} deep", doc,
                         total(t.load_raw(stem + ".json"), "instructions"), "instructions")
        got = speedscope_weights(doc)
        t.check(f"recursion {depth} deep: the speedscope file is that deep",
                not isinstance(got, str) and got[1] > depth, str(got)[:300])
    (s1, h1), (s2, h2) = sizes[1000], sizes[20000]
    t.check("recursion 20,000 deep: speedscope and HTML grow linearly with the depth",
            h2 < 20 * h1 and (s2 - s1) / 19000 < 100 and (h2 - h1) / 19000 < 40,
            f"speedscope {s1} -> {s2} bytes, html {h1} -> {h2}")
    print(f"e2e: recursion 1,000 / 20,000 deep: speedscope {s1} / {s2} bytes, "
          f"html {h1} / {h2}")
    return outs


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


def run_schema(t, runs, deep, npm_root):
    schema = os.path.join(npm_root or "", "speedscope", "dist", "release",
                          "file-format-schema.json")
    ajv = shutil.which("ajv")
    if not ajv or not os.path.exists(schema):
        skip(t, "speedscope schema validation", "ajv (npm ajv-cli) or the npm package "
             "speedscope is not installed")
        return
    files = [(base, outs["speedscope"]) for base, (_, outs) in sorted(runs.items())]
    for base, path in files + ([("recursion 20,000 deep", deep["speedscope"])] if deep else []):
        r = t.run([ajv, "validate", "--spec=draft7", "-s", schema, "-d", path])
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


def run_browser(t, runs, deep, npm_root):
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
    # speedscope itself recurses as deep as the tree (its call-tree sort):
    # past a few thousand frames it fails on any file, so only the page
    # takes the deep one
    if deep:
        jobs.append(("html", "file://" + deep["html"], os.path.join(shots, "html-deep.png")))
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
    page, folded_ss, json_ss, deep_page = (res + [{}, {}, {}, {}])[:4]
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
    sw = page.get("switched", {})
    other = "ms" if sw.get("metric") == "time" else "instructions"
    t.check("HTML: the metric switch redraws by the other metric",
            sw.get("frames", 0) > 1 and sw.get("status", "").endswith(other), str(sw)[:400])
    if deep:
        d = deep_page.get("before", {})
        t.check("HTML of a recursion 20,000 deep: no error, every level drawn, hover and zoom",
                not deep_page.get("errors") and d.get("drawn", 0) > 20000 and
                d.get("drawn") == d.get("frames") == d.get("painted") and
                "instructions" in (deep_page.get("tooltip") or "") and
                "zoomed into" in deep_page.get("zoomed", {}).get("status", ""),
                json.dumps({k: v for k, v in deep_page.items() if k != "before"})[:600] +
                json.dumps({k: v for k, v in d.items() if k != "labels"}))
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
    deep = run_deep(t)
    npm_root = node_path()
    run_schema(t, runs, deep, npm_root)
    run_browser(t, runs, deep, npm_root)
