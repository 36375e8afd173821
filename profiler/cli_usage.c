/*
 * cli_usage.c - the help texts of opprof's commands (cli.h), apart from
 * the parsing so that cli.c stays readable.
 */
#include "cli.h"

const char cli_main_usage[] =
    "usage: opprof <command> [options]\n"
    "\n"
    "commands:\n"
    "  run      run a Python script under the profiler and write a profile\n"
    "  diff     compare two profiles; exit 3 on a regression past the limits\n"
    "  merge    sum profiles of the same interpreter into one\n"
    "  report   print the report of a saved profile\n"
    "  annotate print a function's bytecode with the run's numbers\n"
    "  explain  what an instruction means; code disassembled with the meanings\n"
    "\n"
    "  opprof --help | --version | <command> --help\n";

#define GATE_HELP                                                                     \
    "  --metric instructions|time   what to compare (default instructions: exact)\n"   \
    "  --threshold PCT        limit on the growth of the total (default 0%)\n"        \
    "  --function-threshold PCT   limit on the growth of each function\n"             \
    "  --soft                 limits only warn (exit 0)\n"                            \
    "  --min-instructions N   do not gate functions below N instructions\n"           \
    "  --include-imports      gate the import machinery too (left out by default)\n"  \
    "  --allow-interpreter-mismatch   compare profiles of different interpreters\n"   \
    "  --format text|markdown|json|junit|github   (default text)\n"                   \
    "  --top N                rows shown in full (default 20)\n"

const char cli_run_usage[] =
    "usage: opprof run [opprof options] [python options] script.py [args]\n"
    "       opprof run [opprof options] [python options] -m module [args]\n"
    "       opprof run [opprof options] [python options] -c code [args]\n"
    "       opprof run [opprof options] [python options] - [args]   (script from stdin)\n"
    "\n"
    "opprof options (they come first; the first argument opprof does not know\n"
    "starts python's own command line):\n"
    "  -o, --output FILE  write the profile to FILE (default opprof.json; - for stdout)\n"
    "  -q, --quiet        no report on stderr at exit\n"
    "  --report FILE      write the report to FILE instead of stderr\n"
    "  --sort time|count  opcode histograms by time (default) or count\n"
    "  --no-stacks        do not record call stacks (faster)\n"
    "  --lines            the call tree by source line: each call's line in its\n"
    "                     caller, what each call path ran per line (pprof's line\n"
    "                     view; bigger profiles: ~3x the nodes on a test suite)\n"
    "  --no-time          exact counts only: no CPU-time sampling\n"
    "  --time-only        sampled CPU time only, no counting hook: the least\n"
    "                     perturbed times (no instruction counts)\n"
    "  --rate HZ          CPU-time samples a second per thread (default 1000)\n"
    "  --native           also sample native stacks (C code below Python calls):\n"
    "                     \"native_stacks\" in the profile, C frames in flame graphs\n"
    "  --subprocesses     also profile every Python process the run starts (through\n"
    "                     sys.executable, multiprocessing, fork) and merge them\n"
    "                     into one profile that lists the processes\n"
    "  --subprocess-wait SECONDS  how long the parent waits at its end for children\n"
    "                     still running (default 10); those left are listed pending\n"
    "                     and write their own file\n"
    "  --root DIR         files are matched across profiles relative to DIR\n"
    "                     (default: the script's folder; the current one for -m/-c)\n"
    "  --instruction-events  count with one event per instruction instead of\n"
    "                     control-flow events (3.12+; slower, same counts)\n"
    "  --folded FILE      also write the run as folded stacks (flamegraph.pl, inferno,\n"
    "                     speedscope): one line per call path, 'f;g;h WEIGHT'\n"
    "  --speedscope FILE  also write a speedscope file (one profile per thread)\n"
    "  --html FILE        also write one self-contained HTML page: flame graph,\n"
    "                     scope comparison, top functions\n"
    "  --pprof FILE       also write pprof's profile.proto, gzip-compressed (go tool\n"
    "                     pprof, Pyroscope, Parca): samples of instructions and cpu\n"
    "                     by call path and line, labels thread, process, scope, opcode\n"
    "                     (--metric instructions|time: what they weigh, pprof's default\n"
    "                     sample type; default time when timed, else instructions)\n"
    "  --opcodes          flame graphs and pprof get the executed opcode as a leaf frame\n"
    "  --no-legend        the report without the meaning of each opcode it shows\n"
    "  --compare BASELINE after the run, diff against BASELINE (report on stderr)\n"
    "                     and exit 3 on a regression; takes diff's limits:\n"
    GATE_HELP
    "  -h, --help         this help\n";

const char cli_diff_usage[] =
    "usage: opprof diff [options] BASE.json NEW.json\n"
    "\n"
    "Compares NEW against BASE function by function (matched by file relative\n"
    "to each profile's root, and qualname).  Exit 0: no regression past a hard\n"
    "limit; 3: regression; 2: usage error, bad input or a refused output.\n"
    "\n"
    GATE_HELP
    "  -o, --output FILE      write the comparison there instead of standard output\n"
    "  -h, --help             this help\n";

const char cli_merge_usage[] =
    "usage: opprof merge -o OUT.json IN.json [IN.json ...]\n"
    "\n"
    "Sums counts, calls, wall time and stacks of profiles of one interpreter.\n";

const char cli_report_usage[] =
    "usage: opprof report PROFILE.json [--top N] [--sort time|count] [--width N] [--no-legend]\n"
    "       opprof report PROFILE.json --format folded|speedscope|html|pprof [-o FILE]\n"
    "                     [--metric instructions|time] [--opcodes]\n"
    "       opprof report PROFILE.json --format json|json-v1 [-o FILE]\n"
    "\n"
    "  --format F         text (the terminal report, default), folded (flamegraph.pl,\n"
    "                     inferno, speedscope), speedscope, html (one self-contained page),\n"
    "                     pprof (gzip-compressed profile.proto: go tool pprof, Pyroscope,\n"
    "                     Parca; not to a terminal), json (the profile as opprof writes\n"
    "                     it, v2; gzip when FILE ends in .gz), json-v1 (the version 1\n"
    "                     layout, for scripts written for it)\n"
    "  -o, --output FILE  write there instead of standard output\n"
    "  --metric M         what the flame graph weighs: instructions or time (ns);\n"
    "                     default time when the profile is timed, else instructions\n"
    "                     (pprof holds both: M is its default sample type)\n"
    "  --opcodes          the executed opcode as a leaf frame: ...;work (a.py:3);[LOAD_FAST]\n"
    "  --no-legend        the text report without its last section, the meaning of\n"
    "                     each opcode it shows\n";

const char cli_explain_usage[] =
    "usage: opprof explain                  every instruction of this interpreter, by category\n"
    "       opprof explain OPNAME           what one instruction does (any case: load_name)\n"
    "       opprof explain -c CODE          CODE compiled (never run) and disassembled,\n"
    "                                       the meaning of each instruction beside it\n"
    "       opprof explain FILE.py [FUNCTION]   the same for a file, or one function of it\n"
    "                                       (a qualname such as Outer.work, or a name)\n"
    "       opprof explain --names 3.X      the instruction names of CPython 3.X, one a line\n"
    "\n"
    "The glossary covers CPython 3.10 to 3.14: generic, specialized (3.11+),\n"
    "pseudo and instrumented instructions.  Exit 2 for an unknown name (the\n"
    "closest are suggested), an unreadable FILE or code that does not compile.\n";

const char cli_annotate_usage[] =
    "usage: opprof annotate PROFILE.json [FUNCTION] [--top N] [--explain]\n"
    "\n"
    "FUNCTION: a qualname (Outer.work), a name, or FILE:LINE (app.py:12);\n"
    "without it, the hottest --top functions (default 3).\n"
    "--explain: the meaning of each instruction at the end of its row.\n";
