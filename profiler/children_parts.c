/*
 * children_parts.c - the parts of a --subprocesses run (children.h): a
 * child's written at its end, the parent's end collecting them.
 */
#include "children.h"
#include "children_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../reports/model/merge.h"
#include "../reports/model/profile_json.h"
#include "../reports/model/profile_read.h"
#include "../reports/outfile.h"
#include "commands.h"

/* ---- a child's part ------------------------------------------------------ */

int ch_write_part(const pf_profile *p)
{
    char tmp[PATH_MAX + 64], part[PATH_MAX + 64], err[256];
    snprintf(tmp, sizeof tmp, "%s/parts/.%ld.tmp", ch__dir(), ch__pid());
    snprintf(part, sizeof part, "%s/parts/%ld.json", ch__dir(), ch__pid());
    FILE *f = fopen(tmp, "we");
    if (f) {
        int bad = pf_json_write_to((void *)p, f, err, sizeof err) < 0;
        bad |= fclose(f) != 0;
        if (!bad && rename(tmp, part) == 0)
            return 0;
        unlink(tmp);   /* the parent may have taken the folder away meanwhile */
    }
    if (!ch__out()[0]) {
        cmd_say("process %ld ended after the run's profile was written to a stream: "
                "its profile is lost", ch__pid());
        return -1;
    }
    char *own = of_pid_path(ch__out(), ch__pid());
    int rc = own ? pf_json_save(p, own, err, sizeof err) : -1;
    if (rc < 0)
        cmd_say("cannot write profile to %s: %s", own ? own : ch__out(), own ? err : "out of memory");
    free(own);
    return rc;
}

/* ---- the parent's end ---------------------------------------------------- */

typedef struct child {
    long pid, ppid;
    char **argv;             /* from its .started file */
    size_t argc;
    int has_part;
    int alive;
    struct timespec started; /* the .started file's mtime: the order of the list */
} child;

typedef struct children {
    child *v;
    size_t n, cap;
} children;

static void children_release(children *c)
{
    for (size_t i = 0; i < c->n; i++) {
        for (size_t k = 0; k < c->v[i].argc; k++)
            free(c->v[i].argv[k]);
        free(c->v[i].argv);
    }
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* A process that can still write its part: not gone, not a zombie. */
static int alive(long pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static int read_started(const char *path, child *c)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    c->ppid = atol(buf);
    size_t at = strlen(buf) + 1, count = 0;
    for (size_t i = at; i < n; i++)
        count += buf[i] == 0;
    if (!(c->argv = calloc(count + 1, sizeof *c->argv)))
        return -1;
    for (; at < n && c->argc < count; at += strlen(buf + at) + 1)
        if (!(c->argv[c->argc++] = strdup(buf + at)))
            return -1;
    return 0;
}

/* The children in `parts` (a folder), by the time they started. */
static int list_children(const char *parts, children *c)
{
    DIR *d = opendir(parts);
    if (!d)
        return -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && rc == 0) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, ".started") != 0)
            continue;
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 16;
            child *v = realloc(c->v, cap * sizeof *v);
            if (!v) {
                rc = -1;
                break;
            }
            c->v = v;
            c->cap = cap;
        }
        child *k = &c->v[c->n++];
        memset(k, 0, sizeof *k);
        k->pid = pid;
        char path[PATH_MAX + 300];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", parts, e->d_name);
        if (stat(path, &sb) == 0)
            k->started = sb.st_mtim;
        rc = read_started(path, k);
        snprintf(path, sizeof path, "%s/%ld.json", parts, pid);
        k->has_part = access(path, F_OK) == 0;
        k->alive = !k->has_part && alive(pid);
    }
    closedir(d);
    for (size_t i = 1; i < c->n; i++)   /* few: insertion sort */
        for (size_t j = i; j > 0; j--) {
            struct timespec a = c->v[j - 1].started, b = c->v[j].started;
            if (a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec))
                break;
            child t = c->v[j];
            c->v[j] = c->v[j - 1];
            c->v[j - 1] = t;
        }
    return rc;
}

/* Until every child that announced itself has left its part or died, or
 * wait_s has passed: polled, from 1 ms up to 20 ms. */
static void wait_for_children(const char *parts, double wait_s)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long tick_ns = 1000000;
    for (;;) {
        children c = {0};
        int waiting = 0;
        if (list_children(parts, &c) == 0)
            for (size_t i = 0; i < c.n; i++)
                waiting |= c.v[i].alive;
        children_release(&c);
        clock_gettime(CLOCK_MONOTONIC, &now);
        double spent = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if (!waiting || spent >= wait_s)
            return;
        struct timespec tick = {0, tick_ns};
        nanosleep(&tick, NULL);
        if (tick_ns < 20000000)
            tick_ns *= 2;
    }
}

/* A child with no part: still running (pending: its own file will have
 * it) or gone without one (killed: incomplete). */
static int list_partless(pf_profile *p, const child *k)
{
    pf_process *pr = pf_add_process(p);
    if (!pr)
        return -1;
    pr->pid = k->pid;
    pr->ppid = k->ppid;
    pr->pending = k->alive;
    pr->incomplete = !k->alive;
    pr->exit_status = 0;
    if (!(pr->argv = calloc(k->argc + 1, sizeof *pr->argv)))
        return -1;
    for (size_t i = 0; i < k->argc; i++, pr->argc++)
        if (pf_set_string(&pr->argv[i], k->argv[i]) < 0)
            return -1;
    for (size_t i = 0; i < p->nprocesses; i++)
        if (p->processes[i].pid == k->ppid && &p->processes[i] != pr)
            pr->parent = (int64_t)i;
    return 0;
}

static void remove_folder(const char *dir, int keep_launcher)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX + 300];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, "..") != 0)) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    rmdir(dir);
    if (keep_launcher)
        return;
    ch__launcher_path(path, sizeof path);
    unlink(path);
    snprintf(path, sizeof path, "%s/bin", ch__dir());
    rmdir(path);
    rmdir(ch__dir());
}

/* What a merge leaves out of the parent's profile: its native stacks and
 * a signal's report (the children's stay in their processes' parts). */
static void take_unmerged(pf_profile *sum, pf_profile *parent)
{
#define TAKE(f) do { sum->f = parent->f; parent->f = 0; } while (0)
    if (parent->native && !sum->native) {
        sum->native = parent->native;
        sum->native_stats = parent->native_stats;
        TAKE(native_stacks);
        TAKE(nnative_stacks);
        TAKE(native_modules);
        TAKE(nnative_modules);
    }
    if (!sum->signal)
        TAKE(signal);
    if (!sum->crash)
        TAKE(crash);
#undef TAKE
}

int ch_collect(pf_profile **p, double wait_s)
{
    if (ch_role_now() != CH_PARENT)
        return 0;
    char parts[PATH_MAX + 16], closed[PATH_MAX + 16], err[512];
    size_t pending = 0;
    snprintf(parts, sizeof parts, "%s/parts", ch__dir());
    snprintf(closed, sizeof closed, "%s/parts.closed", ch__dir());
    wait_for_children(parts, wait_s);
    /* from here on a child that ends writes its own file */
    if (rename(parts, closed) < 0) {
        cmd_say("--subprocesses: cannot close %s: %s", parts, strerror(errno));
        return -1;
    }
    children c = {0};
    size_t parts_in = 0;
    int rc = list_children(closed, &c);
    for (size_t i = 0; i < c.n; i++)
        parts_in += c.v[i].has_part;
    if (rc == 0 && !parts_in) {   /* nothing to merge: the profile as it is */
        for (size_t i = 0; rc == 0 && i < c.n; i++) {
            pending += c.v[i].alive;
            rc = list_partless(*p, &c.v[i]);
        }
        children_release(&c);
        remove_folder(closed, pending > 0);
        return rc;
    }
    pf_merger *m = pf_merger_new();
    err[0] = 0;
    if (rc == 0)
        rc = m ? pf_merger_add(m, *p, err, sizeof err) : -1;
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%ld.json", closed, c.v[i].pid);
        pf_profile *part = NULL;
        if (!c.v[i].has_part)
            continue;
        if (pf_read_file(path, &part, err, sizeof err) < 0) {
            cmd_say("--subprocesses: the profile of process %ld is unreadable: %s", c.v[i].pid,
                    err);
            c.v[i].has_part = 0;
        } else {
            rc = pf_merger_add(m, part, err, sizeof err);
        }
        pf_profile_release(part);
    }
    pf_profile *sum = NULL;
    if (rc == 0)
        rc = pf_merger_finish(m, &sum, err, sizeof err);
    if (rc == 0)
        take_unmerged(sum, *p);
    for (size_t i = 0; rc == 0 && i < c.n; i++)
        if (!c.v[i].has_part) {
            pending += c.v[i].alive;
            rc = list_partless(sum, &c.v[i]);
        }
    if (rc < 0)
        cmd_say("--subprocesses: cannot merge the children's profiles: %s",
                err[0] ? err : "out of memory");
    pf_merger_release(m);
    children_release(&c);
    remove_folder(closed, pending > 0);
    if (rc < 0) {
        pf_profile_release(sum);
        return -1;
    }
    pf_profile_release(*p);
    *p = sum;
    return 0;
}
