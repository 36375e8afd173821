/*
 * sclock.c - perf-event and POSIX-timer backends of the sampler's clock.
 *
 * A perf sample's weight is read from the counter itself (the task clock
 * in ns since the last sample), so a jittered or late period never skews
 * the time.  Everything sk_weight() calls is a plain system call.
 */
#include "sclock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct sk_clock {
    int fd;                  /* perf: the event; -1 for a timer */
    timer_t timer;
    uint64_t last;           /* perf: the counter at the previous sample */
    uint64_t seed;           /* perf: jitter */
};

static uint64_t period;
static int use_perf;
static int nperf;            /* perf clocks open now (atomic) */
static int fell_back;        /* some thread got the timer instead (atomic) */

static int perf_open(uint64_t first_period)
{
    struct perf_event_attr pe;
    memset(&pe, 0, sizeof pe);
    pe.type = PERF_TYPE_SOFTWARE;
    pe.size = sizeof pe;
    pe.config = PERF_COUNT_SW_TASK_CLOCK;
    pe.sample_period = first_period;
    pe.disabled = 1;
    pe.wakeup_events = 1;
    return (int)syscall(SYS_perf_event_open, &pe, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

void sk_setup(uint64_t period_ns, int allow_perf)
{
    period = period_ns ? period_ns : 1000000;
    int fd = allow_perf ? perf_open(period) : -1;
    use_perf = fd >= 0;
    if (fd >= 0)
        close(fd);
}

/* The next period: the mean +-12.5%, from a per-clock xorshift. */
static uint64_t jittered(sk_clock *c)
{
    c->seed ^= c->seed << 13;
    c->seed ^= c->seed >> 7;
    c->seed ^= c->seed << 17;
    return period - period / 8 + c->seed % (period / 4 + 1);
}

static int perf_arm(sk_clock *c)
{
    c->seed = (uint64_t)gettid() * 0x9E3779B97F4A7C15ull | 1;
    if ((c->fd = perf_open(jittered(c))) < 0)
        return -1;
    struct f_owner_ex owner = {F_OWNER_TID, gettid()};
    if (fcntl(c->fd, F_SETFL, O_ASYNC) < 0 || fcntl(c->fd, F_SETSIG, SIGPROF) < 0 ||
        fcntl(c->fd, F_SETOWN_EX, &owner) < 0 || ioctl(c->fd, PERF_EVENT_IOC_REFRESH, 1) < 0) {
        int e = errno;
        close(c->fd);
        errno = e;
        return -1;
    }
    return 0;
}

static int timer_arm(sk_clock *c)
{
    c->fd = -1;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev._sigev_un._tid = gettid();  /* glibc has no sigev_notify_thread_id */
    struct itimerspec its;
    its.it_interval.tv_sec = (time_t)(period / 1000000000u);
    its.it_interval.tv_nsec = (long)(period % 1000000000u);
    its.it_value = its.it_interval;
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &c->timer) < 0)
        return -1;
    if (timer_settime(c->timer, 0, &its, NULL) < 0) {
        int e = errno;
        timer_delete(c->timer);
        errno = e;
        return -1;
    }
    return 0;
}

/* A perf clock is a descriptor: never more than SK_MAX_PERF at once, and
 * never one of the last SK_SPARE_FDS under RLIMIT_NOFILE, which are the
 * script's (a program of a thousand threads would otherwise run out where
 * python does not).  Past either, a thread gets the timer: no descriptor. */
static int perf_fits(int fd)
{
    struct rlimit r;
    return getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY ||
           (rlim_t)fd + SK_SPARE_FDS < r.rlim_cur;
}

sk_clock *sk_arm(void)
{
    sk_clock *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    int perf = use_perf && __atomic_add_fetch(&nperf, 1, __ATOMIC_RELAXED) <= SK_MAX_PERF;
    if (perf && perf_arm(c) < 0) {
        perf = 0;
    } else if (perf && !perf_fits(c->fd)) {
        close(c->fd);
        perf = 0;
    }
    if (use_perf && !perf) {
        __atomic_sub_fetch(&nperf, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&fell_back, 1, __ATOMIC_RELAXED);
    }
    if (!perf && timer_arm(c) < 0) {
        int e = errno;
        free(c);
        errno = e;
        return NULL;
    }
    return c;
}

uint64_t sk_weight(sk_clock *c, const siginfo_t *si)
{
    if (!c)
        return 0;
    if (c->fd < 0) {
        if (si->si_code != SI_TIMER)
            return 0;
        return (uint64_t)(1 + (si->si_overrun > 0 ? si->si_overrun : 0)) * period;
    }
    if ((si->si_code != POLL_HUP && si->si_code != POLL_IN) || si->si_fd != c->fd)
        return 0;
    uint64_t now = 0;
    uint64_t w = read(c->fd, &now, sizeof now) == (ssize_t)sizeof now ? now - c->last : period;
    c->last = now;
    return w;
}

void sk_rearm(sk_clock *c)
{
    if (!c || c->fd < 0)
        return;  /* a timer runs on by itself */
    uint64_t next = jittered(c);
    ioctl(c->fd, PERF_EVENT_IOC_PERIOD, &next);
    ioctl(c->fd, PERF_EVENT_IOC_REFRESH, 1);
}

void sk_disarm(sk_clock *c)
{
    if (!c)
        return;
    if (c->fd >= 0) {
        close(c->fd);
        __atomic_sub_fetch(&nperf, 1, __ATOMIC_RELAXED);
    } else
        timer_delete(c->timer);  /* fails harmlessly for a dead thread */
    free(c);
}

void sk_forget(sk_clock *c)
{
    if (c && c->fd >= 0) {
        close(c->fd);  /* the child's copy: the parent's event lives on */
        __atomic_sub_fetch(&nperf, 1, __ATOMIC_RELAXED);
    }
    free(c);
}

const char *sk_name(void)
{
    if (use_perf && __atomic_load_n(&fell_back, __ATOMIC_RELAXED))
        return "per-thread CPU time (perf_event task clock, SIGPROF; timer_create "
               "CLOCK_THREAD_CPUTIME_ID for threads past the descriptors it keeps)";
    return use_perf ? "per-thread CPU time (perf_event task clock, SIGPROF)"
                    : "per-thread CPU time (timer_create CLOCK_THREAD_CPUTIME_ID, SIGPROF)";
}
