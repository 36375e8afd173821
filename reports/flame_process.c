/*
 * flame_process.c - the frames that keep the processes of a multi-process
 * profile apart in flame graphs and pprof (flame.h).
 */
#include "flame.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "wrap.h"

int fl_multiprocess(const pf_profile *p)
{
    return p->nprocesses > 1;
}

uint32_t fl_thread_process(const pf_profile *p, uint32_t t)
{
    if (!p->thread_process || t >= p->nthreads || p->thread_process[t] >= p->nprocesses)
        return 0;
    return p->thread_process[t];
}

static char *label_of(const pf_process *pr)
{
    char *args = wr_argv(pr->argv, pr->argc, FL_PROCESS_ARGV);
    if (!args)
        return NULL;
    char pid[32];
    if (pr->pid > 0)
        snprintf(pid, sizeof pid, "%" PRId64, pr->pid);
    else
        strcpy(pid, "?");
    size_t n = strlen(args) + sizeof pid + 32;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "process %s%s%s%s", pid, args[0] ? ": " : "", args,
                 pr->pending ? " (pending)" : "");
    free(args);
    return s;
}

typedef struct ranked {
    const char *label;
    size_t index;
} ranked;

static int by_label(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    int d = strcmp(x->label, y->label);
    return d ? d : (x->index > y->index) - (x->index < y->index);
}

/* Equal labels would merge two processes' stacks into one frame: all but
 * the first (by index) get the index. */
static int make_distinct(char **v, size_t n)
{
    ranked *r = malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return -1;
    for (size_t i = 0; i < n; i++)
        r[i] = (ranked){v[i], i};
    qsort(r, n, sizeof *r, by_label);
    int rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++) {
        if (strcmp(r[i].label, r[i - 1].label) != 0)
            continue;
        size_t k = r[i].index, len = strlen(v[k]) + 32;
        char *s = malloc(len);
        if (!s) {
            rc = -1;
            break;
        }
        snprintf(s, len, "%s #%zu", v[k], k);
        free(v[k]);
        v[k] = s;
        /* the first of the group is never replaced: a third equal label
         * compares with it */
        r[i].label = r[i - 1].label;
    }
    free(r);
    return rc;
}

char **fl_process_labels(const pf_profile *p)
{
    char **v = calloc(p->nprocesses + 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < p->nprocesses; i++)
        if (!(v[i] = label_of(&p->processes[i]))) {
            fl_process_labels_free(v, i);
            return NULL;
        }
    if (make_distinct(v, p->nprocesses) < 0) {
        fl_process_labels_free(v, p->nprocesses);
        return NULL;
    }
    return v;
}

void fl_process_labels_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}
