"""End-to-end checks of the source text a profile carries ("sources",
profiler/sources.c): annotate shows the text of the run after the file
changed; files in other encodings, with a BOM and CRLF, a huge line, a
file deleted during the run (with and without linecache's copy), code of a
`<...>` name the program put in linecache, a FIFO named as a code object's
file (no hang), the size bound (hottest first, `omitted`), and merge
carrying the text of both inputs."""
import base64
import gzip
import itertools
import json
import os
import zlib


def sources(prof):
    """{file: {line: text}} of a v2 profile read as it is."""
    out = {}
    for e in prof.get("sources", {}).get("files", []):
        steps = []
        for d in e["lines"]:   # runs: -k is k more of the step before
            steps += [steps[-1]] * -d if d < 0 else [d]
        lines = list(itertools.accumulate(steps))
        text = zlib.decompress(base64.b64decode(e["text"])).decode("utf-8").split("\n")[:-1]
        out[prof["strings"][e["file"]]] = dict(zip(lines, text))
    return out


def write(path, text, mode="w", **kw):
    with open(path, mode, **kw) as f:
        f.write(text)
    return path


def run(t, name, script, env=None, args=()):
    out = os.path.join(t.TMP, f"src-{name}.json")
    r = t.opprof(["run", "-q", "-o", out] + list(args) + [script], cwd=t.TMP, env=env,
                 timeout=120)
    prof = t.load_raw(out) if os.path.exists(out) else {}
    return r, out, prof


def run_changed(t):
    path = write(os.path.join(t.TMP, "src_changed.py"),
                 "def work(n):\n    total = 0  # the run's text\n"
                 "    for i in range(n):\n        total += i\n    return total\n\n"
                 "print(work(100))\n")
    r, out, prof = run(t, "changed", path)
    src = sources(prof).get(path, {})
    t.check("sources: a run keeps the text of its functions' lines, comments too",
            r.returncode == 0 and src.get(2) == "    total = 0  # the run's text" and
            src.get(7) == "print(work(100))" and 6 not in src, str(src)[:400] + r.stderr)
    write(path, "def work(n):\n    return 0  # edited after the run\n")
    a = t.opprof(["annotate", out, "work"])
    t.check("annotate: the source lines are the run's, after the file changed",
            a.returncode == 0 and "     2 |     total = 0  # the run's text" in a.stdout and
            "     4 |         total += i" in a.stdout and "edited" not in a.stdout,
            a.stdout[:800] + a.stderr)
    lines = a.stdout.splitlines()
    k = lines.index("     4 |         total += i") if "     4 |         total += i" in lines else -1
    t.check("annotate: a source line comes right above its instructions",
            k > 0 and lines[k + 1].split()[0] == "4", "\n".join(lines[max(k - 1, 0):k + 3]))
    os.remove(path)
    a = t.opprof(["annotate", out, "work"])
    t.check("annotate: the source text without the file", a.returncode == 0 and
            "     5 |     return total" in a.stdout, a.stdout[:400] + a.stderr)


def run_encodings(t):
    latin = os.path.join(t.TMP, "src_latin.py")
    write(latin, b"# -*- coding: latin-1 -*-\ndef f():\n    return 'caf\xe9'\nf()\n", "wb")
    crlf = os.path.join(t.TMP, "src_crlf.py")
    write(crlf, b"\xef\xbb\xbfdef g():\r\n    return 'na\xc3\xafve'\r\ng()\r\n", "wb")
    huge = os.path.join(t.TMP, "src_huge.py")
    write(huge, "def h():\n    s = '" + "\u00e9" * 3000 + "'\n    return s\nh()\n")
    main = write(os.path.join(t.TMP, "src_enc.py"),
                 "import src_latin, src_crlf, src_huge\n")
    r, out, prof = run(t, "enc", main)
    s = sources(prof)
    t.check("sources: a latin-1 file (coding cookie) becomes UTF-8",
            s.get(latin, {}).get(3) == "    return 'caf\u00e9'", str(s.get(latin)) + r.stderr)
    t.check("sources: a BOM and CRLF line ends are not part of the text",
            s.get(crlf, {}).get(1) == "def g():" and s.get(crlf, {}).get(2) ==
            "    return 'na\u00efve'", str(s.get(crlf)))
    line = s.get(huge, {}).get(2, "")
    t.check("sources: a huge line is cut at 500 bytes, at a character, with an ellipsis",
            line.endswith("\u2026") and len(line[:-1].encode()) <= 500 and
            len(line[:-1].encode()) >= 498 and line.startswith("    s = '\u00e9"),
            f"{len(line.encode())} bytes: {line[:40]!r}...{line[-5:]!r}")


def run_missing(t):
    gone = write(os.path.join(t.TMP, "src_gone.py"), "def gone():\n    return 1\ngone()\n")
    cached = write(os.path.join(t.TMP, "src_cached.py"),
                   "def kept():\n    return 2  # from linecache\nkept()\n")
    fifo = os.path.join(t.TMP, "src_fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    main = write(os.path.join(t.TMP, "src_missing.py"), (
        "import linecache, os, sys\n"
        "import src_gone, src_cached\n"
        "linecache.getline(src_cached.__file__, 1)\n"
        "os.remove(src_gone.__file__)\n"
        "os.remove(src_cached.__file__)\n"
        "text = 'def mine():\\n    return 3  # registered\\nmine()\\n'\n"
        "linecache.cache['<mine>'] = (len(text), None, text.splitlines(True), '<mine>')\n"
        "exec(compile(text, '<mine>', 'exec'))\n"
        "exec(compile('def plain():\\n    return 4\\nplain()\\n', '<string>', 'exec'))\n"
        f"exec(compile('def piped():\\n    return 5\\npiped()\\n', {fifo!r}, 'exec'))\n"))
    r, out, prof = run(t, "missing", main)
    s = sources(prof)
    fns = {prof["strings"][f["qualname"]] for f in prof.get("functions", [])}
    t.check("sources: a file deleted during the run, a <string> and a FIFO have no text, "
            "and the run ends as python's", r.returncode == 0 and
            {"gone", "plain", "piped"} <= fns and gone not in s and "<string>" not in s and
            fifo not in s, f"{r.returncode} {sorted(s)} {r.stderr[-300:]}")
    t.check("sources: linecache's copy of a deleted file, and of a <name> the program "
            "registered", s.get(cached, {}).get(2) == "    return 2  # from linecache" and
            s.get("<mine>", {}).get(2) == "    return 3  # registered", str(s)[:500])


def run_bound(t):
    path = write(os.path.join(t.TMP, "src_bound.py"), (
        "def hot():\n    t = 0\n    for i in range(20000):\n        t += i\n    return t\n"
        "def cold():\n" + "".join(f"    x{i} = {i}\n" for i in range(40)) +
        "hot()\ncold()\n"))
    r, out, prof = run(t, "bound", path, env={"OPPROF_SOURCE_LIMIT": "200"})
    s = sources(prof).get(path, {})
    size = sum(len(v.encode()) + 1 for v in s.values())
    t.check("sources: OPPROF_SOURCE_LIMIT bounds the text; the hottest function keeps its "
            "lines, what does not fit is counted", r.returncode == 0 and 0 < size <= 200 and
            s.get(4) == "        t += i" and 8 not in s and 47 in s and
            prof.get("sources", {}).get("omitted", 0) >= 1, f"{size} bytes {s} "
            f"{prof.get('sources', {}).get('omitted')}")
    r, out, prof = run(t, "bound0", path, env={"OPPROF_SOURCE_LIMIT": "0"})
    t.check("sources: a bound of 0 keeps no text", r.returncode == 0 and
            not sources(prof) and prof["sources"]["omitted"] >= 3, str(prof.get("sources")))
    if t.QUICK:
        return
    # the default bound, 4 MB: ten modules of 450 kB, the first nine fit
    mods = []
    for k in range(10):
        body = "".join(f"x{i} = '{'abcdefgh' * 60}'\n" for i in range(900))
        mods.append(write(os.path.join(t.TMP, f"src_big{k}.py"), body))
    main = write(os.path.join(t.TMP, "src_big.py"),
                 "".join(f"import src_big{k}\n" for k in range(10)))
    r, out, prof = run(t, "big", main, args=["--no-time"])
    s = sources(prof)
    size = sum(len(v.encode()) + 1 for f in s.values() for v in f.values())
    t.check("sources: the default bound is 4 MB, a file whose lines pass it has none",
            r.returncode == 0 and size <= 4 << 20 and size > 3 << 20 and
            sum(m in s for m in mods) == 9 and prof["sources"]["omitted"] == 1 and
            os.path.getsize(out) < 2 << 20, f"{size} bytes, {sum(m in s for m in mods)} files, "
            f"profile {os.path.getsize(out)}")


def run_merge(t):
    a = write(os.path.join(t.TMP, "src_ma.py"), "def fa():\n    return 1  # a\nfa()\n")
    b = write(os.path.join(t.TMP, "src_mb.py"), "def fb():\n    return 2  # b\nfb()\n")
    _, pa, _ = run(t, "ma", a)
    _, pb, _ = run(t, "mb", b, args=["--time-only"])
    out = os.path.join(t.TMP, "src-merged.json")
    r = t.opprof(["merge", "-o", out, pa, pb])
    s = sources(t.load_raw(out)) if r.returncode == 0 else {}
    t.check("merge: the sum carries both inputs' source text (--time-only has it too)",
            s.get(a, {}).get(2) == "    return 1  # a" and s.get(b, {}).get(2) ==
            "    return 2  # b", str(s)[:300] + r.stderr)
    os.remove(a)
    an = t.opprof(["annotate", out, "fa"])
    t.check("annotate of a merged profile shows the source", an.returncode == 0 and
            "     2 |     return 1  # a" in an.stdout, an.stdout[:300] + an.stderr)
    v1 = t.opprof(["report", out, "--format", "json", "-o", out + ".gz"])
    with gzip.open(out + ".gz", "rt") as f:
        again = sources(json.load(f)) if v1.returncode == 0 else None
    t.check("report --format json keeps the source text (.gz too)", again == s, v1.stderr)


def run_all(t):
    run_changed(t)
    run_encodings(t)
    run_missing(t)
    run_bound(t)
    run_merge(t)
