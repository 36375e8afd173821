"""End-to-end checks that no output option destroys a file opprof did not
create: the script, opprof itself, imported modules, devices, descriptors,
FIFOs and symlinks (README: "Where outputs go").  Devices and FIFOs are
private ones in a temporary folder, never the system's."""
import json
import os
import shutil
import stat
import subprocess
import threading
import time

APP = "import helper\nopen('ran', 'w').write('yes')\nprint('hi', helper.X)\n"


def fresh(t, name):
    d = os.path.join(t.TMP, "out-" + name)
    os.makedirs(d)
    with open(os.path.join(d, "app.py"), "w") as f:
        f.write(APP)
    with open(os.path.join(d, "helper.py"), "w") as f:
        f.write("X = 1\n")
    return d


def read(path):
    with open(path, "rb") as f:
        return f.read()


def is_profile(data):
    try:
        return json.loads(data)["schema"] == "opprof-profile"
    except (ValueError, KeyError, TypeError):
        return False


def run_refused(t, args, d, code=73):
    """Runs opprof in d; True when it exits `code` with one "opprof: " line
    and the script never ran."""
    ran = os.path.join(d, "ran")
    if os.path.exists(ran):
        os.remove(ran)
    r = t.opprof(args, cwd=d)
    return refused(r, d, code), r.stderr


def refused(r, d, code):
    """Exit `code`, one "opprof: " line, and the script never ran."""
    return (r.returncode == code and r.stderr.count("\n") == 1 and
            r.stderr.startswith("opprof: ") and not os.path.exists(os.path.join(d, "ran")))


def popen_run(t, args, cwd, **kw):
    """opprof with descriptors of the test's own (pass_fds, stdout=file)."""
    p = subprocess.Popen(t.VALGRIND + [t.OPPROF] + args, cwd=cwd, stdin=subprocess.DEVNULL,
                         **kw)
    return p.wait(timeout=600)


def run_all(t):
    run_protected(t)
    run_imported(t)
    run_descriptors(t)
    run_fifo(t)
    run_devices(t)
    run_links_and_checks(t)
    run_read_only(t)


def run_protected(t):
    d = fresh(t, "protected")
    for opt in ("-o", "--html", "--folded", "--speedscope", "--report"):
        r = t.opprof(["run", "-q", opt, "app.py", "app.py"], cwd=d)
        t.check(f"run {opt} SCRIPT: 73, one line, nothing runs", refused(r, d, 73), r.stderr)
        t.check(f"run {opt} SCRIPT: the script is intact", read(os.path.join(d, "app.py")) ==
                APP.encode(), "")
    os.symlink("app.py", os.path.join(d, "via-link.py"))
    r = t.opprof(["run", "-q", "-o", "via-link.py", "app.py"], cwd=d)
    t.check("run -o LINK-TO-SCRIPT: refused", refused(r, d, 73), r.stderr)
    # a copy of opprof, so that a failure here cannot break the test run;
    # run directly: under valgrind /proc/self/exe is valgrind's
    copy = os.path.join(d, "opprof-copy")
    shutil.copy2(t.OPPROF, copy)
    before = read(copy)
    r = t.run([copy, "run", "-q", "-o", copy, "app.py"], cwd=d)
    t.check("run -o OPPROF: 73, one line, nothing runs", refused(r, d, 73), r.stderr)
    t.check("run -o OPPROF: the binary is intact", read(copy) == before, "")
    r = t.run([copy, "merge", "-o", copy, "x.json"], cwd=d)
    t.check("merge -o OPPROF: 2, the binary is intact", r.returncode == 2 and
            read(copy) == before and r.stderr.count("\n") == 1, r.stderr)
    os.remove(copy)
    t.check("two outputs naming one file: 73 before the run",
            *run_refused(t, ["run", "-q", "-o", "x.json", "--html", "./x.json", "app.py"], d))
    t.check("--report in a missing folder: 73 before the run",
            *run_refused(t, ["run", "-q", "--report", "/nonexistent-dir/r.txt", "app.py"], d))


def run_imported(t):
    d = fresh(t, "imported")
    py = t.run([t.PYTHON, "app.py"], cwd=d)
    for opt in ("-o", "--html", "--report"):
        r = t.opprof(["run", "-q", opt, "helper.py", "app.py"], cwd=d)
        went = os.path.join(d, "helper.py.opprof")
        lines = [l for l in r.stderr.splitlines() if l.startswith("opprof: ")]
        t.check(f"run {opt} IMPORTED: 73, the module intact, the output beside it",
                r.returncode == 73 and read(os.path.join(d, "helper.py")) == b"X = 1\n" and
                os.path.getsize(went) > 0 and len(lines) == 1 and went in lines[0],
                f"{r.returncode} {r.stderr}")
        t.check(f"run {opt} IMPORTED: the script's output as under python",
                r.stdout == py.stdout, r.stdout)
        if opt == "-o":
            t.check("run -o IMPORTED: PATH.opprof is the profile", is_profile(read(went)), "")
        os.remove(went)
    # -m: the module is found during the run
    r = t.opprof(["run", "-q", "-o", "app.py", "-m", "app"], cwd=d)
    t.check("run -m MOD -o MOD.py: diverted to MOD.py.opprof", r.returncode == 73 and
            read(os.path.join(d, "app.py")) == APP.encode() and
            is_profile(read(os.path.join(d, "app.py.opprof"))), r.stderr)


def run_descriptors(t):
    d = fresh(t, "fds")
    # /dev/stdout and "-": the descriptor itself, after the script's output
    for name in ("-", "/dev/stdout"):
        path = os.path.join(d, "stdout.txt")
        with open(path, "w") as f:
            ino = os.fstat(f.fileno()).st_ino
            rc = popen_run(t, ["run", "-q", "-o", name, "app.py"], d, stdout=f,
                           stderr=subprocess.DEVNULL)
        out = read(path)
        t.check(f"-o {name}: written through the descriptor, after the script's output",
                rc == 0 and out.startswith(b"hi 1\n") and is_profile(out[5:]) and
                os.stat(path).st_ino == ino, out[:80])
    r = t.opprof(["run", "-q", "-o", "/dev/stderr", "app.py"], cwd=d)
    t.check("-o /dev/stderr: the profile on stderr", r.returncode == 0 and
            is_profile(r.stderr) and r.stdout == "hi 1\n", r.stderr[:200])
    for form in ("/dev/fd/%d", "/proc/self/fd/%d"):
        path = os.path.join(d, "fd.txt")
        with open(path, "w") as f:
            f.write("kept:")
            f.flush()
            ino = os.fstat(f.fileno()).st_ino
            rc = popen_run(t, ["run", "-q", "-o", form % f.fileno(), "app.py"], d,
                           pass_fds=(f.fileno(),), stdout=subprocess.DEVNULL)
        out = read(path)
        t.check(f"-o {form % 9}: through the inherited descriptor, the file not replaced",
                rc == 0 and out.startswith(b"kept:") and is_profile(out[5:]) and
                os.stat(path).st_ino == ino, out[:80])
    os.remove(os.path.join(d, "ran"))
    r = t.opprof(["run", "-q", "-o", "/dev/fd/77", "app.py"], cwd=d)
    t.check("-o /dev/fd/N not open: 73 before the run", refused(r, d, 73), r.stderr)
    t.check("descriptors: no file made for them", sorted(os.listdir(d)) ==
            ["app.py", "fd.txt", "helper.py", "stdout.txt"], os.listdir(d))


def run_fifo(t):
    d = fresh(t, "fifo")
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    start = time.monotonic()
    r = t.opprof(["run", "-q", "-o", "fifo", "app.py"], cwd=d)
    t.check("FIFO without a reader: 73 at once, before the run",
            refused(r, d, 73) and time.monotonic() - start < 60, r.stderr)
    # a reader: ours, kept open by a writer of ours until opprof is done
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    hold = os.open(fifo, os.O_WRONLY)
    os.set_blocking(rfd, True)
    got = []
    th = threading.Thread(target=lambda: got.append(drain(rfd)))
    th.start()
    # enough code run for a profile bigger than a pipe buffer
    with open(os.path.join(d, "big.py"), "w") as f:
        f.write("import argparse, json, email.parser\n" + APP)
    r = t.opprof(["run", "-q", "-o", "fifo", "big.py"], cwd=d)
    os.close(hold)
    th.join(60)
    os.close(rfd)
    t.check("FIFO with a reader: the whole profile through it (bigger than a pipe buffer)",
            r.returncode == 0 and got and len(got[0]) > 65536 and is_profile(got[0]),
            r.stderr)
    t.check("FIFO: still a FIFO", stat.S_ISFIFO(os.lstat(fifo).st_mode), "")


def drain(fd):
    """Everything until EOF (a FIFO) or EIO (a pty whose last slave closed)."""
    chunks = []
    while True:
        try:
            b = os.read(fd, 65536)
        except OSError:
            b = b""
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def run_devices(t):
    d = fresh(t, "devices")
    null = os.path.join(d, "null")
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        print("skip: private device nodes need root (mknod)")
        return
    before = sorted(os.listdir(d))
    r = t.opprof(["run", "-q", "-o", "null", "--html", "null", "app.py"], cwd=d)
    t.check("-o NULL-DEVICE: discarded, exit 0, still a device, no file made",
            r.returncode == 0 and r.stdout == "hi 1\n" and
            stat.S_ISCHR(os.lstat(null).st_mode) and
            sorted(os.listdir(d)) == sorted(before + ["ran"]), f"{r.stderr} {os.listdir(d)}")
    # another character device: written directly (a terminal we read)
    import pty
    import tty
    m, s = pty.openpty()
    tty.setraw(s)
    got = []
    th = threading.Thread(target=lambda: got.append(drain(m)))
    th.start()
    r = t.opprof(["run", "-q", "-o", os.ttyname(s), "app.py"], cwd=d)
    os.close(s)
    th.join(60)
    os.close(m)
    t.check("-o CHARACTER-DEVICE: written directly", r.returncode == 0 and got and
            is_profile(got[0]), r.stderr)


def run_links_and_checks(t):
    d = fresh(t, "links")
    real = os.path.join(d, "real.json")
    with open(real, "w") as f:
        f.write("old")
    os.symlink("real.json", os.path.join(d, "link.json"))
    r = t.opprof(["run", "-q", "-o", "link.json", "app.py"], cwd=d)
    t.check("-o SYMLINK: the link stays, its target replaced", r.returncode == 0 and
            os.path.islink(os.path.join(d, "link.json")) and is_profile(read(real)), r.stderr)
    t.check("-o SYMLINK: no temporary file left", sorted(os.listdir(d)) ==
            ["app.py", "helper.py", "link.json", "ran", "real.json"], os.listdir(d))


def run_read_only(t):
    d = fresh(t, "readonly")
    p = os.path.join(d, "p.json")
    r = t.opprof(["run", "-q", "-o", p, "app.py"], cwd=d)
    original = read(p)
    for args in (["report", p, "-o", p], ["report", p, "--format", "html", "-o", p],
                 ["diff", p, p, "-o", p]):
        r = t.opprof(args, cwd=d)
        t.check(f"{args[0]} -o INPUT: 2, one line, the input intact", r.returncode == 2 and
                r.stderr.count("\n") == 1 and read(p) == original, r.stderr)
    null = os.path.join(d, "null")
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        r = t.opprof(["report", p, "-o", null], cwd=d)
        t.check("report -o NULL-DEVICE: 0, still a device", r.returncode == 0 and
                stat.S_ISCHR(os.lstat(null).st_mode), r.stderr)
    except PermissionError:
        print("skip: private device nodes need root (mknod)")
    os.mkfifo(os.path.join(d, "fifo"))
    r = t.opprof(["report", p, "-o", "fifo"], cwd=d)
    t.check("report -o FIFO without a reader: 2, one line", r.returncode == 2 and
            r.stderr.count("\n") == 1, r.stderr)
    r = t.opprof(["report", p, "-o", "/dev/stdout"], cwd=d)
    t.check("report -o /dev/stdout: the report on stdout", r.returncode == 0 and
            "app.py" in r.stdout, r.stderr)
    r = t.opprof(["diff", p, p, "--format", "json", "-o", "d.json"], cwd=d)
    t.check("diff -o FILE: the comparison there", r.returncode == 0 and r.stdout == "" and
            json.loads(read(os.path.join(d, "d.json"))).get("verdict") is not None, r.stderr)
    # merge accumulates into one of its inputs
    total = json.loads(original)["totals"]["instructions"]
    shutil.copy(p, os.path.join(d, "all.json"))
    r = t.opprof(["merge", "-o", "all.json", "all.json", "p.json"], cwd=d)
    merged = t.load(os.path.join(d, "all.json"))
    t.check("merge -o ALL all.json new.json: accumulates", r.returncode == 0 and
            merged["totals"]["instructions"] == 2 * total, r.stderr)
