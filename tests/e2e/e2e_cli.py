"""End-to-end checks of the command line: exit codes, output files, fork,
stacks on/off, the environment a script sees."""
import json
import os
import signal
import subprocess


def run_all(t):
    tmp, fix = t.TMP, t.FIX

    # every way to ask for help or the version succeeds
    for args in (["--help"], ["--version"], ["run", "--help"]):
        r = t.opprof(args)
        t.check(f"opprof {' '.join(args)} exits 0", r.returncode == 0 and r.stdout, r.stderr)

    r = t.opprof(["run", "-q", "-o", os.path.join(tmp, "x.json"), "no_such_script.py"])
    t.check("missing script: 66 and one line", r.returncode == 66 and
            r.stderr.count("\n") == 1 and r.stderr.startswith("opprof: "), repr(r.stderr))
    r = t.opprof(["frobnicate"])
    t.check("unknown command: 64", r.returncode == 64 and r.stderr.startswith("opprof: "), r.stderr)
    r = t.opprof(["run"])
    t.check("run without a script: 64", r.returncode == 64 and r.stderr.count("\n") == 1, r.stderr)
    r = t.opprof(["run", "-o"])
    t.check("-o without a value: 64", r.returncode == 64, r.stderr)
    r = t.opprof(["run", "-q", "--bogus-option", "loops.py"])
    t.check("an option nobody knows: 64 and one line", r.returncode == 64 and
            r.stderr.startswith("opprof: ") and r.stderr.count("\n") == 1, r.stderr)

    marker = os.path.join(tmp, "marker")
    r = t.opprof(["run", "-o", "/nonexistent/dir/p.json", "-c",
                  f"open({marker!r}, 'w').write('ran')"])
    t.check("unwritable -o: 73 before the script runs", r.returncode == 73 and
            not os.path.exists(marker) and r.stderr.count("\n") == 1, r.stderr)

    r = t.opprof(["run", "-q", "-o", "-", "-c", "pass"])
    ok = False
    try:
        ok = json.loads(r.stdout)["schema"] == "opprof-profile"
    except ValueError:
        pass
    t.check("-o - writes the profile to stdout", ok and r.returncode == 0, r.stdout[:200])

    # python's own options after opprof's
    py = t.run([t.PYTHON, "-X", "dev", "-W", "error", "env_check.py", "a"], stdin="hi",
               env={"OPPROF_TEST_VAR": "v"})
    op = t.opprof(["run", "-q", "-o", os.path.join(tmp, "env.json"), "-X", "dev", "-W", "error",
                   "env_check.py", "a"], stdin="hi", env={"OPPROF_TEST_VAR": "v"})
    t.check("python options, argv, sys.executable, env and stdin as under python",
            op.stdout == py.stdout and op.returncode == py.returncode,
            f"{op.stdout!r} != {py.stdout!r} {op.stderr}")

    # stacks on and off give the same counts; off records no stacks
    a, b = os.path.join(tmp, "stk.json"), os.path.join(tmp, "nostk.json")
    t.opprof(["run", "-q", "-o", a, "recursion.py"])
    t.opprof(["run", "-q", "--no-stacks", "-o", b, "recursion.py"])
    pa, pb = t.load(a), t.load(b)
    t.check("--no-stacks: same counts", t.profile_counts(pa) == t.profile_counts(pb), "")
    t.check("--no-stacks: no stacks", pb["stacks"] == [] and pb["stacks_enabled"] is False
            and pa["stacks"], "")

    # a forked child writes its own profile; the parent's stays whole
    out = os.path.join(tmp, "fork.json")
    code = ("import os\npid = os.fork()\nif pid == 0:\n    sum(range(10))\nelse:\n"
            "    os.waitpid(pid, 0)\n    print(pid)\n")
    r = t.opprof(["run", "-q", "-o", out, "-c", code])
    child = r.stdout.strip()
    t.check("fork: parent profile written", os.path.exists(out) and r.returncode == 0, r.stderr)
    cpath = os.path.join(tmp, f"fork.{child}.json")
    t.check("fork: child writes fork.<pid>.json", os.path.exists(cpath), os.listdir(tmp))
    if os.path.exists(cpath) and os.path.exists(out):
        t.check("fork: child profile counts only the child", t.load(cpath)["totals"]["instructions"]
                < t.load(out)["totals"]["instructions"], "")

    # KeyboardInterrupt: python's traceback and death by SIGINT, profile kept
    out = os.path.join(tmp, "kbd.json")
    code = "def f():\n    raise KeyboardInterrupt\nf()\n"
    py = t.run([t.PYTHON, "-c", code])
    op = t.opprof(["run", "-q", "-o", out, "-c", code])
    t.check("KeyboardInterrupt: same status and traceback", op.returncode == py.returncode
            and t.without_opprof_lines(op.stderr) == py.stderr, f"{op.returncode} {op.stderr}")
    t.check("KeyboardInterrupt: profile written", os.path.exists(out), op.stderr)

    # an activated virtual environment's packages are importable
    venv = os.path.join(tmp, "venv")
    r = t.run([t.PYTHON, "-m", "venv", "--without-pip", venv])
    if r.returncode == 0:
        site = t.run([os.path.join(venv, "bin", "python"), "-c",
                      "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
        with open(os.path.join(site, "venv_only_mod.py"), "w") as f:
            f.write("VALUE = 42\n")
        env = {"VIRTUAL_ENV": venv, "PATH": os.path.join(venv, "bin") + ":" + os.environ["PATH"]}
        r = t.opprof(["run", "-q", "-o", os.path.join(tmp, "venv.json"), "-c",
                      "import sys, venv_only_mod; print(venv_only_mod.VALUE, sys.prefix)"],
                     env=env)
        t.check("venv: its packages are importable", r.stdout.startswith("42 ") and
                venv in r.stdout, r.stdout + r.stderr)
    else:
        t.check("venv: created", False, r.stderr)
