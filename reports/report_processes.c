/*
 * report_processes.c - the report's "processes" section (report_text.h):
 * what each process of a multi-process run (run --subprocesses) was and
 * what it ran.  A profile of one process has no such section.
 */
#include "report_text.h"
#include "wrap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { P_PID, P_PARENT, P_ENDED, P_WALL, P_INSTR, P_SHARE, NP };
static const char *const head[NP] = {"pid", "parent", "ended", "wall ms", "instructions",
                                     "share"};

/* What each process ran: from the functions' per-process shares, or all
 * of a function for its process when it has none. */
static void process_sums(const pf_profile *p, uint64_t *count, uint64_t *time_ns)
{
    for (size_t i = 0; i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i];
        if (!f->per_process) {
            if (f->process < p->nprocesses) {
                count[f->process] += f->instructions;
                time_ns[f->process] += f->time_ns;
            }
            continue;
        }
        for (size_t k = 0; k < f->nper_process; k++) {
            const pf_proc_count *c = &f->per_process[k];
            if (c->process < p->nprocesses) {
                count[c->process] += c->instructions;
                time_ns[c->process] += c->time_ns;
            }
        }
    }
}

static void cells(const rt_ctx *c, size_t i, const uint64_t *count, const uint64_t *time_ns,
                  uint64_t all, char cell[NP][RT_NUM_LEN])
{
    const pf_profile *p = c->p;
    const pf_process *pr = &p->processes[i];
    if (pr->pid > 0)
        snprintf(cell[P_PID], RT_NUM_LEN, "%" PRId64, pr->pid);
    else
        strcpy(cell[P_PID], "?");
    if (pr->parent >= 0 && (uint64_t)pr->parent < p->nprocesses &&
        p->processes[pr->parent].pid > 0)
        snprintf(cell[P_PARENT], RT_NUM_LEN, "%" PRId64, p->processes[pr->parent].pid);
    else
        strcpy(cell[P_PARENT], "-");
    if (pr->pending)
        strcpy(cell[P_ENDED], "pending");
    else if (pr->ended && strncmp(pr->ended, "SIG", 3) == 0)   /* its status says no more */
        snprintf(cell[P_ENDED], RT_NUM_LEN, "%.20s", pr->ended);
    else
        snprintf(cell[P_ENDED], RT_NUM_LEN, "%.20s %d", pr->ended ? pr->ended : "status",
                 pr->exit_status);
    for (char *s = cell[P_ENDED]; *s; s++)   /* it came from a file */
        *s = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    if (pr->start_ns && pr->end_ns >= pr->start_ns)
        rt_fmt_fixed(cell[P_WALL], (double)(pr->end_ns - pr->start_ns) / 1e6);
    else
        strcpy(cell[P_WALL], "-");
    /* a pending process's counts are in its own file, not here */
    if (pr->pending) {
        strcpy(cell[P_INSTR], "-");
        strcpy(cell[P_SHARE], "-");
        return;
    }
    rt_cell_count(c, cell[P_INSTR], count[i]);
    rt_cell_pct(cell[P_SHARE], p->counted ? count[i] : time_ns[i], all, p->counted || p->timed);
}

int rt_put_processes(const rt_ctx *c)
{
    const pf_profile *p = c->p;
    if (p->nprocesses < 2)
        return 0;
    uint64_t *count = calloc(p->nprocesses, sizeof *count);
    uint64_t *time_ns = calloc(p->nprocesses, sizeof *time_ns);
    if (!count || !time_ns) {
        free(count);
        free(time_ns);
        return -1;
    }
    process_sums(p, count, time_ns);
    uint64_t all = p->counted ? p->instructions : p->time_ns;
    size_t n = p->nprocesses < c->top ? p->nprocesses : c->top;
    char cell[NP][RT_NUM_LEN];
    int w[NP], used = 0, rc = 0;
    for (int k = 0; k < NP; k++)
        w[k] = (int)strlen(head[k]);
    for (size_t i = 0; i < n; i++) {
        cells(c, i, count, time_ns, all, cell);
        for (int k = 0; k < NP; k++)
            w[k] = (int)strlen(cell[k]) > w[k] ? (int)strlen(cell[k]) : w[k];
    }
    for (int k = 0; k < NP; k++)
        used += 2 + w[k];
    /* the command gets what the columns leave, but never less than a name */
    int room = c->width - used - 2 > 12 ? c->width - used - 2 : 12;
    rt_heading(c, "processes");
    for (int k = 0; k < NP; k++)
        fprintf(c->out, k == P_ENDED ? "  %-*s" : "  %*s", w[k], head[k]);
    fputs("  command\n", c->out);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const pf_process *pr = &p->processes[i];
        char *cmd = wr_argv(pr->argv, pr->argc, (size_t)room);
        if (!cmd) {
            rc = -1;
            break;
        }
        cells(c, i, count, time_ns, all, cell);
        for (int k = 0; k < NP; k++)
            fprintf(c->out, k == P_ENDED ? "  %-*s" : "  %*s", w[k], cell[k]);
        fputs("  ", c->out);
        rt_put_plain(c->out, cmd[0] ? cmd : "-");
        fputc('\n', c->out);
        free(cmd);
    }
    if (rc == 0 && p->nprocesses > n)
        fprintf(c->out, "  ... %zu more process%s\n", p->nprocesses - n,
                p->nprocesses - n == 1 ? "" : "es");
    free(count);
    free(time_ns);
    return rc;
}
