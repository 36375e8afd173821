/*
 * profile_v2w_pieces.c - writing a large v2 profile in two pieces at
 * once (profile_v2w.h).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_v2w.h"

/* A large profile is written in two pieces at once: this thread writes the
 * first functions to the file while a helper writes the others and the
 * call tree to memory, appended after them: the same bytes, in about half
 * the time (most of a test suite's end of run was writing). */

/* The helper's bytes, in 1 MB chunks: open_memstream's one buffer,
 * doubled and copied as it grows, held up to twice the part at its end. */
typedef struct chunk {
    struct chunk *next;
    size_t len;
    char data[1 << 20];
} chunk;

typedef struct chunks {
    chunk *head, *tail;
} chunks;

static ssize_t chunks_write(void *cookie, const char *buf, size_t n)
{
    chunks *c = cookie;
    for (size_t done = 0; done < n;) {
        if (!c->tail || c->tail->len == sizeof c->tail->data) {
            chunk *k = malloc(sizeof *k);
            if (!k)
                return done ? (ssize_t)done : -1;
            k->next = NULL;
            k->len = 0;
            if (c->tail)
                c->tail->next = k;
            else
                c->head = k;
            c->tail = k;
        }
        size_t room = sizeof c->tail->data - c->tail->len, m = n - done < room ? n - done : room;
        memcpy(c->tail->data + c->tail->len, buf + done, m);
        c->tail->len += m;
        done += m;
    }
    return (ssize_t)n;
}

/* Writes the chunks to out (NULL: drops them) and frees them: 0, or -1
 * on a write error or when dropped. */
static int chunks_drain(chunks *c, FILE *out)
{
    int rc = 0;
    for (chunk *k = c->head, *next; k; k = next) {
        next = k->next;
        if (rc == 0 && (!out || fwrite(k->data, 1, k->len, out) != k->len))
            rc = -1;
        free(k);
    }
    c->head = c->tail = NULL;
    return rc;
}

typedef struct second_piece {
    v2 x;
    jw w;
    size_t from;
    chunks bytes;
    FILE *mem;
} second_piece;

static void *write_second(void *arg)
{
    second_piece *s = arg;
    const pf_profile *p = s->x.p;
    for (size_t i = s->from; i < p->nfunctions; i++)
        v2w_put_function(&s->x, &p->functions[i]);
    jw_end_array(&s->w);
    v2w_put_nodes(&s->x);
    if (fflush(s->mem) != 0)
        s->w.error = 1;
    return NULL;
}

/* Where the second piece starts: each holds about half of the work, a
 * node's count by opcode worth about 0.6 of an instruction (as measured);
 * the first piece also writes the strings.  nfunctions: the nodes only. */
size_t v2w_split_at(const pf_profile *p)
{
    uint64_t fn = 0, nodes = 0, half, acc = 0;
    for (size_t i = 0; i < p->nfunctions; i++)
        fn += 5 * (uint64_t)p->functions[i].ncode + 40;
    for (size_t i = 0; i < p->nnodes; i++)
        nodes += 3 * (uint64_t)p->nodes[i].nops + 12;
    half = (fn + nodes) / 2;
    size_t i = 0;
    while (i < p->nfunctions && acc < half)
        acc += 5 * (uint64_t)p->functions[i++].ncode + 40;
    return i;
}

/* From the strings on (interned), the helper writing the functions from
 * `mid` and the nodes (mid past nfunctions: one thread).  The helper
 * starts before the strings are written, and blocks every signal: they
 * stay the main thread's. */
void v2w_put_rest(v2 *x, size_t mid)
{
    const pf_profile *p = x->p;
    second_piece s = {.x = *x, .from = mid};
    cookie_io_functions_t io = {.write = chunks_write};
    s.mem = mid <= p->nfunctions ? fopencookie(&s.bytes, "w", io) : NULL;
    if (!s.mem) {
        v2w_put_head_rest(x);
        for (size_t i = 0; i < p->nfunctions; i++)
            v2w_put_function(x, &p->functions[i]);
        jw_end_array(x->w);
        v2w_put_nodes(x);
        return;
    }
    s.x.w = &s.w;
    s.x.shared = x->shared = 1;
    s.x.oom = 0;
    s.x.at = 0;
    if (x->tape) {   /* the helper's place on the tape: after the threads' */
        size_t at = p->nthreads;
        for (size_t i = 0; i < mid; i++)
            at += v2w_strings_of(&p->functions[i]);
        s.x.at = at <= x->ntape ? at : x->ntape;
    }
    jw_fork(x->w, &s.w, s.mem, "functions", mid > 0);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    int threaded = pthread_create(&t, NULL, write_second, &s) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    v2w_put_head_rest(x);
    for (size_t i = 0; i < mid; i++)
        v2w_put_function(x, &p->functions[i]);
    if (threaded)
        pthread_join(t, NULL);
    else
        write_second(&s);
    int closed = fclose(s.mem) == 0;
    if (chunks_drain(&s.bytes, closed && !s.w.error ? x->w->out : NULL) < 0 || !closed)
        x->w->error = 1;
    jw_join(x->w, &s.w);
    x->oom |= s.x.oom;
    x->shared = 0;
}

