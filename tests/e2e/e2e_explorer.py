"""End-to-end checks of the HTML page's bytecode explorer in headless
Chromium (browser.js, modes explorer and explorer-phone): on the page of a
fixture run, search a function and open it with the keyboard, expand its
hottest line with the keyboard and compare its instruction rows and counts
with the profile (read here, in Python), hover an instruction for its
meaning (the glossary's, as `opprof explain` gives it), no JavaScript
error and no request but the page; a function opened from the flame graph
and from the top-functions table; the page 390 px wide scrolls nowhere
sideways.  Screenshots go to $(BUILDDIR)/screenshots/.  Skipped with a
printed reason where chromium, node or playwright-core are missing (a
failure with OPPROF_REQUIRE_BROWSER, as CI sets it)."""
import itertools
import json
import os
import shutil

from e2e_flame import node_path, skip
from e2e_sources import sources

APP = '''\
def work(n):
    total = 0
    for i in range(n):
        # the hot loop
        total += i * 2
        if total < 0:
            raise ValueError("never")   # never runs
    return total


class Shape:
    def area(self):
        return 3


def main():
    s = Shape()
    print(work(30000) + s.area())


main()
'''


def expected(prof, name):
    """The function's instructions from the profile in v1's layout (the
    whole listing, the counts of what ran), by line: {line: [(offset,
    opname, count)]}, and the function."""
    f = [f for f in prof["functions"] if f["qualname"] == name][0]
    ran = {c["offset"]: c["count"] for c in f["code"]}
    by_line = {}
    for off, op, _arg, _argrepr, line in f["listing"]:
        by_line.setdefault(line, []).append((off, op, ran.get(off, 0)))
    return by_line, f


def run_all(t):
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or ""
    npm_root = node_path()
    missing = [what for what, ok in (
        ("chromium", os.access(chromium, os.X_OK)), ("node", shutil.which("node")),
        ("npm package playwright-core",
         npm_root and os.path.isdir(os.path.join(npm_root, "playwright-core")))) if not ok]
    if missing:
        skip(t, "the explorer's headless-browser checks", ", ".join(missing) + " missing")
        return
    app = os.path.join(t.TMP, "explorer_app.py")
    with open(app, "w") as f:
        f.write(APP)
    prof, page = os.path.join(t.TMP, "explorer.json"), os.path.join(t.TMP, "explorer.html")
    r = t.opprof(["run", "-q", "-o", prof, "--html", page, "explorer_app.py"], cwd=t.TMP)
    if r.returncode != 0 or not os.path.exists(page):
        t.check("explorer: the fixture run writes its page", False, r.stderr[-500:])
        return
    shots = os.path.join(os.path.dirname(t.OPPROF), "screenshots")
    os.makedirs(shots, exist_ok=True)
    url = "file://" + page + "#q=work"
    jobs = [("explorer", url, os.path.join(shots, "explorer.png")),
            ("explorer-phone", url, os.path.join(shots, "explorer-phone.png"))]
    res = t.run(["node", os.path.join(t.HERE, "browser.js")] + [x for j in jobs for x in j],
                env={"NODE_PATH": npm_root, "CHROMIUM": chromium}, timeout=120)
    try:
        desk, phone = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        t.check("explorer: the browser driver ran", False, (res.stdout + res.stderr)[-1500:])
        return
    by_line, f = expected(t.load(prof), "work")
    raw = t.load_raw(prof)
    text = sources(raw).get(app, {})
    for what, out in (("1280 px", desk), ("390 px", phone)):
        t.check(f"explorer ({what}): no JavaScript error, no request but the page",
                not out.get("errors") and out.get("requests") == 1,
                f"{out.get('errors')} requests {out.get('requests')}")
        t.check(f"explorer ({what}): the search finds the function, Tab reaches it, Enter "
                "opens it", "xresult" in out.get("focused", "") and
                out.get("view", {}).get("title") == "work", f"{out.get('focused')!r} "
                f"{out.get('view', {}).get('title')!r} {out.get('results')}")
        lines = {l["line"]: l for l in out.get("view", {}).get("lines", []) if l["line"] > 0}
        want_lines = set(range(1, 9))
        t.check(f"explorer ({what}): every line of the function, with the run's source text",
                set(lines) == want_lines and all(lines[k]["source"] == text.get(k)
                                                 for k in want_lines),
                str({k: v.get("source") for k, v in lines.items()}))
        counts = {k: sum(c for _, _, c in v) for k, v in by_line.items() if k}
        t.check(f"explorer ({what}): each line's count is the sum of its instructions' counts",
                all(lines[k]["count"] == counts.get(k, 0) for k in lines),
                str({k: (lines[k]["count"], counts.get(k, 0)) for k in lines}))
        t.check(f"explorer ({what}): a line that never ran is marked, a comment line is not "
                "expandable", "cold" in lines.get(7, {}).get("cls", "") and
                "cold" not in lines.get(5, {}).get("cls", "x") and
                not lines.get(4, {}).get("expandable", True), str(lines.get(7)))
        hottest = max(counts, key=lambda k: counts[k])
        rows = out.get("instructions", [])
        want = [(off, op, "{:,}".format(c) if c else ".") for off, op, c in by_line[hottest]]
        t.check(f"explorer ({what}): the hottest line (by the profile, {hottest}) expands to "
                "its instructions, offsets, opnames and counts as in the profile",
                out.get("hottest") == hottest and
                [(r["offset"], r["opname"], r["count"]) for r in rows] == want,
                f"line {out.get('hottest')}: {rows} want {want}")
        ex = t.opprof(["explain", out.get("hovered") or "LOAD_FAST"]).stdout.splitlines()
        tip = (out.get("tooltip") or "").split("\n")[0]
        t.check(f"explorer ({what}): hovering an instruction shows its meaning",
                bool(ex) and tip == ex[0] and tip.startswith(out.get("hovered", "?") + ": "),
                f"{tip!r} vs explain {ex[:1]}")
    # the final form of each instruction, where the profile has the
    # specialization view's (3.12+); no such column otherwise
    fr = [x for x in raw["functions"] if raw["strings"][x["qualname"]] == "work"][0]
    heads = desk.get("heads", [])
    if "forms" in fr:
        steps = []
        for d in fr["offset_deltas"]:   # runs: -k is k more of the step before
            steps += [steps[-1]] * -d if d < 0 else [d]
        offs = list(itertools.accumulate(steps))
        names = {o: raw["opnames"][k] if k >= 0 else None for o, k in zip(offs, fr["forms"])}
        rows = desk.get("instructions", [])
        want = ["" if names.get(r["offset"]) is None else "generic"
                if names[r["offset"]] == r["opname"] else names[r["offset"]] for r in rows]
        got = [r["cells"][heads.index("final form")] if "final form" in heads else None
               for r in rows]
        t.check("explorer: the final form column shows the profile's forms", got == want,
                f"{got} want {want}")
    else:
        t.check("explorer: no final form column without forms in the profile",
                "final form" not in heads, str(heads))
    sw, iw = phone.get("overflow", [1, 0])
    t.check("explorer (390 px): the page does not scroll sideways", sw <= iw, f"{sw} > {iw}")
    ft = desk.get("fromTable", {})
    t.check("explorer: a row of the top functions opens its function",
            ft.get("asked") is not None and ft.get("asked") == ft.get("got"), str(ft))
    t.check("explorer: a bar of the flame graph opens its function",
            desk.get("fromFlame") == desk.get("view", {}).get("id"),
            f"{desk.get('fromFlame')} vs {desk.get('view', {}).get('id')}")
    print(f"e2e: explorer: {len(desk.get('instructions', []))} instructions of line "
          f"{desk.get('hottest')} checked; screenshots in {shots}")
