"""End-to-end tests of `make install`'s files (called by run_e2e.py with
itself as `t`): install into a temporary DESTDIR with the script make
install runs, run the installed binary on an example, render the man page
without warnings, check it documents every option of the CLI's tables,
and drive the bash completion function."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_all(t):
    dest = os.path.join(t.TMP, "destdir")
    script = os.path.join(ROOT, "scripts", "install", "install.sh")
    r = t.run(["sh", script, "install", t.OPPROF, dest, "/usr"])
    binary = os.path.join(dest, "usr", "bin", "opprof")
    man = os.path.join(dest, "usr", "share", "man", "man1", "opprof.1")
    comp = os.path.join(dest, "usr", "share", "bash-completion", "completions", "opprof")
    t.check("install: binary, man page and completion in DESTDIR",
            r.returncode == 0 and all(os.path.exists(p) for p in (binary, man, comp)),
            r.stdout + r.stderr)
    if not os.path.exists(binary):
        return
    v = t.run([binary, "--version"])
    t.check("install: the installed binary says its version and its CPython",
            v.returncode == 0 and v.stdout.startswith("opprof ") and "CPython " in v.stdout
            and "libpython: " in v.stdout, v.stdout + v.stderr)
    out = os.path.join(t.TMP, "installed.json")
    e = t.run([binary, "run", "-q", "-o", out, "loops.py", "a", "b"])
    t.check("install: the installed binary profiles a script (finds its libpython)",
            e.returncode == 0 and os.path.exists(out), e.stderr[-500:])
    check = t.run([sys.executable, os.path.join(ROOT, "tests", "e2e", "man_options.py"),
                   os.path.join(ROOT, "profiler", "cli.c"), man])
    t.check("install: the man page documents every option of the CLI's tables",
            check.returncode == 0, check.stdout + check.stderr)
    if shutil.which("man"):
        m = t.run(["man", "--warnings", "-l", man], env={"MANWIDTH": "80", "MANPAGER": "cat"})
        t.check("install: man --warnings renders opprof(1) without a warning",
                m.returncode == 0 and not m.stderr.strip() and "EXIT STATUS" in m.stdout,
                m.stderr[-800:])
    else:
        print("e2e: SKIPPED man --warnings: man is not installed (scripts/install-deps.sh installs it)")
    if shutil.which("bash"):
        def complete(words):
            line = " ".join(words)
            code = (f'source "{comp}"; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; '
                    'shopt -s extglob; _opprof; printf "%s\\n" "${COMPREPLY[@]}"')
            return t.run(["bash", "-c", code], cwd=t.FIX).stdout.split()
        t.check("completion: commands", set(complete(["opprof", "r"])) == {"run", "report"},
                complete(["opprof", "r"]))
        got = complete(["opprof", "run", "--no-"])
        t.check("completion: options of run", {"--no-stacks", "--no-time", "--no-legend"} <= set(got),
                got)
        got = complete(["opprof", "report", "--format", ""])
        t.check("completion: report --format values", "speedscope" in got and "json" in got and
                "pprof" in got, got)
        got = complete(["opprof", "explain", ""])
        t.check("completion: explain takes Python files", "loops.py" in got, got)
        got = complete(["opprof", "annotate", os.path.join(t.TMP, "inst")])
        t.check("completion: annotate takes profiles", out in got, got)
    r = t.run(["sh", script, "uninstall", "-", dest, "/usr"])
    t.check("uninstall: the three files removed",
            r.returncode == 0 and not any(os.path.exists(p) for p in (binary, man, comp)),
            r.stdout + r.stderr)
