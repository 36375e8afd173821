/*
 * pyconfig.c - python's own command line into a PyConfig (pyconfig.h):
 * what `opprof run` hands CPython, parsed by CPython itself.
 */
#include "pyconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "../reports/outfile.h"
#include "commands.h"
#include "exitcode.h"

#ifndef OPPROF_PYTHON_EXE
#define OPPROF_PYTHON_EXE ""
#endif

/* The virtual environment's python when one is active and matches the
 * version opprof was built for, so its site-packages are used; else NULL. */
static const char *venv_python(char *buf, size_t n)
{
    const char *venv = getenv("VIRTUAL_ENV");
    if (!venv || !*venv)
        return NULL;
    char cfg[PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s/pyvenv.cfg", venv);
    FILE *f = fopen(cfg, "r");
    if (!f)
        return NULL;
    char line[512];
    int major = -1, minor = -1;
    while (fgets(line, sizeof line, f)) {
        char *eq = strchr(line, '=');
        if (eq && (strncmp(line, "version", 7) == 0) &&
            sscanf(eq + 1, " %d.%d", &major, &minor) == 2)
            break;
    }
    fclose(f);
    if (major != PY_MAJOR_VERSION || minor != PY_MINOR_VERSION) {
        cmd_say("warning: virtual environment %s is Python %d.%d, opprof was built "
              "for %d.%d: its packages are not used", venv, major, minor,
              PY_MAJOR_VERSION, PY_MINOR_VERSION);
        return NULL;
    }
    snprintf(buf, n, "%s/bin/python", venv);
    return access(buf, X_OK) == 0 ? buf : NULL;
}

static int is_zip(const char *path)
{
    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return n == 4 && memcmp(magic, "PK\3\4", 4) == 0;
}

/* PyConfig_Read(), with what CPython's parser writes to stderr when it
 * refuses the command line (its message plus a usage text) caught, so
 * that opprof can say it in one line: the first line goes to `why`. */
static PyStatus read_config(PyConfig *config, char *why, size_t n)
{
    FILE *tmp = tmpfile();
    int saved = tmp ? dup(2) : -1;
    if (saved >= 0) {
        fflush(stderr);
        dup2(fileno(tmp), 2);
    }
    PyStatus st = PyConfig_Read(config);
    if (saved < 0)
        return st;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    if (PyStatus_IsExit(st) && st.exitcode != 0) {
        if (fgets(why, (int)n, tmp))
            why[strcspn(why, "\n")] = 0;
    } else {
        /* not a refusal: pass on anything it said */
        char buf[512];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, tmp)) > 0)
            fwrite(buf, 1, k, stderr);
    }
    fclose(tmp);
    return st;
}

/* The bytes of a command-line argument back from what Python decoded:
 * the locale's encoding (UTF-8 where the locale cannot say, as Python's
 * UTF-8 mode does), with surrogateescape's U+DC80..U+DCFF as the bytes
 * they stand for, which wcstombs() refuses (a Latin-1 file name under a
 * UTF-8 locale).  Py_EncodeLocale() would need the runtime, not started
 * yet.  0, or -1 when it does not fit. */
static int argv_bytes(const wchar_t *w, char *out, size_t n)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t used = 0;
    for (; *w; w++) {
        char buf[MB_LEN_MAX > 4 ? MB_LEN_MAX : 4];
        size_t k;
        wchar_t c = *w;
        if (c >= 0xDC80 && c <= 0xDCFF) {
            buf[0] = (char)(c - 0xDC00);
            k = 1;
        } else if ((k = wcrtomb(buf, c, &st)) == (size_t)-1) {
            memset(&st, 0, sizeof st);
            unsigned long u = (unsigned long)c;   /* UTF-8 */
            if (u < 0x80) {
                buf[0] = (char)u, k = 1;
            } else if (u < 0x800) {
                buf[0] = (char)(0xC0 | u >> 6), buf[1] = (char)(0x80 | (u & 0x3F)), k = 2;
            } else if (u < 0x10000) {
                buf[0] = (char)(0xE0 | u >> 12), buf[1] = (char)(0x80 | ((u >> 6) & 0x3F));
                buf[2] = (char)(0x80 | (u & 0x3F)), k = 3;
            } else {
                buf[0] = (char)(0xF0 | u >> 18), buf[1] = (char)(0x80 | ((u >> 12) & 0x3F));
                buf[2] = (char)(0x80 | ((u >> 6) & 0x3F)), buf[3] = (char)(0x80 | (u & 0x3F));
                k = 4;
            }
        }
        if (used + k >= n)
            return -1;
        memcpy(out + used, buf, k);
        used += k;
    }
    out[used] = 0;
    return 0;
}

int pc_configure(PyConfig *config, const cli_run *o, const char *cwd, pc_target *run)
{
    char venv_buf[PATH_MAX];
    const char *exe = venv_python(venv_buf, sizeof venv_buf);
    if (!exe && access(OPPROF_PYTHON_EXE, X_OK) == 0)
        exe = OPPROF_PYTHON_EXE;
    char **argv = malloc(((size_t)o->py_argc + 1) * sizeof *argv);
    if (!argv)
        return cmd_say("out of memory"), OPPROF_EXIT_SOFTWARE;
    argv[0] = (char *)(exe ? exe : "python");
    memcpy(argv + 1, o->py_argv, (size_t)o->py_argc * sizeof *argv);
    /* -X dev, -X utf8, -E and -I belong to the pre-configuration, which
     * python's own main parses from the command line first, as here. */
    PyPreConfig pre;
    PyPreConfig_InitPythonConfig(&pre);
    PyStatus st = Py_PreInitializeFromBytesArgs(&pre, o->py_argc + 1, argv);
    PyConfig_InitPythonConfig(config);
    if (exe && !PyStatus_Exception(st)) {
        st = PyConfig_SetBytesString(config, &config->program_name, exe);
        if (!PyStatus_Exception(st))
            st = PyConfig_SetBytesString(config, &config->executable, exe);
    }
    if (!PyStatus_Exception(st))
        st = PyConfig_SetBytesArgv(config, o->py_argc + 1, argv);
    free(argv);
    char refusal[256] = "";
    if (!PyStatus_Exception(st))
        st = read_config(config, refusal, sizeof refusal);
    if (PyStatus_IsExit(st)) {
        if (st.exitcode == 0)  /* python -h / --version printed to stdout */
            return 0;
        cmd_say("python's command line was refused: %s", refusal[0] ? refusal : "?");
        return OPPROF_EXIT_USAGE;
    }
    if (PyStatus_Exception(st)) {
        cmd_say("cannot configure python: %s", st.err_msg ? st.err_msg : "?");
        return OPPROF_EXIT_SOFTWARE;
    }
    /* `python -` reads the script from stdin: sys.argv[0] is "-" */
    int from_stdin = !config->run_filename && !config->run_module && !config->run_command &&
                     config->argv.length > 0 && wcscmp(config->argv.items[0], L"-") == 0;
    if (!config->run_filename && !config->run_module && !config->run_command && !from_stdin) {
        cmd_say("run needs a script, -m module, -c code or - (see opprof run --help)");
        return OPPROF_EXIT_USAGE;
    }
    if (config->use_hash_seed)
        snprintf(run->hash_seed, sizeof run->hash_seed, "%lu", config->hash_seed);
    else
        strcpy(run->hash_seed, "random");
    snprintf(run->root, sizeof run->root, "%s", cwd);
    run->gate[0] = 0;
    if (config->run_command)
        strcpy(run->gate, "<string>");
    if (from_stdin)
        strcpy(run->gate, "<stdin>");
    if (config->run_filename) {
        char path[PATH_MAX];
        struct stat sb;
        if (argv_bytes(config->run_filename, path, sizeof path) < 0)
            path[0] = 0;
        snprintf(run->script, sizeof run->script, "%s", path);
        if (access(path, R_OK) != 0 || stat(path, &sb) != 0) {
            cmd_say("cannot open script '%s': %s", path, strerror(errno));
            return OPPROF_EXIT_NOINPUT;
        }
        /* a directory or zip runs its __main__.py: no single file to wait for */
        if (S_ISREG(sb.st_mode) && !is_zip(path))
            snprintf(run->gate, sizeof run->gate, "%s", path);
        /* the folder python puts first on sys.path: the project's root */
        char *slash = strrchr(path, '/');
        if (S_ISDIR(sb.st_mode))
            snprintf(run->root, sizeof run->root, "%s", path);
        else if (slash && slash != path)
            snprintf(run->root, sizeof run->root, "%.*s", (int)(slash - path), path);
    }
    if (o->root) {
        char *abs = of_absolute(o->root, cwd);
        if (abs)
            snprintf(run->root, sizeof run->root, "%s", abs);
        free(abs);
        size_t n = strlen(run->root);
        while (n > 1 && run->root[n - 1] == '/')
            run->root[--n] = 0;
    }
    return -1;
}
