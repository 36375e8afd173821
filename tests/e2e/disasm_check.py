"""Cross-check reports/model/disasm.c with dis on every local interpreter.

    python3 tests/e2e/disasm_check.py [--bin TEST_DISASM] [--sanitize] [PYTHON...]

For each interpreter (the arguments, else 3.10-3.14 under
$PYENV_ROOT/versions and /usr/bin/python3.1x), writes the dump of
tests/e2e/disasm_dump.py and runs the test_disasm binary on it
(DISASM_DUMPS), which compares every instruction with dis's.  Without
--bin the binary is compiled here (cc, or $CC) into a temporary folder;
--sanitize adds -fsanitize=address,undefined.  One line per version;
exit status 1 on any mismatch or failure.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SOURCES = ["tests/unit/test_disasm.c", "reports/model/disasm.c",
           "reports/model/opcodes_tables.c", "reports/model/codepack.c"]
WARN = ["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
        "-Wno-missing-field-initializers"]


def interpreters():
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = []
    for minor in range(10, 15):
        found += sorted(glob.glob(os.path.join(root, "versions", "3.%d.*" % minor,
                                               "bin", "python3.%d" % minor)))
    for minor in range(10, 15):
        exe = "/usr/bin/python3.%d" % minor
        if os.access(exe, os.X_OK) and os.path.realpath(exe) not in map(os.path.realpath, found):
            found.append(exe)
    return found


def build(tmp, sanitize):
    exe = os.path.join(tmp, "test_disasm")
    cc = os.environ.get("CC", "cc")
    flags = ["-O2", "-g"] + (["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
                              "-fno-sanitize-recover=undefined"] if sanitize else [])
    cmd = [cc] + WARN + flags + ["-o", exe] + [os.path.join(ROOT, s) for s in SOURCES] + ["-lcmocka"]
    subprocess.run(cmd, check=True)
    return exe


def main(argv):
    binary, sanitize, pythons = None, False, []
    it = iter(argv)
    for a in it:
        if a == "--bin":
            binary = next(it, None)
        elif a == "--sanitize":
            sanitize = True
        elif a.startswith("-"):
            print(__doc__, file=sys.stderr)
            return 2
        else:
            pythons.append(a)
    pythons = pythons or interpreters()
    if not pythons:
        print("disasm_check: no interpreter found", file=sys.stderr)
        return 1
    failed = 0
    with tempfile.TemporaryDirectory(prefix="disasm_check.") as tmp:
        binary = binary or build(tmp, sanitize)
        for i, py in enumerate(pythons):
            version = subprocess.run([py, "-c", "import sys; print(sys.version.split()[0])"],
                                     capture_output=True, text=True).stdout.strip()
            dump = os.path.join(tmp, "dump%d" % i)
            d = subprocess.run([py, os.path.join(HERE, "disasm_dump.py"), dump],
                               capture_output=True, text=True)
            if d.returncode != 0:
                print("%s (%s): dump failed:\n%s" % (version, py, d.stderr), file=sys.stderr)
                failed += 1
                continue
            env = dict(os.environ, DISASM_DUMPS=dump)
            env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
            t = subprocess.run([binary], env=env, capture_output=True, text=True)
            m = re.search(r"disasm 3\.\d+: (\d+) code objects, (\d+) instructions compared, "
                          r"(\d+) mismatches", t.stdout)
            if t.returncode != 0 or not m or m.group(3) != "0":
                failed += 1
                print("%s (%s): FAILED\n%s%s" % (version, py, t.stdout, t.stderr))
                continue
            print("%s (%s): %s code objects, %s instructions compared, 0 mismatches"
                  % (version, py, m.group(1), m.group(2)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
