/* The cloudsched-slurm engine (examples/slurm/engine.c) against a fake Slurm.
 *
 * The fake keeps nodes and jobs as Slurm would, carries out the engine's
 * actions (hold = priority 0 and no pin; release = pin and priority;
 * requeue), and has its own scheduling pass modelled on sched/builtin: walk
 * the released pending jobs by priority (then id), start each on its pinned
 * nodes if they are up and have room, and stop at the first that cannot
 * start. Expected decisions are worked out by hand in the comments; the last
 * test is a model check over a random workload: every job completes, on the
 * node(s) of its last release, and the fake starts jobs exactly in release
 * order. No libslurm is needed, so this runs wherever Check does. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csl.h"
#include "testutil.h"

#define MAXN 8
#define MAXJ 96
#define MAXLOG 1024

typedef struct fnode {
    char name[8];
    int64_t cpus, mem, used_cpus, used_mem;
    csl_node_state state;
} fnode;

typedef struct fjob {
    uint32_t id;
    csl_job_phase phase;
    int held;
    uint32_t priority;
    char req[64];
    uint32_t cpus, nodes;
    int64_t mem; /* per node */
    double limit, duration, start;
    char account[16];
    int where[MAXN]; /* node indices while running */
    uint32_t nwhere;
    int refuse;      /* the fake never starts it */
    int waiting;     /* a dependency is not satisfied yet */
    double begin;    /* not before this time (Slurm shows it unless held) */
    int64_t nice;
    int start_order; /* 0-based order of starts, -1 = never */
} fjob;

typedef struct action {
    char kind; /* 'H' hold, 'R' release, 'Q' requeue */
    uint32_t job;
    char nodes[64];
    uint32_t prio;
} action;

typedef struct fake {
    fnode n[MAXN];
    int nn;
    fjob j[MAXJ];
    int nj;
    action log[MAXLOG];
    int nlog;
    int started;
    double now;
    /* snapshot storage */
    csl_node sn[MAXN];
    csl_job sj[MAXJ];
    const char *anames[MAXJ][MAXN];
    uint32_t acpus[MAXJ][MAXN];
} fake;

static fjob *fjob_get(fake *f, uint32_t id)
{
    for (int i = 0; i < f->nj; i++)
        if (f->j[i].id == id)
            return &f->j[i];
    return NULL;
}

static int node_index(const fake *f, const char *name, size_t len)
{
    for (int i = 0; i < f->nn; i++)
        if (strlen(f->n[i].name) == len && strncmp(f->n[i].name, name, len) == 0)
            return i;
    return -1;
}

static void add_node(fake *f, const char *name, int64_t cpus, int64_t mem)
{
    fnode *n = &f->n[f->nn++];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->cpus = cpus;
    n->mem = mem;
    n->state = CSL_NODE_UP;
}

static fjob *add_job(fake *f, uint32_t cpus, uint32_t nodes, double duration, const char *acct,
                     int held)
{
    fjob *j = &f->j[f->nj];
    memset(j, 0, sizeof *j);
    j->id = (uint32_t)f->nj + 1;
    f->nj++;
    j->phase = CSL_JOB_PENDING;
    j->held = held;
    j->priority = held ? 0 : 1;
    j->cpus = cpus;
    j->nodes = nodes;
    j->mem = 100 * (int64_t)(cpus / nodes);
    j->limit = 600;
    j->duration = duration;
    j->start_order = -1;
    snprintf(j->account, sizeof j->account, "%s", acct);
    return j;
}

static void occupy(fake *f, fjob *j, int sign)
{
    for (uint32_t k = 0; k < j->nwhere; k++) {
        f->n[j->where[k]].used_cpus += sign * (int64_t)(j->cpus / j->nodes);
        f->n[j->where[k]].used_mem += sign * j->mem;
    }
}

/* Start j on the given nodes now. */
static void run_on(fake *f, fjob *j, const int *nodes, uint32_t count)
{
    memcpy(j->where, nodes, count * sizeof *nodes);
    j->nwhere = count;
    occupy(f, j, +1);
    j->phase = CSL_JOB_RUNNING;
    j->start = f->now;
    j->start_order = f->started++;
}

/* ---- actions ---- */

static int act_hold(void *ctx, uint32_t id)
{
    fake *f = ctx;
    fjob *j = fjob_get(f, id);
    if (j == NULL || j->phase != CSL_JOB_PENDING)
        return -1;
    j->held = 1;
    j->priority = 0;
    j->req[0] = '\0';
    action *a = &f->log[f->nlog++];
    memset(a, 0, sizeof *a);
    a->kind = 'H';
    a->job = id;
    return 0;
}

static int act_release(void *ctx, uint32_t id, const char *nodes, uint32_t num_nodes,
                       uint32_t prio)
{
    fake *f = ctx;
    fjob *j = fjob_get(f, id);
    if (j == NULL || j->phase != CSL_JOB_PENDING || num_nodes != j->nodes)
        return -1;
    j->held = 0;
    j->priority = prio;
    snprintf(j->req, sizeof j->req, "%s", nodes);
    action *a = &f->log[f->nlog++];
    a->kind = 'R';
    a->job = id;
    snprintf(a->nodes, sizeof a->nodes, "%s", nodes);
    a->prio = prio;
    return 0;
}

static int act_requeue(void *ctx, uint32_t id)
{
    fake *f = ctx;
    fjob *j = fjob_get(f, id);
    if (j == NULL || j->phase != CSL_JOB_RUNNING)
        return -1;
    occupy(f, j, -1);
    j->phase = CSL_JOB_PENDING;
    j->nwhere = 0;
    j->begin = f->now + 10; /* as Slurm: a requeued job waits (cred_expire) */
    action *a = &f->log[f->nlog++];
    memset(a, 0, sizeof *a);
    a->kind = 'Q';
    a->job = id;
    return 0;
}

static csl_actions fake_actions(fake *f)
{
    csl_actions a = {f, act_hold, act_release, act_requeue};
    return a;
}

/* ---- the fake's scheduling pass (sched/builtin: FIFO by priority) ---- */

static int by_priority(const void *a, const void *b)
{
    const fjob *x = *(const fjob *const *)a, *y = *(const fjob *const *)b;
    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static void fake_schedule(fake *f)
{
    fjob *q[MAXJ];
    int nq = 0;
    for (int i = 0; i < f->nj; i++)
        if (f->j[i].phase == CSL_JOB_PENDING && !f->j[i].held && !f->j[i].waiting &&
            f->now >= f->j[i].begin) /* ineligible jobs are not in the queue */
            q[nq++] = &f->j[i];
    qsort(q, (size_t)nq, sizeof *q, by_priority);
    for (int i = 0; i < nq; i++) {
        fjob *j = q[i];
        int nodes[MAXN];
        uint32_t count = 0;
        const char *p = j->req;
        bool ok = !j->refuse && *p != '\0'; /* the engine always pins */
        while (ok && *p != '\0') {
            size_t len = strcspn(p, ",");
            int k = node_index(f, p, len);
            ok = k >= 0 && f->n[k].state == CSL_NODE_UP &&
                 f->n[k].cpus - f->n[k].used_cpus >= (int64_t)(j->cpus / j->nodes) &&
                 f->n[k].mem - f->n[k].used_mem >= j->mem;
            if (ok)
                nodes[count++] = k;
            p += len;
            if (*p == ',')
                p++;
        }
        if (!ok || count != j->nodes)
            return; /* strict FIFO: nothing behind a blocked job starts */
        run_on(f, j, nodes, count);
    }
}

/* Advance the clock; running jobs past their duration complete. */
static void fake_advance(fake *f, double dt)
{
    f->now += dt;
    for (int i = 0; i < f->nj; i++) {
        fjob *j = &f->j[i];
        if (j->phase == CSL_JOB_RUNNING && f->now >= j->start + j->duration) {
            occupy(f, j, -1);
            j->phase = CSL_JOB_COMPLETED;
        }
    }
}

static csl_snapshot fake_snapshot(fake *f)
{
    for (int i = 0; i < f->nn; i++) {
        f->sn[i].name = f->n[i].name;
        f->sn[i].cpus = f->n[i].cpus;
        f->sn[i].mem_mib = f->n[i].mem;
        f->sn[i].state = f->n[i].state;
        f->sn[i].partitions = "batch";
    }
    /* Hand the jobs over in reverse id order: the engine must sort them. */
    for (int i = 0; i < f->nj; i++) {
        const fjob *j = &f->j[f->nj - 1 - i];
        csl_job *s = &f->sj[i];
        memset(s, 0, sizeof *s);
        s->id = j->id;
        s->phase = j->phase;
        s->held = j->phase == CSL_JOB_PENDING && j->held;
        s->eligible = j->phase == CSL_JOB_PENDING && !j->waiting;
        s->pinned = j->req[0] != '\0';
        s->begin = s->phase == CSL_JOB_PENDING && !s->held ? j->begin : 0;
        s->partition = "batch";
        s->account = j->account;
        s->cpus = j->cpus;
        s->num_nodes = j->nodes;
        s->mem_mib = j->mem;
        s->time_limit = j->limit;
        s->nice = j->nice;
        if (j->phase == CSL_JOB_RUNNING) {
            for (uint32_t k = 0; k < j->nwhere; k++) {
                f->anames[i][k] = f->n[j->where[k]].name;
                f->acpus[i][k] = j->cpus / j->nodes;
            }
            s->num_alloc = j->nwhere;
            s->alloc_nodes = f->anames[i];
            s->alloc_cpus = f->acpus[i];
        }
    }
    csl_snapshot snap = {f->sn, (size_t)f->nn, f->sj, (size_t)f->nj};
    return snap;
}

static csl_cycle_stats cycle(fake *f, csl_engine *e)
{
    csl_snapshot snap = fake_snapshot(f);
    csl_actions act = fake_actions(f);
    csl_cycle_stats st;
    ck_assert_int_eq(csl_engine_cycle(e, &snap, f->now, &act, &st), 0);
    return st;
}

static csl_engine *engine(cs_queue_policy policy, cs_placement placement, cs_head_of_line hol,
                          double pin_timeout)
{
    csl_config cfg;
    csl_config_init(&cfg);
    cfg.policy = policy;
    cfg.placement = placement;
    cfg.head_of_line = hol;
    cfg.pin_timeout = pin_timeout;
    cfg.check = 1; /* cs_sched_check after every cycle: a failure fails the cycle */
    csl_engine *e = NULL;
    ck_assert_int_eq(csl_engine_create(&cfg, &e), 0);
    return e;
}

static void expect(const fake *f, int index, char kind, uint32_t job, const char *nodes)
{
    ck_assert_int_lt(index, f->nlog);
    const action *a = &f->log[index];
    ck_assert_msg(a->kind == kind && a->job == job, "action %d: got %c%u, want %c%u", index,
                  a->kind, a->job, kind, job);
    if (nodes != NULL)
        ck_assert_str_eq(a->nodes, nodes);
}

/* Two nodes of 4 CPUs; FCFS, first fit, strict order. */
static fake *two_nodes(void)
{
    fake *f = calloc(1, sizeof *f);
    add_node(f, "n1", 4, 4000);
    add_node(f, "n2", 4, 4000);
    return f;
}

START_TEST(first_decisions_follow_the_library)
{
    fake *f = two_nodes();
    csl_engine *e = engine(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 60);
    add_job(f, 4, 1, 5, "a", 1);  /* job 1 */
    add_job(f, 2, 1, 9, "a", 1);  /* job 2 */
    add_job(f, 2, 1, 9, "b", 1);  /* job 3 */
    add_job(f, 4, 1, 9, "b", 1);  /* job 4 */
    csl_cycle_stats st = cycle(f, e);
    /* First fit in node order: job 1 fills n1; job 2 -> n2 (2 left); job 3
     * -> n2 (0 left); job 4 needs 4 CPUs: none free, strict order stops. */
    ck_assert_int_eq(f->nlog, 3);
    expect(f, 0, 'R', 1, "n1");
    expect(f, 1, 'R', 2, "n2");
    expect(f, 2, 'R', 3, "n2");
    ck_assert_uint_eq(f->log[0].prio, f->log[1].prio + 1);
    ck_assert_uint_eq(f->log[1].prio, f->log[2].prio + 1);
    ck_assert_uint_eq(st.started, 3);
    ck_assert_uint_eq(st.pending, 1);
    fake_schedule(f);
    ck_assert_int_eq(fjob_get(f, 1)->start_order, 0);
    ck_assert_int_eq(fjob_get(f, 3)->start_order, 2);
    /* Job 1 ends at t = 5: n1 is free, job 4 goes there. */
    fake_advance(f, 5);
    st = cycle(f, e);
    ck_assert_uint_eq(st.ended, 1);
    ck_assert_int_eq(f->nlog, 4);
    expect(f, 3, 'R', 4, "n1");
    ck_assert_uint_lt(f->log[3].prio, f->log[2].prio);
    csl_engine_destroy(e);
    free(f);
}
END_TEST

START_TEST(unheld_jobs_are_held_first)
{
    fake *f = two_nodes();
    csl_engine *e = engine(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 60);
    add_job(f, 4, 1, 5, "a", 1);
    add_job(f, 4, 1, 5, "a", 1);
    add_job(f, 4, 1, 5, "a", 0); /* submitted without --hold */
    cycle(f, e);
    /* Job 3 is held on sight (it did not fit: both nodes taken by 1 and 2). */
    ck_assert_int_eq(f->nlog, 3);
    expect(f, 0, 'H', 3, NULL);
    expect(f, 1, 'R', 1, "n1");
    expect(f, 2, 'R', 2, "n2");
    ck_assert(fjob_get(f, 3)->held);
    csl_engine_destroy(e);
    free(f);
}
END_TEST

START_TEST(jobs_wait_for_their_dependencies)
{
    fake *f = two_nodes();
    csl_engine *e = engine(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 60);
    add_job(f, 4, 1, 5, "a", 1)->waiting = 1;
    add_job(f, 2, 1, 5, "a", 0)->waiting = 1; /* not held: held, then waits */
    csl_cycle_stats st = cycle(f, e);
    /* Both nodes are free, but neither job may start yet. */
    ck_assert_int_eq(f->nlog, 1);
    expect(f, 0, 'H', 2, NULL);
    ck_assert_uint_eq(st.pending, 2);
    fjob_get(f, 1)->waiting = 0;
    fjob_get(f, 2)->waiting = 0;
    fake_advance(f, 1);
    cycle(f, e);
    ck_assert_int_eq(f->nlog, 3);
    expect(f, 1, 'R', 1, "n1");
    expect(f, 2, 'R', 2, "n2");
    csl_engine_destroy(e);
    free(f);
}
END_TEST

START_TEST(cancelled_pending_job_is_dropped)
{
    fake *f = calloc(1, sizeof *f);
    add_node(f, "n1", 4, 4000);
    csl_engine *e = engine(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 60);
    add_job(f, 4, 1, 5, "a", 1);
    add_job(f, 4, 1, 5, "a", 1);
    cycle(f, e);
    fake_schedule(f);
    ck_assert_int_eq(f->nlog, 1);
    fjob_get(f, 2)->phase = CSL_JOB_CANCELLED; /* scancel while pending */
    fake_advance(f, 1);
    cycle(f, e);
    add_job(f, 4, 1, 5, "b", 1); /* job 3 */
    fake_advance(f, 5);          /* job 1 completes */
    cycle(f, e);
    /* Had job 2 stayed queued it would take n1 now (FCFS, strict); it was
     * dropped, so job 3 gets n1 and job 2 is never released. */
    ck_assert_int_eq(f->nlog, 2);
    expect(f, 1, 'R', 3, "n1");
    csl_engine_destroy(e);
    free(f);
}
END_TEST

START_TEST(node_down_before_start_moves_the_job)
{
    fake *f = two_nodes();
    csl_engine *e = engine(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 60);
    add_job(f, 4, 1, 5, "a", 1);
    cycle(f, e);
    expect(f, 0, 'R', 1, "n1");
    f->n[0].state = CSL_NODE_DOWN; /* before the fake started it */
    fake_advance(f, 1);
    cycle(f, e);
    /* The library requeued it; the engine holds and unpins it, then the
     * step places it on n2, the only node up. */
    ck_assert_int_eq(f->nlog, 3);
    expect(f, 1, 'H', 1, NULL);
    expect(f, 2, 'R', 1, "n2");
    fake_schedule(f);
    ck_assert_int_eq(fjob_get(f, 1)->phase, CSL_JOB_RUNNING);
    ck_assert_str_eq(f->n[fjob_get(f, 1)->where[0]].name, "n2");
    csl_engine_destroy(e);
    free(f);
}
END_TEST

START_TEST(requeued_job_waits_for_its_begin_time)
{
    fake *f = two_nodes();
    csl_engine *e = engine(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 60);
    add_job(f, 4, 1, 50, "a", 1);
    cycle(f, e);
    fake_schedule(f);
    fake_advance(f, 1);
    cycle(f, e); /* the engine sees it running on n1 */
    /* Slurm requeues it (node failure elsewhere, preemption by an admin):
     * pending, released, still pinned, not before t = 1 + 10. */
    fjob *j = fjob_get(f, 1);
    occupy(f, j, -1);
    j->phase = CSL_JOB_PENDING;
    j->nwhere = 0;
    j->begin = f->now + 10;
    fake_advance(f, 1); /* t = 2 */
    csl_cycle_stats st = cycle(f, e);
    /* Withdrawn at once (not after the 60 s pin timeout), held, not resubmitted. */
    ck_assert_uint_eq(st.revoked, 1);
    ck_assert_int_eq(f->nlog, 2);
    expect(f, 1, 'H', 1, NULL);
    /* A 4-CPU job arriving meanwhile takes n1: the library does not keep
     * room for a job that cannot start. */
    add_job(f, 4, 1, 5, "b", 1);
    cycle(f, e);
    ck_assert_int_eq(f->nlog, 3);
    expect(f, 2, 'R', 2, "n1");
    fake_schedule(f);
    fake_advance(f, 7); /* t = 9 < 11: still waiting */
    cycle(f, e);
    ck_assert_int_eq(f->nlog, 3);
    fake_advance(f, 2); /* t = 11 */
    cycle(f, e);
    ck_assert_int_eq(f->nlog, 4);
    /* Job 2 ran 5 s from t = 2 and ended at t = 7 (seen at t = 9), so first
     * fit puts job 1 back on n1. */
    expect(f, 3, 'R', 1, "n1");
    csl_engine_destroy(e);
    free(f);
}
END_TEST

START_TEST(preemption_requeues_and_reruns_the_victim)
{
    fake *f = calloc(1, sizeof *f);
    add_node(f, "n1", 4, 4000);
    csl_config cfg;
    csl_config_init(&cfg);
    cfg.policy = CS_QUEUE_PRIORITY;
    cfg.head_of_line = CS_HOL_STRICT;
    cfg.preemption = 1;
    cfg.check = 1;
    csl_engine *e = NULL;
    ck_assert_int_eq(csl_engine_create(&cfg, &e), 0);
    add_job(f, 4, 1, 50, "a", 1); /* job 1, nice 0: priority 0 */
    cycle(f, e);
    fake_schedule(f);
    add_job(f, 4, 1, 5, "b", 1)->nice = -10; /* job 2: priority 10 */
    fake_advance(f, 1);                     /* t = 1 */
    cycle(f, e);
    /* Job 2 outranks job 1 and needs the whole node: requeue 1, start 2. */
    ck_assert_int_eq(f->nlog, 3);
    expect(f, 0, 'R', 1, "n1");
    expect(f, 1, 'Q', 1, NULL);
    expect(f, 2, 'R', 2, "n1");
    fake_schedule(f);
    ck_assert_int_eq(fjob_get(f, 2)->phase, CSL_JOB_RUNNING);
    fake_advance(f, 1); /* t = 2: job 1 pending, not before t = 11 */
    cycle(f, e);
    ck_assert_int_eq(f->nlog, 4);
    expect(f, 3, 'H', 1, NULL);
    fake_advance(f, 5); /* t = 7: job 2 ended at t = 6 */
    cycle(f, e);
    ck_assert_int_eq(f->nlog, 4); /* n1 is free, but job 1 may not start yet */
    fake_advance(f, 4); /* t = 11 */
    cycle(f, e);
    ck_assert_int_eq(f->nlog, 5);
    expect(f, 4, 'R', 1, "n1");
    fake_schedule(f);
    ck_assert_int_eq(fjob_get(f, 1)->phase, CSL_JOB_RUNNING);
    csl_engine_destroy(e);
    free(f);
}
END_TEST

START_TEST(drained_node_takes_nothing_new)
{
    fake *f = two_nodes();
    csl_engine *e = engine(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 60);
    add_job(f, 2, 1, 50, "a", 1);
    cycle(f, e);
    fake_schedule(f);
    expect(f, 0, 'R', 1, "n1");
    f->n[0].state = CSL_NODE_DRAIN;
    add_job(f, 2, 1, 5, "a", 1);
    fake_advance(f, 1);
    cycle(f, e);
    /* n1 has 2 CPUs free but drains: job 2 goes to n2; job 1 keeps running. */
    ck_assert_int_eq(f->nlog, 2);
    expect(f, 1, 'R', 2, "n2");
    ck_assert_int_eq(fjob_get(f, 1)->phase, CSL_JOB_RUNNING);
    csl_engine_destroy(e);
    free(f);
}
END_TEST

START_TEST(stale_pin_times_out)
{
    fake *f = two_nodes();
    csl_engine *e = engine(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 10);
    fjob *j = add_job(f, 4, 1, 5, "a", 1);
    j->refuse = 1; /* Slurm does not start it (e.g. it knows better about n1) */
    cycle(f, e);
    fake_schedule(f);
    fake_advance(f, 5);
    cycle(f, e);
    ck_assert_int_eq(f->nlog, 1); /* 5 s < 10 s: still waiting */
    fake_advance(f, 6);
    csl_cycle_stats st = cycle(f, e);
    /* 11 s > 10 s: withdrawn (hold + unpin), resubmitted and decided again. */
    ck_assert_uint_eq(st.revoked, 1);
    ck_assert_int_eq(f->nlog, 3);
    expect(f, 1, 'H', 1, NULL);
    expect(f, 2, 'R', 1, "n1");
    ck_assert_uint_lt(f->log[2].prio, f->log[0].prio);
    csl_engine_destroy(e);
    free(f);
}
END_TEST

START_TEST(foreign_jobs_take_room)
{
    fake *f = two_nodes();
    csl_engine *e = engine(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 60);
    fjob *other = add_job(f, 3, 1, 5, "x", 0);
    int n1 = 0;
    run_on(f, other, &n1, 1); /* started before the engine, on n1 */
    add_job(f, 2, 1, 9, "a", 1);
    csl_cycle_stats st = cycle(f, e);
    /* n1 has 4 - 3 = 1 CPU free: the 2-CPU job goes to n2. */
    ck_assert_uint_eq(st.foreign, 1);
    ck_assert_int_eq(f->nlog, 1);
    expect(f, 0, 'R', 2, "n2");
    fake_schedule(f);
    fake_advance(f, 5); /* the foreign job ends */
    add_job(f, 4, 1, 5, "a", 1);
    st = cycle(f, e);
    ck_assert_uint_eq(st.foreign, 0);
    expect(f, 1, 'R', 3, "n1");
    csl_engine_destroy(e);
    free(f);
}
END_TEST

START_TEST(job_started_elsewhere_is_mirrored_where_it_runs)
{
    fake *f = two_nodes();
    csl_engine *e = engine(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 60);
    add_job(f, 4, 1, 50, "a", 1);
    cycle(f, e);
    expect(f, 0, 'R', 1, "n1");
    int n2 = 1;
    run_on(f, fjob_get(f, 1), &n2, 1); /* an admin moved it to n2 */
    add_job(f, 4, 1, 5, "a", 1);
    fake_advance(f, 1);
    csl_cycle_stats st = cycle(f, e);
    /* The engine now counts job 1 on n2, so n1 is free for job 2. */
    ck_assert_uint_eq(st.foreign, 1);
    ck_assert_int_eq(f->nlog, 2);
    expect(f, 1, 'R', 2, "n1");
    csl_engine_destroy(e);
    free(f);
}
END_TEST

START_TEST(gang_gets_distinct_nodes)
{
    fake *f = two_nodes();
    csl_engine *e = engine(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 60);
    add_job(f, 4, 2, 5, "a", 1); /* 2 nodes x 2 CPUs */
    cycle(f, e);
    ck_assert_int_eq(f->nlog, 1);
    expect(f, 0, 'R', 1, "n1,n2");
    fake_schedule(f);
    ck_assert_uint_eq(fjob_get(f, 1)->nwhere, 2);
    csl_engine_destroy(e);
    free(f);
}
END_TEST

START_TEST(vanished_jobs_are_forgotten)
{
    fake *f = calloc(1, sizeof *f);
    add_node(f, "n1", 4, 4000);
    csl_engine *e = engine(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 60);
    add_job(f, 4, 1, 50, "a", 1);
    add_job(f, 4, 1, 5, "a", 1);
    cycle(f, e);
    fake_schedule(f);
    /* Both purged from slurmctld's list (e.g. the controller restarted). */
    f->nj = 0;
    fake_advance(f, 1);
    csl_cycle_stats st = cycle(f, e);
    ck_assert_uint_eq(st.pending + st.running + st.foreign, 0);
    ck_assert_uint_eq(csl_engine_held_jobs(e, NULL, 0), 0);
    csl_engine_destroy(e);
    free(f);
}
END_TEST

/* Model check: a random workload through the engine and the fake until
 * everything completes. Because the fake starts released jobs at once and
 * the engine sees every completion before it decides, each release fits, so
 * the fake's start order must equal the release order exactly. */
static void model_check(cs_queue_policy policy, cs_placement placement, uint64_t seed)
{
    fake *f = calloc(1, sizeof *f);
    for (int i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof name, "n%d", i + 1);
        add_node(f, name, 4, 2000);
    }
    csl_engine *e = engine(policy, placement, CS_HOL_BACKFILL, 60);
    test_rng rng;
    test_rng_seed(&rng, seed);
    static const char *accounts[] = {"physics", "biology", "chemistry"};
    int submitted = 0;
    for (int step = 0; step < 400; step++) {
        if (submitted < 60 && test_rng_below(&rng, 2) == 0) {
            for (int k = 0; k < 3 && submitted < 60; k++, submitted++) {
                uint32_t nodes = test_rng_below(&rng, 8) == 0 ? 2 : 1;
                uint32_t cpus = nodes * (1 + (uint32_t)test_rng_below(&rng, 4));
                fjob *j = add_job(f, cpus, nodes, 1 + (double)test_rng_below(&rng, 8),
                                  accounts[test_rng_below(&rng, 3)],
                                  test_rng_below(&rng, 4) != 0);
                j->limit = 60 * (1 + (double)test_rng_below(&rng, 5));
            }
        }
        cycle(f, e);
        fake_schedule(f);
        fake_advance(f, 1);
    }
    /* Every job completed, on the nodes of its last release. */
    int last_release[MAXJ + 1];
    for (int i = 0; i <= MAXJ; i++)
        last_release[i] = -1;
    for (int a = 0; a < f->nlog; a++)
        if (f->log[a].kind == 'R')
            last_release[f->log[a].job] = a;
    ck_assert_int_eq(f->nj, 60);
    for (int i = 0; i < f->nj; i++) {
        fjob *j = &f->j[i];
        ck_assert_msg(j->phase == CSL_JOB_COMPLETED, "job %u phase %d", j->id, j->phase);
        int a = last_release[j->id];
        ck_assert_int_ge(a, 0);
        char where[64] = "";
        for (uint32_t k = 0; k < j->nwhere; k++)
            snprintf(where + strlen(where), sizeof where - strlen(where), "%s%s", k ? "," : "",
                     f->n[j->where[k]].name);
        ck_assert_str_eq(where, f->log[a].nodes);
    }
    /* Starts happen in release order: the k-th release is the k-th start. */
    int k = 0;
    for (int a = 0; a < f->nlog; a++) {
        ck_assert_int_ne(f->log[a].kind, 'Q'); /* no preemption configured */
        if (f->log[a].kind != 'R')
            continue;
        ck_assert_int_eq(fjob_get(f, f->log[a].job)->start_order, k);
        k++;
    }
    ck_assert_int_eq(k, 60); /* no decision was withdrawn */
    csl_engine_destroy(e);
    free(f);
}

START_TEST(model_fairshare_best_fit)
{
    model_check(CS_QUEUE_FAIRSHARE, CS_PLACE_BEST_FIT, 11);
}
END_TEST

START_TEST(model_sjf_worst_fit)
{
    model_check(CS_QUEUE_SJF, CS_PLACE_WORST_FIT, 12);
}
END_TEST

START_TEST(model_fcfs_first_fit)
{
    model_check(CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, 13);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("slurm_engine");
    TCase *tc = tcase_create("engine");
    tcase_add_test(tc, first_decisions_follow_the_library);
    tcase_add_test(tc, unheld_jobs_are_held_first);
    tcase_add_test(tc, jobs_wait_for_their_dependencies);
    tcase_add_test(tc, cancelled_pending_job_is_dropped);
    tcase_add_test(tc, node_down_before_start_moves_the_job);
    tcase_add_test(tc, requeued_job_waits_for_its_begin_time);
    tcase_add_test(tc, preemption_requeues_and_reruns_the_victim);
    tcase_add_test(tc, drained_node_takes_nothing_new);
    tcase_add_test(tc, stale_pin_times_out);
    tcase_add_test(tc, foreign_jobs_take_room);
    tcase_add_test(tc, job_started_elsewhere_is_mirrored_where_it_runs);
    tcase_add_test(tc, gang_gets_distinct_nodes);
    tcase_add_test(tc, vanished_jobs_are_forgotten);
    tcase_add_test(tc, model_fairshare_best_fit);
    tcase_add_test(tc, model_sjf_worst_fit);
    tcase_add_test(tc, model_fcfs_first_fit);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
