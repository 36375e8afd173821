/*
 * specialize.h - the specialization view of a profile: which form of each
 * instruction the adaptive interpreter held at the end of the run
 * (pf_function.forms), how much of the executed work that covers, and the
 * sites that cost several times what the same instruction costs elsewhere
 * in the run (the fingerprint of a specialization that keeps missing or
 * never happened).
 *
 * Reads only the profile (no libpython): forms are matched by name against
 * the opcode tables of the profile's version (model/opcodes.h).
 */
#ifndef OPPROF_SPECIALIZE_H
#define OPPROF_SPECIALIZE_H

#include <stddef.h>
#include <stdint.h>

#include "model/profile.h"

typedef enum {
    SV_NONE,          /* no form recorded, or a base that has no specialized forms */
    SV_GENERIC,       /* held its generic form */
    SV_SPECIALIZED,   /* held a specialized form (or ENTER_EXECUTOR) */
    SV_INSTRUMENTED,  /* held an INSTRUMENTED_ form: opprof's events sit there */
} sv_kind;

/* What a profile can say; built once per profile.  sv_view_release frees it. */
typedef struct sv_view {
    const pf_profile *p;
    int minor;
    unsigned char *kind_of;      /* per opnames index, as a form: sv_kind */
    unsigned char *specializable;/* per opnames index, as a base: has forms */
    int forms;                   /* some function recorded forms */
} sv_view;

/* 0, or -1 when out of memory. */
int sv_view_init(sv_view *v, const pf_profile *p);
void sv_view_release(sv_view *v);

/* Why the profile has no specialization data, one line (static), or
 * NULL when it has. */
const char *sv_absent_reason(const sv_view *v);

/* The kind of instruction k of f's final form (SV_NONE when its base
 * cannot specialize or no form is known). */
sv_kind sv_kind_at(const sv_view *v, const pf_function *f, size_t k);

/* The name of the form f's instruction k held, NULL when not recorded. */
const char *sv_form_name(const sv_view *v, const pf_function *f, size_t k);

/* Executions (or sampled ns in a profile without counts) of specializable
 * instructions by the kind of their final form. */
typedef struct sv_share {
    uint64_t w[4];               /* indexed by sv_kind; w[SV_NONE]: form not known */
} sv_share;
void sv_share_add(const sv_view *v, const pf_function *f, sv_share *s);
/* The shares' weight: 1 executions, 0 sampled time. */
int sv_by_count(const sv_view *v);

/* A slow site: an instruction that can specialize, executed at least
 * SV_MIN_COUNT times, not held by opprof's own events (INSTRUMENTED_), and
 * not a CALL (its time includes the C function called).  The floor (README "Specialization"): at least SV_MIN_SAMPLES
 * samples at the site and as many at the other sites of its instruction,
 * and the site's ns per execution, lowered by two standard errors of its
 * sample count (x (1 - 2/sqrt(samples))), at least SV_SLOW_RATIO times the
 * typical: the count-weighted median ns per execution of the other sites
 * with the same base instruction. */
#define SV_MIN_SAMPLES 20
#define SV_MIN_COUNT 1000     /* executions: below, ns/execution is one event's cost */
#define SV_SLOW_RATIO 2.0
typedef struct sv_slow {
    uint32_t function;           /* index into p->functions */
    uint32_t instr;              /* index into its code[] */
    uint64_t count, time_ns, samples;
    double ns, typical;          /* ns per execution: the site's, the typical */
} sv_slow;

/* The slow sites, slowest first (by time lost against the typical); *out
 * owned by the caller (free).  0, or -1 when out of memory.  None without
 * counts and times. */
int sv_slow_sites(const sv_view *v, sv_slow **out, size_t *n);

#endif
