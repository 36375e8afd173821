"""Checks that the man page documents every option of opprof's option tables.

Usage: python3 tests/e2e/man_options.py profiler/cli.c scripts/install/opprof.1

Reads the `static const option NAME_options[]` arrays of cli.c and the
GATE_OPTIONS macro they include, collects every long (`--name`) and short
(`-o`) option string, and looks for each in the man page source written the
roff way, with every dash as `\\-` (`\\-\\-no\\-stacks`, `\\-o`).  Prints the
missing ones and exits 1, or prints "man page: N options documented" and
exits 0.  Standard library only.
"""
import re
import sys

# A string literal that is an option: "-o", "--output", "--no-stacks".
OPTION_LITERAL = re.compile(r'"(--?[A-Za-z0-9][A-Za-z0-9-]*)"')


def strip_comments(c_source):
    """C source without /* */ and // comments (string literals are kept)."""
    out, i, n = [], 0, len(c_source)
    while i < n:
        ch = c_source[i]
        if ch == '"':
            j = i + 1
            while j < n and c_source[j] != '"':
                j += 2 if c_source[j] == "\\" else 1
            out.append(c_source[i:j + 1])
            i = j + 1
        elif c_source.startswith("/*", i):
            end = c_source.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        elif c_source.startswith("//", i):
            end = c_source.find("\n", i)
            i = n if end < 0 else end
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def macro_body(source, name):
    """The body of `#define NAME ...` with its line continuations joined."""
    m = re.search(r"^[ \t]*#[ \t]*define[ \t]+" + re.escape(name) + r"\b(.*?)(?<!\\)$",
                  source, re.M | re.S)
    return m.group(1).replace("\\\n", " ") if m else None


def option_tables(source):
    """{table name: [option strings]}, GATE_OPTIONS expanded where used."""
    source = strip_comments(source)
    gate = macro_body(source, "GATE_OPTIONS")
    tables = {}
    if gate is not None:
        tables["GATE_OPTIONS"] = OPTION_LITERAL.findall(gate)
    for m in re.finditer(r"static\s+const\s+option\s+(\w+_options)\s*\[\s*\]\s*=\s*\{(.*?)\};",
                         source, re.S):
        body = m.group(2)
        if "GATE_OPTIONS" in body and gate is not None:
            body = body.replace("GATE_OPTIONS", gate)
        tables[m.group(1)] = OPTION_LITERAL.findall(body)
    return tables


def roff(option):
    """The option as the man page source writes it: every '-' as '\\-'."""
    return option.replace("-", "\\-")


def documented(option, page):
    """True when the page has the option as a whole word (\\-\\-top, not \\-\\-topx)."""
    pattern = re.escape(roff(option)) + r"(?![A-Za-z0-9]|\\-[A-Za-z0-9])"
    return re.search(r"(?<!-)" + pattern, page) is not None


def main(argv):
    if len(argv) != 3:
        print("usage: man_options.py profiler/cli.c scripts/install/opprof.1", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            source = f.read()
        with open(argv[2], encoding="utf-8") as f:
            page = f.read()
    except OSError as e:
        print(f"man_options.py: {e}", file=sys.stderr)
        return 2
    tables = option_tables(source)
    if "GATE_OPTIONS" not in tables or not any(k.endswith("_options") for k in tables):
        print(f"man_options.py: no option tables found in {argv[1]}", file=sys.stderr)
        return 2
    options = sorted({o for opts in tables.values() for o in opts})
    missing = [o for o in options if not documented(o, page)]
    if missing:
        for o in missing:
            where = ", ".join(sorted(t for t, opts in tables.items() if o in opts))
            print(f"missing from {argv[2]}: {roff(o)} ({where})")
        return 1
    print(f"man page: {len(options)} options documented")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
