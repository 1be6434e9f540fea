/* The scheduler loop: hand-computed schedules for each head-of-line rule,
 * queue policy and placement strategy, gangs, preemption, node failures;
 * a randomised run with the invariant checker after every operation;
 * determinism; strong guarantee under allocation failure. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudsched/cloudsched.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

typedef struct world {
    cs_pool *pool;
    cs_sched *sched;
    size_t p;
    cs_decision dec[256];
    size_t ndec;
} world;

static void world_init(world *w, size_t p, const cs_sched_options *o)
{
    memset(w, 0, sizeof *w);
    w->p = p;
    ck_assert_int_eq(cs_pool_create(p, NULL, NULL, NULL, &w->pool), CS_OK);
    ck_assert_int_eq(cs_sched_create(w->pool, o, NULL, &w->sched), CS_OK);
}

static void world_free(world *w)
{
    ck_assert_int_eq(cs_sched_check(w->sched), CS_OK);
    cs_sched_destroy(w->sched);
    cs_pool_destroy(w->pool);
}

static void node(world *w, uint64_t id, const int64_t *cap, uint32_t zone, uint32_t rack)
{
    cs_node_spec ns;
    cs_node_spec_init(&ns, sizeof ns);
    ns.capacity = cap;
    ns.num_resources = w->p;
    ns.zone = zone;
    ns.rack = rack;
    ck_assert_int_eq(cs_pool_add_node(w->pool, id, &ns, NULL), CS_OK);
}

static void node1(world *w, uint64_t id, int64_t cpu)
{
    int64_t cap[1] = {cpu};
    node(w, id, cap, 0, 0);
}

static cs_task_spec task(uint64_t id, const int64_t *demand, size_t p, double est)
{
    cs_task_spec t;
    cs_task_spec_init(&t, sizeof t);
    t.id = id;
    t.demand = demand;
    t.num_resources = p;
    t.runtime_estimate = est;
    return t;
}

/* Submit a one-resource task. */
static void sub1(world *w, uint64_t id, int64_t cpu, double est, double now)
{
    int64_t d[1] = {cpu};
    cs_task_spec t = task(id, d, 1, est);
    ck_assert_int_eq(cs_sched_submit(w->sched, &t, now), CS_OK);
}

static void step(world *w, double now)
{
    ck_assert_int_eq(cs_sched_step(w->sched, now, w->dec, 256, &w->ndec), CS_OK);
    ck_assert_int_eq(cs_sched_check(w->sched), CS_OK);
}

/* Decision i starts task `id` for `reason`. */
static void expect_start(const world *w, size_t i, uint64_t id, cs_decision_reason reason)
{
    ck_assert_uint_gt(w->ndec, i);
    ck_assert_int_eq(w->dec[i].kind, CS_DECISION_START);
    ck_assert_uint_eq(w->dec[i].task, id);
    ck_assert_int_eq(w->dec[i].reason, reason);
}

static cs_task_state state_of(const world *w, uint64_t id)
{
    cs_task_info info = {.size = sizeof info};
    ck_assert_int_eq(cs_sched_task_info(w->sched, id, &info), CS_OK);
    return info.state;
}

static uint64_t node_of(const world *w, uint64_t id)
{
    uint64_t nodes[16];
    size_t n;
    ck_assert_int_eq(cs_sched_task_placement(w->sched, id, nodes, NULL, 16, &n), CS_OK);
    ck_assert_uint_ge(n, 1);
    return nodes[0];
}

static cs_sched_options opts(cs_queue_policy policy, cs_head_of_line hol)
{
    cs_sched_options o;
    cs_sched_options_init(&o, sizeof o);
    o.policy = policy;
    o.head_of_line = hol;
    return o;
}

/* ---- head of line: strict, skip, EASY ------------------------------- */

/* One node with 4 cpus. A(2 cpu, est 10) at t=0, B(3, est 5) at t=1,
 * D(2, est 20) at t=2, C(2, est 5) at t=3; first step at t=3. */
static void submit_abdc(world *w)
{
    node1(w, 1, 4);
    sub1(w, 'A', 2, 10, 0);
    sub1(w, 'B', 3, 5, 1);
    sub1(w, 'D', 2, 20, 2);
    sub1(w, 'C', 2, 5, 3);
}

START_TEST(strict_fcfs_blocks)
{
    /* A starts (2 of 4 left); B needs 3: strict order stops there. */
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_STRICT);
    world w;
    world_init(&w, 1, &o);
    submit_abdc(&w);
    step(&w, 3);
    ck_assert_uint_eq(w.ndec, 1);
    expect_start(&w, 0, 'A', CS_REASON_IN_ORDER);
    ck_assert_int_eq(state_of(&w, 'C'), CS_TASK_PENDING);
    /* A ends at 13: B starts (1 left); D needs 2: blocked again. */
    ck_assert_int_eq(cs_sched_complete(w.sched, 'A', 13), CS_OK);
    step(&w, 13);
    ck_assert_uint_eq(w.ndec, 1);
    expect_start(&w, 0, 'B', CS_REASON_IN_ORDER);
    world_free(&w);
}
END_TEST

START_TEST(skip_ahead_takes_free_space)
{
    /* A starts (2 left); B blocked; D (2) fits and skips ahead (0 left); C blocked. */
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_SKIP);
    world w;
    world_init(&w, 1, &o);
    submit_abdc(&w);
    step(&w, 3);
    ck_assert_uint_eq(w.ndec, 2);
    expect_start(&w, 0, 'A', CS_REASON_IN_ORDER);
    expect_start(&w, 1, 'D', CS_REASON_SKIP_AHEAD);
    world_free(&w);
}
END_TEST

START_TEST(easy_backfill_only_when_reservation_safe)
{
    /* t=3: A starts, expected end 3 + 10 = 13. B (3 cpu) is blocked: its
     * reservation is at 13, when A's 2 cpus return (free 2 + 2 = 4 >= 3),
     * for [13, 18). D (2 cpu, est 20) would run [3, 23): at 13 the node
     * would have 2 + 2 - 3 (B) = 1 free, less than D's 2: D would delay B,
     * so it waits. C (2 cpu, est 5) runs [3, 8), over before 13: it
     * backfills. */
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_BACKFILL);
    world w;
    world_init(&w, 1, &o);
    submit_abdc(&w);
    step(&w, 3);
    ck_assert_uint_eq(w.ndec, 2);
    expect_start(&w, 0, 'A', CS_REASON_IN_ORDER);
    expect_start(&w, 1, 'C', CS_REASON_BACKFILL);
    ck_assert_int_eq(state_of(&w, 'D'), CS_TASK_PENDING);
    /* t=8: C done. D still would delay B (same arithmetic): nothing starts. */
    ck_assert_int_eq(cs_sched_complete(w.sched, 'C', 8), CS_OK);
    step(&w, 8);
    ck_assert_uint_eq(w.ndec, 0);
    /* t=13: A done: B starts (1 left), D blocked. */
    ck_assert_int_eq(cs_sched_complete(w.sched, 'A', 13), CS_OK);
    step(&w, 13);
    ck_assert_uint_eq(w.ndec, 1);
    expect_start(&w, 0, 'B', CS_REASON_IN_ORDER);
    world_free(&w);
}
END_TEST

START_TEST(backfill_without_estimate_never_delays)
{
    /* A task with no estimate is taken to run forever: it may backfill only
     * where it never touches reserved capacity. Node 4 cpus: A (3, est 10)
     * runs; B (4) reserved at 10 for [10, 15). X (1 cpu, no estimate) would
     * hold 1 cpu past 10, leaving 3 < 4 for B: it waits. */
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_BACKFILL);
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 4);
    sub1(&w, 'A', 3, 10, 0);
    sub1(&w, 'B', 4, 5, 0);
    sub1(&w, 'X', 1, 0, 0);
    step(&w, 0);
    ck_assert_uint_eq(w.ndec, 1);
    expect_start(&w, 0, 'A', CS_REASON_IN_ORDER);
    ck_assert_int_eq(state_of(&w, 'X'), CS_TASK_PENDING);
    world_free(&w);
}
END_TEST

START_TEST(easy_reservation_passes_to_next_blocked)
{
    /* One node of 4 cpus; R (4 cpu, est 10) runs from 0. Pending: B1 (2 cpu,
     * est 10), B2 (4 cpu, est 10), then S (2 cpu, est 30).
     * t=3: nothing fits; B1 is reserved [10, 20) (EASY: B2 gets none).
     * t=10, R done: B1 starts in order (2 left). B2 is now the first blocked
     * task: reserved at 20 (B1's end) for [20, 30). S would hold 2 cpus
     * through 40: at 20 the node would have 2 + 2 (B1) - 4 (B2) - 2 = -2:
     * it would delay B2, so it waits. */
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_BACKFILL);
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 4);
    sub1(&w, 'R', 4, 10, 0);
    step(&w, 0);
    expect_start(&w, 0, 'R', CS_REASON_IN_ORDER);
    sub1(&w, '1', 2, 10, 1);
    sub1(&w, '2', 4, 10, 2);
    sub1(&w, 'S', 2, 30, 3);
    step(&w, 3);
    ck_assert_uint_eq(w.ndec, 0);
    ck_assert_int_eq(cs_sched_complete(w.sched, 'R', 10), CS_OK);
    step(&w, 10);
    ck_assert_uint_eq(w.ndec, 1);
    expect_start(&w, 0, '1', CS_REASON_IN_ORDER);
    ck_assert_int_eq(state_of(&w, 'S'), CS_TASK_PENDING);
    world_free(&w);
}
END_TEST

START_TEST(reservation_depth_two)
{
    /* Where depth 1 (EASY) and depth 2 differ. Nodes n1, n2 of 4 cpus.
     * Running: R (4 cpu, est 10) on n1, r (2 cpu, est 15) on n2.
     * Pending at t=1 in order: B1 (4 cpu, est 10), B2 (4 cpu, est 30),
     * T (2 cpu, est 50).
     *   B1: earliest n1 at 10 (n2 holds 4 only at 15): reserved [10, 20) on n1.
     *   B2 (depth 2 only): n1 is reserved [10, 20); n2 frees 4 at 15:
     *       reserved [15, 45) on n2.
     *   T on n2 (2 free now) for [1, 51):
     *     depth 1: n2 has no reservation: T backfills.
     *     depth 2: at 15 n2 would have 2 + 2 (r) - 4 (B2) - 2 (T) < 0: waits. */
    for (int depth = 1; depth <= 2; depth++) {
        cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_BACKFILL);
        o.backfill_depth = (uint32_t)depth;
        world w;
        world_init(&w, 1, &o);
        node1(&w, 1, 4);
        node1(&w, 2, 4);
        sub1(&w, 'R', 4, 10, 0); /* first fit: n1 */
        sub1(&w, 'r', 2, 15, 0); /* n2 */
        step(&w, 0);
        ck_assert_uint_eq(w.ndec, 2);
        ck_assert_uint_eq(node_of(&w, 'R'), 1);
        ck_assert_uint_eq(node_of(&w, 'r'), 2);
        sub1(&w, '1', 4, 10, 1);
        sub1(&w, '2', 4, 30, 1);
        sub1(&w, 'T', 2, 50, 1);
        step(&w, 1);
        if (depth == 1) {
            ck_assert_uint_eq(w.ndec, 1);
            expect_start(&w, 0, 'T', CS_REASON_BACKFILL);
        } else {
            ck_assert_uint_eq(w.ndec, 0);
        }
        world_free(&w);
    }
}
END_TEST

START_TEST(overrun_does_not_corrupt_reservations)
{
    /* A (4 cpu, est 10) overruns: at t=12 it has run 12 > 10. Its end is
     * then taken as 12 + 12 = 24. B (4) is reserved at 24; C (2, est 5) must
     * not start (0 free now anyway), and at t=12 nothing is wrong. When A
     * completes at 20, B starts. */
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_BACKFILL);
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 4);
    sub1(&w, 'A', 4, 10, 0);
    step(&w, 0);
    sub1(&w, 'B', 4, 10, 1);
    sub1(&w, 'C', 2, 5, 1);
    step(&w, 12);
    ck_assert_uint_eq(w.ndec, 0);
    ck_assert_int_eq(cs_sched_complete(w.sched, 'A', 20), CS_OK);
    step(&w, 20);
    ck_assert_uint_eq(w.ndec, 1);
    expect_start(&w, 0, 'B', CS_REASON_IN_ORDER);
    world_free(&w);
}
END_TEST

/* ---- queue policies through the scheduler --------------------------- */

/* Each task needs the whole node: they run one after another, and the
 * order of starts is the policy's order at each completion time. */
static void run_serial(world *w, const uint64_t *expect, size_t n, double t0)
{
    double now = t0;
    for (size_t i = 0; i < n; i++) {
        step(w, now);
        ck_assert_uint_eq(w->ndec, 1);
        ck_assert_uint_eq(w->dec[0].task, expect[i]);
        cs_task_info info = {.size = sizeof info};
        cs_sched_task_info(w->sched, expect[i], &info);
        now += info.estimate; /* runs exactly its estimate */
        ck_assert_int_eq(cs_sched_complete(w->sched, expect[i], now), CS_OK);
    }
}

START_TEST(sjf_order)
{
    /* Estimates X 30, Y 10, Z 20, all at t=0: SJF runs Y, Z, X. */
    cs_sched_options o = opts(CS_QUEUE_SJF, CS_HOL_STRICT);
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 1);
    sub1(&w, 'X', 1, 30, 0);
    sub1(&w, 'Y', 1, 10, 0);
    sub1(&w, 'Z', 1, 20, 0);
    uint64_t expect[3] = {'Y', 'Z', 'X'};
    run_serial(&w, expect, 3, 0);
    world_free(&w);
}
END_TEST

START_TEST(hrrn_order)
{
    /* One cpu. P (est 10) at 0 runs first (alone). Then waiting:
     *   Q: arrival 1, s = 20;  R: arrival 2, s = 2;  S: arrival 8, s = 4.
     * At t = 10 (P done): ratios (w + s) / s:
     *   Q: (9 + 20) / 20 = 1.45;  R: (8 + 2) / 2 = 5;  S: (2 + 4) / 4 = 1.5
     *   -> R, runs [10, 12).
     * At t = 12: Q: (11 + 20) / 20 = 1.55;  S: (4 + 4) / 4 = 2 -> S [12, 16).
     * Then Q. FCFS would run Q, R, S; SJF R, S, Q as well here, so also
     * check a case where HRRN differs from SJF: at t=16 only Q is left. */
    cs_sched_options o = opts(CS_QUEUE_HRRN, CS_HOL_STRICT);
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 1);
    sub1(&w, 'P', 1, 10, 0);
    step(&w, 0);
    expect_start(&w, 0, 'P', CS_REASON_IN_ORDER);
    sub1(&w, 'Q', 1, 20, 1);
    sub1(&w, 'R', 1, 2, 2);
    sub1(&w, 'S', 1, 4, 8);
    ck_assert_int_eq(cs_sched_complete(w.sched, 'P', 10), CS_OK);
    uint64_t expect[3] = {'R', 'S', 'Q'};
    run_serial(&w, expect, 3, 10);
    world_free(&w);
}
END_TEST

START_TEST(hrrn_differs_from_sjf)
{
    /* One cpu, L (est 100) at 0 runs alone until 100. Waiting:
     *   A: arrival 1, s = 50;  B: arrival 90, s = 10.
     * At t = 100: A: (99 + 50) / 50 = 2.98;  B: (10 + 10) / 10 = 2 -> A
     * first, although SJF would pick B. */
    cs_sched_options o = opts(CS_QUEUE_HRRN, CS_HOL_STRICT);
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 1);
    sub1(&w, 'L', 1, 100, 0);
    step(&w, 0);
    sub1(&w, 'A', 1, 50, 1);
    sub1(&w, 'B', 1, 10, 90);
    ck_assert_int_eq(cs_sched_complete(w.sched, 'L', 100), CS_OK);
    uint64_t expect[2] = {'A', 'B'};
    run_serial(&w, expect, 2, 100);
    world_free(&w);
}
END_TEST

START_TEST(priority_order_with_requeue)
{
    /* Priorities: lo 1, mid 5, hi 9 (ties by arrival): hi, mid, lo. */
    cs_sched_options o = opts(CS_QUEUE_PRIORITY, CS_HOL_STRICT);
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 1);
    int64_t d[1] = {1};
    uint64_t ids[3] = {'l', 'm', 'h'};
    int64_t prio[3] = {1, 5, 9};
    for (int i = 0; i < 3; i++) {
        cs_task_spec t = task(ids[i], d, 1, 10);
        t.priority = prio[i];
        ck_assert_int_eq(cs_sched_submit(w.sched, &t, i), CS_OK);
    }
    uint64_t expect[3] = {'h', 'm', 'l'};
    run_serial(&w, expect, 3, 3);
    world_free(&w);
}
END_TEST

START_TEST(drf_paper_example)
{
    /* Ghodsi et al. (NSDI 2011): 9 CPUs, 18 GB; tenant A tasks <1 CPU, 4 GB>,
     * tenant B tasks <3 CPU, 1 GB>. DRF gives A 3 tasks and B 2 tasks:
     * dominant shares A 12/18 = 2/3 (memory), B 6/9 = 2/3 (cpu). Progression
     * (lowest weighted dominant share first, ties to the lower tenant id):
     * A(0) -> A 2/9; B(0) -> B 1/3; A(2/9) -> 4/9; B(1/3) -> 2/3;
     * A(4/9) -> 2/3; A(2/3 = B, lower id) needs 1 CPU: 9 used: blocked;
     * B needs 3: blocked. */
    cs_sched_options o = opts(CS_QUEUE_DRF, CS_HOL_SKIP);
    world w;
    world_init(&w, 2, &o);
    int64_t cap[2] = {9, 18};
    node(&w, 1, cap, 0, 0);
    int64_t da[2] = {1, 4}, db[2] = {3, 1};
    for (uint64_t i = 0; i < 6; i++) {
        cs_task_spec t = task(100 + i, da, 2, 10);
        t.tenant = 1;
        ck_assert_int_eq(cs_sched_submit(w.sched, &t, 0), CS_OK);
        t = task(200 + i, db, 2, 10);
        t.tenant = 2;
        ck_assert_int_eq(cs_sched_submit(w.sched, &t, 0), CS_OK);
    }
    step(&w, 0);
    ck_assert_uint_eq(w.ndec, 5);
    uint64_t expect[5] = {100, 200, 101, 201, 102};
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(w.dec[i].task, expect[i]);
    double share;
    ck_assert_int_eq(cs_sched_tenant_usage(w.sched, 1, 0, NULL, &share), CS_OK);
    ck_assert_double_eq_tol(share, 2.0 / 3.0, 1e-15);
    ck_assert_int_eq(cs_sched_tenant_usage(w.sched, 2, 0, NULL, &share), CS_OK);
    ck_assert_double_eq_tol(share, 2.0 / 3.0, 1e-15);
    world_free(&w);
}
END_TEST

START_TEST(fairshare_prefers_light_tenant)
{
    /* Tenant 1 used the whole 1-cpu node for 100 s; tenant 2 nothing. Both
     * then submit; fair share serves tenant 2 first although tenant 1's
     * task arrived earlier. Usage charged: 100 s x (1 cpu / 1 cpu) / 1 = 100. */
    cs_sched_options o = opts(CS_QUEUE_FAIRSHARE, CS_HOL_STRICT);
    o.fair_half_life = 0; /* no decay: exact usage */
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 1);
    int64_t d[1] = {1};
    cs_task_spec t = task(1, d, 1, 100);
    t.tenant = 1;
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 0), CS_OK);
    step(&w, 0);
    ck_assert_int_eq(cs_sched_complete(w.sched, 1, 100), CS_OK);
    double usage;
    ck_assert_int_eq(cs_sched_tenant_usage(w.sched, 1, 100, &usage, NULL), CS_OK);
    ck_assert_double_eq_tol(usage, 100.0, 1e-12);
    t = task(2, d, 1, 10);
    t.tenant = 1;
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 101), CS_OK);
    t = task(3, d, 1, 10);
    t.tenant = 2;
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 102), CS_OK);
    step(&w, 102);
    ck_assert_uint_eq(w.ndec, 1);
    ck_assert_uint_eq(w.dec[0].task, 3);
    world_free(&w);
}
END_TEST

/* ---- placement strategies ----------------------------------------------- */

/* Three nodes, 2 resources (cpu, mem), with existing load:
 *   node 1: cap (8, 32), used (6, 8)  -> free (2, 24)
 *   node 2: cap (8, 32), used (2, 24) -> free (6, 8)
 *   node 3: cap (16, 16), used (4, 4) -> free (12, 12), unit cost (1, 0)
 *   nodes 1, 2 cost (2, 0); zone: node 3 in zone 7, others zone 0.
 * New task: (2, 8).
 * After placement f = (used + d) / cap:
 *   node 1: (8/8, 16/32) = (1, .5);   node 2: (4/8, 32/32) = (.5, 1);
 *   node 3: (6/16, 12/16) = (.375, .75).
 * LeastAllocated = 100 mean(1 - f): n1 25, n2 25, n3 43.75 -> node 3.
 * MostAllocated = 100 mean(f): n1 75, n2 75, n3 56.25 -> tie n1/n2 -> node 1.
 * Balanced = 100 (1 - std(f)): std n1 = .25, n2 = .25, n3 = .1875 -> node 3.
 * DotProduct = 100 mean((d/c) (free/c)):
 *   n1: (2/8)(2/8) + (8/32)(24/32) = .0625 + .1875 = .25 -> 12.5
 *   n2: (2/8)(6/8) + (8/32)(8/32) = .1875 + .0625 = .25 -> 12.5
 *   n3: (2/16)(12/16) + (8/16)(12/16) = .09375 + .375 = .46875 -> 23.4375
 *   -> node 3.
 * Cheapest: cost n1 = n2 = 2*2 = 4, n3 = 1*2 = 2 -> node 3.
 * Locality with preferred node 2 -> node 2; preferred zone 7 -> node 3.
 * Best fit (pool norm S = free_cpu/16 + free_mem/32):
 *   n1: 2/16 + 24/32 = .875;  n2: 6/16 + 8/32 = .625;  n3: 12/16 + 12/32 = 1.125
 *   -> best = node 2 (least free), worst = node 3. First fit: node 1. */
static void strategy_world(world *w, cs_placement pl)
{
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_SKIP);
    o.placement = pl;
    world_init(w, 2, &o);
    int64_t c12[2] = {8, 32}, c3[2] = {16, 16};
    double cost12[2] = {2, 0}, cost3[2] = {1, 0};
    cs_node_spec ns;
    cs_node_spec_init(&ns, sizeof ns);
    ns.num_resources = 2;
    ns.capacity = c12;
    ns.unit_cost = cost12;
    ck_assert_int_eq(cs_pool_add_node(w->pool, 1, &ns, NULL), CS_OK);
    ck_assert_int_eq(cs_pool_add_node(w->pool, 2, &ns, NULL), CS_OK);
    ns.capacity = c3;
    ns.unit_cost = cost3;
    ns.zone = 7;
    ck_assert_int_eq(cs_pool_add_node(w->pool, 3, &ns, NULL), CS_OK);
    /* Existing load, placed directly in the pool (not the scheduler's). */
    int64_t l1[2] = {6, 8}, l2[2] = {2, 24}, l3[2] = {4, 4};
    uint64_t a;
    ck_assert_int_eq(cs_pool_allocate(w->pool, 1, l1, 0, &a), CS_OK);
    ck_assert_int_eq(cs_pool_allocate(w->pool, 2, l2, 0, &a), CS_OK);
    ck_assert_int_eq(cs_pool_allocate(w->pool, 3, l3, 0, &a), CS_OK);
}

static uint64_t place_one(cs_placement pl, const uint64_t *pref_node, const uint32_t *pref_zone)
{
    world w;
    strategy_world(&w, pl);
    int64_t d[2] = {2, 8};
    cs_task_spec t = task(1, d, 2, 10);
    if (pref_node) {
        t.preferred_nodes = pref_node;
        t.num_preferred_nodes = 1;
    }
    if (pref_zone) {
        t.preferred_zones = pref_zone;
        t.num_preferred_zones = 1;
    }
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 0), CS_OK);
    step(&w, 0);
    ck_assert_uint_eq(w.ndec, 1);
    uint64_t n = w.dec[0].node;
    world_free(&w);
    return n;
}

START_TEST(placement_strategies_by_hand)
{
    ck_assert_uint_eq(place_one(CS_PLACE_FIRST_FIT, NULL, NULL), 1);
    ck_assert_uint_eq(place_one(CS_PLACE_BEST_FIT, NULL, NULL), 2);
    ck_assert_uint_eq(place_one(CS_PLACE_WORST_FIT, NULL, NULL), 3);
    ck_assert_uint_eq(place_one(CS_PLACE_LEAST_ALLOCATED, NULL, NULL), 3);
    ck_assert_uint_eq(place_one(CS_PLACE_MOST_ALLOCATED, NULL, NULL), 1);
    ck_assert_uint_eq(place_one(CS_PLACE_BALANCED, NULL, NULL), 3);
    ck_assert_uint_eq(place_one(CS_PLACE_DOT_PRODUCT, NULL, NULL), 3);
    ck_assert_uint_eq(place_one(CS_PLACE_CHEAPEST, NULL, NULL), 3);
    uint64_t two = 2;
    uint32_t seven = 7;
    ck_assert_uint_eq(place_one(CS_PLACE_LOCALITY, &two, NULL), 2);
    ck_assert_uint_eq(place_one(CS_PLACE_LOCALITY, NULL, &seven), 3);
    /* No preference: locality falls back to LeastAllocated: node 3. */
    ck_assert_uint_eq(place_one(CS_PLACE_LOCALITY, NULL, NULL), 3);
    /* A preferred node's bonus (100) beats MostAllocated's margin. */
    ck_assert_uint_eq(place_one(CS_PLACE_MOST_ALLOCATED, &two, NULL), 2);
}
END_TEST

/* ---- gangs ------------------------------------------------------------ */

START_TEST(gang_all_or_nothing)
{
    /* Two nodes of 2 gpus, 1 used on node 2. Gang of 4 x 1 gpu needs 4,
     * only 3 free: nothing is allocated. A gang of 3 fits: first fit puts 2
     * on node 1 and 1 on node 2. */
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_SKIP);
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 2);
    node1(&w, 2, 2);
    uint64_t a;
    int64_t one[1] = {1};
    ck_assert_int_eq(cs_pool_allocate(w.pool, 2, one, 0, &a), CS_OK);
    cs_task_spec t = task(10, one, 1, 10);
    t.count = 4;
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 0), CS_OK);
    step(&w, 0);
    ck_assert_uint_eq(w.ndec, 0);
    ck_assert_uint_eq(cs_pool_num_allocations(w.pool), 1);
    t.id = 11;
    t.count = 3;
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 0), CS_OK);
    step(&w, 0);
    ck_assert_uint_eq(w.ndec, 1);
    ck_assert_uint_eq(w.dec[0].replicas, 3);
    uint64_t nodes[3];
    size_t n;
    ck_assert_int_eq(cs_sched_task_placement(w.sched, 11, nodes, NULL, 3, &n), CS_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(nodes[0], 1);
    ck_assert_uint_eq(nodes[1], 1);
    ck_assert_uint_eq(nodes[2], 2);
    ck_assert_int_eq(cs_sched_task_placement(w.sched, 11, nodes, NULL, 2, &n),
                     CS_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(cs_sched_task_placement(w.sched, 10, nodes, NULL, 3, &n), CS_ERR_STATE);
    world_free(&w);
}
END_TEST

START_TEST(gang_spread_and_elastic)
{
    /* Spread: one replica per node. Three nodes of 4 cpus; gang of 4 x 1 cpu
     * spread cannot start (3 nodes); of 3 starts on 1, 2, 3. Elastic: count
     * 4, elastic_min 2 -> starts with 3 (one per node). */
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_SKIP);
    world w;
    world_init(&w, 1, &o);
    for (uint64_t i = 1; i <= 3; i++)
        node1(&w, i, 4);
    int64_t one[1] = {1};
    cs_task_spec t = task(1, one, 1, 10);
    t.count = 4;
    t.topology = CS_TOPOLOGY_SPREAD;
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 0), CS_OK);
    step(&w, 0);
    ck_assert_uint_eq(w.ndec, 0);
    ck_assert_int_eq(cs_sched_cancel(w.sched, 1, 0), CS_OK);
    t.id = 2;
    t.elastic_min = 2;
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 0), CS_OK);
    step(&w, 0);
    ck_assert_uint_eq(w.ndec, 1);
    ck_assert_uint_eq(w.dec[0].replicas, 3);
    uint64_t nodes[4];
    size_t n;
    ck_assert_int_eq(cs_sched_task_placement(w.sched, 2, nodes, NULL, 4, &n), CS_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert(nodes[0] != nodes[1] && nodes[1] != nodes[2] && nodes[0] != nodes[2]);
    world_free(&w);
}
END_TEST

START_TEST(gang_pack_into_one_rack)
{
    /* Rack 1: nodes 1, 2 with 2 gpus each; rack 2: nodes 3, 4, 5 with 2
     * gpus each. Worst fit alone would spread; PACK puts a gang of 4 in one
     * rack: rack 1 holds exactly 4 (0 left over) vs rack 2 holds 6 (2 left):
     * rack 1 -> nodes 1, 2. A gang of 6 fits only in rack 2. A gang of 8
     * fits in no rack but in zone 0 (all 10). */
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_SKIP);
    o.placement = CS_PLACE_WORST_FIT;
    world w;
    world_init(&w, 1, &o);
    int64_t two[1] = {2};
    node(&w, 1, two, 0, 1);
    node(&w, 2, two, 0, 1);
    node(&w, 3, two, 0, 2);
    node(&w, 4, two, 0, 2);
    node(&w, 5, two, 0, 2);
    int64_t one[1] = {1};
    cs_task_spec t = task(1, one, 1, 10);
    t.count = 4;
    t.topology = CS_TOPOLOGY_PACK;
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 0), CS_OK);
    step(&w, 0);
    ck_assert_uint_eq(w.ndec, 1);
    uint64_t nodes[8];
    size_t n;
    ck_assert_int_eq(cs_sched_task_placement(w.sched, 1, nodes, NULL, 8, &n), CS_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert(nodes[i] == 1 || nodes[i] == 2);
    ck_assert_int_eq(cs_sched_complete(w.sched, 1, 1), CS_OK);
    t.id = 2;
    t.count = 6;
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 1), CS_OK);
    step(&w, 1);
    ck_assert_int_eq(cs_sched_task_placement(w.sched, 2, nodes, NULL, 8, &n), CS_OK);
    ck_assert_uint_eq(n, 6);
    for (size_t i = 0; i < n; i++)
        ck_assert(nodes[i] >= 3);
    world_free(&w);
}
END_TEST

/* ---- preemption --------------------------------------------------------- */

static void sub_prio(world *w, uint64_t id, int64_t cpu, int64_t prio, double now)
{
    int64_t d[1] = {cpu};
    cs_task_spec t = task(id, d, 1, 100);
    t.priority = prio;
    ck_assert_int_eq(cs_sched_submit(w->sched, &t, now), CS_OK);
}

START_TEST(preemption_minimal_victims)
{
    /* Node 1 (4 cpu): a (prio 1, 2 cpu, started 0), b (prio 2, 2 cpu, started 1).
     * Node 2 (4 cpu): c (prio 1, 1 cpu, started 2), d (prio 1, 3 cpu, started 3).
     * H (prio 5, 3 cpu) arrives at 10:
     *   node 1: victims by (prio, most recent): a, then b: a frees 2 < 3, b
     *     too -> 4: {a, b}; pruning keeps both: 2 victims.
     *   node 2: c (started 2) and d (started 3) both prio 1: most recent
     *     first: d frees 3 >= 3: {d}: 1 victim.
     * -> preempt d on node 2, start H there. d goes back to the queue. */
    cs_sched_options o = opts(CS_QUEUE_PRIORITY, CS_HOL_SKIP);
    o.preemption = 1;
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 4);
    node1(&w, 2, 4);
    sub_prio(&w, 'a', 2, 1, 0);
    step(&w, 0);
    sub_prio(&w, 'b', 2, 2, 1);
    step(&w, 1);
    ck_assert_uint_eq(node_of(&w, 'b'), 1);
    sub_prio(&w, 'c', 1, 1, 2);
    step(&w, 2);
    sub_prio(&w, 'd', 3, 1, 3);
    step(&w, 3);
    ck_assert_uint_eq(node_of(&w, 'c'), 2);
    ck_assert_uint_eq(node_of(&w, 'd'), 2);
    sub_prio(&w, 'H', 3, 5, 10);
    step(&w, 10);
    ck_assert_uint_eq(w.ndec, 2);
    ck_assert_int_eq(w.dec[0].kind, CS_DECISION_PREEMPT);
    ck_assert_uint_eq(w.dec[0].task, 'd');
    ck_assert_uint_eq(w.dec[0].related, 'H');
    ck_assert_uint_eq(w.dec[0].node, 2);
    expect_start(&w, 1, 'H', CS_REASON_AFTER_PREEMPTION);
    ck_assert_uint_eq(w.dec[1].node, 2);
    ck_assert_int_eq(state_of(&w, 'd'), CS_TASK_PENDING);
    cs_task_info info = {.size = sizeof info};
    cs_sched_task_info(w.sched, 'd', &info);
    ck_assert_uint_eq(info.preemptions, 1);
    /* Equal priority never preempts: E (prio 1, 4 cpu) waits. */
    sub_prio(&w, 'E', 4, 1, 11);
    step(&w, 11);
    ck_assert_uint_eq(w.ndec, 0);
    world_free(&w);
}
END_TEST

/* ---- failures, cancel, drain ---------------------------------------- */

START_TEST(node_down_requeues_in_place)
{
    /* FCFS, two nodes of 1 cpu. T1, T2 start; T3, T4 wait. Node 1 (T1) fails:
     * T1 returns ahead of T3 and T4 (its arrival is earliest). */
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_STRICT);
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 1);
    node1(&w, 2, 1);
    for (uint64_t i = 1; i <= 4; i++)
        sub1(&w, i, 1, 10, (double)i);
    step(&w, 5);
    ck_assert_uint_eq(w.ndec, 2);
    ck_assert_uint_eq(node_of(&w, 1), 1);
    uint64_t hit[4];
    size_t n;
    ck_assert_int_eq(cs_sched_node_down(w.sched, 1, 6, hit, 0, &n), CS_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(state_of(&w, 1), CS_TASK_RUNNING);
    ck_assert_int_eq(cs_sched_node_down(w.sched, 1, 6, hit, 4, &n), CS_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(hit[0], 1);
    ck_assert_int_eq(cs_sched_check(w.sched), CS_OK);
    uint64_t order[4];
    ck_assert_int_eq(cs_sched_pending_order(w.sched, 6, order, 4, &n), CS_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(order[0], 1);
    ck_assert_uint_eq(order[1], 3);
    ck_assert_uint_eq(order[2], 4);
    /* Node 1 is down: nothing starts until T2 ends. */
    step(&w, 7);
    ck_assert_uint_eq(w.ndec, 0);
    ck_assert_int_eq(cs_sched_complete(w.sched, 2, 15), CS_OK);
    step(&w, 15);
    expect_start(&w, 0, 1, CS_REASON_IN_ORDER);
    ck_assert_int_eq(cs_sched_node_up(w.sched, 1, 16), CS_OK);
    step(&w, 16);
    expect_start(&w, 0, 3, CS_REASON_IN_ORDER);
    world_free(&w);
}
END_TEST

START_TEST(node_down_fails_gang)
{
    /* A gang across two nodes loses both replicas when one node fails; with
     * fail_on_node_down it ends FAILED and its other replica is released. */
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_SKIP);
    o.fail_on_node_down = 1;
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 1);
    node1(&w, 2, 1);
    int64_t one[1] = {1};
    cs_task_spec t = task(9, one, 1, 10);
    t.count = 2;
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 0), CS_OK);
    step(&w, 0);
    ck_assert_uint_eq(cs_pool_num_allocations(w.pool), 2);
    ck_assert_int_eq(cs_sched_node_down(w.sched, 2, 1, NULL, 0, NULL), CS_OK);
    ck_assert_int_eq(state_of(&w, 9), CS_TASK_FAILED);
    ck_assert_uint_eq(cs_pool_num_allocations(w.pool), 0);
    cs_sched_counts c = {.size = sizeof c};
    ck_assert_int_eq(cs_sched_counts_get(w.sched, &c), CS_OK);
    ck_assert_uint_eq(c.failed, 1);
    ck_assert_uint_eq(c.submitted, 1);
    world_free(&w);
}
END_TEST

START_TEST(drain_cancel_forget)
{
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_SKIP);
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 2);
    node1(&w, 2, 2);
    ck_assert_int_eq(cs_sched_drain_node(w.sched, 1, 0), CS_OK);
    sub1(&w, 1, 1, 10, 0);
    step(&w, 0);
    ck_assert_uint_eq(node_of(&w, 1), 2);
    sub1(&w, 2, 2, 10, 1);
    ck_assert_int_eq(cs_sched_cancel(w.sched, 2, 1), CS_OK);
    ck_assert_int_eq(cs_sched_cancel(w.sched, 2, 1), CS_ERR_STATE);
    ck_assert_int_eq(cs_sched_cancel(w.sched, 1, 2), CS_OK); /* running */
    ck_assert_uint_eq(cs_pool_num_allocations(w.pool), 0);
    ck_assert_int_eq(cs_sched_complete(w.sched, 1, 3), CS_ERR_STATE);
    ck_assert_int_eq(cs_sched_forget(w.sched, 1), CS_OK);
    ck_assert_int_eq(cs_sched_forget(w.sched, 1), CS_ERR_NOT_FOUND);
    sub1(&w, 1, 1, 10, 3); /* the id is free again */
    ck_assert_int_eq(cs_sched_forget(w.sched, 1), CS_ERR_STATE);
    cs_sched_counts c = {.size = sizeof c};
    cs_sched_counts_get(w.sched, &c);
    ck_assert_uint_eq(c.submitted, 3);
    ck_assert_uint_eq(c.cancelled, 2);
    ck_assert_uint_eq(c.pending, 1);
    world_free(&w);
}
END_TEST

/* ---- runtime prediction feeding backfilling ----------------------------- */

START_TEST(predictions_enable_backfill)
{
    /* One node of 4 cpus, EASY backfilling. Tenant 1 ran two tasks that
     * asked for 1000 s but took 10 s and 20 s: the predictor's history rule
     * (mean of the last two runtimes, before a model is ready) gives 15 s.
     * Then: A (tenant 2, 2 cpu, est 100) starts at t=100; B (tenant 2,
     * 4 cpu, est 100) is reserved at 200; C (tenant 1, 2 cpu, asks 1000 s).
     * With the user's estimate C would hold its 2 cpus through 1100 and
     * leave 2 + 2 - 4 < 2... it would delay B: no backfill. With the
     * prediction, C runs [100, 115), before B's reservation: it backfills. */
    for (int use = 0; use <= 1; use++) {
        cs_predict *pred;
        ck_assert_int_eq(cs_predict_create(NULL, NULL, &pred), CS_OK);
        cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_BACKFILL);
        o.predictor = pred;
        o.use_predictions = use;
        world w;
        world_init(&w, 1, &o);
        node1(&w, 1, 4);
        int64_t two[1] = {2}, four[1] = {4};
        double t0 = 0;
        for (uint64_t i = 1; i <= 2; i++) {
            cs_task_spec x = task(i, two, 1, 1000);
            x.tenant = 1;
            ck_assert_int_eq(cs_sched_submit(w.sched, &x, t0), CS_OK);
            step(&w, t0);
            ck_assert_int_eq(cs_sched_complete(w.sched, i, t0 + 10.0 * (double)i), CS_OK);
            t0 += 10.0 * (double)i;
        }
        cs_task_spec a = task('A', two, 1, 100);
        a.tenant = 2;
        ck_assert_int_eq(cs_sched_submit(w.sched, &a, 100), CS_OK);
        step(&w, 100);
        expect_start(&w, 0, 'A', CS_REASON_IN_ORDER);
        cs_task_spec b = task('B', four, 1, 100), c = task('C', two, 1, 1000);
        b.tenant = 2;
        c.tenant = 1;
        ck_assert_int_eq(cs_sched_submit(w.sched, &b, 100), CS_OK);
        ck_assert_int_eq(cs_sched_submit(w.sched, &c, 100), CS_OK);
        cs_task_info info = {.size = sizeof info};
        ck_assert_int_eq(cs_sched_task_info(w.sched, 'C', &info), CS_OK);
        ck_assert(info.user_estimate == 1000.0);
        if (use) {
            ck_assert_double_eq_tol(info.estimate, 15.0, 1e-9);
            ck_assert_int_eq(info.estimate_source, CS_PREDICT_SOURCE_HISTORY);
        } else {
            ck_assert(info.estimate == 1000.0);
        }
        step(&w, 100);
        if (use) {
            ck_assert_uint_eq(w.ndec, 1);
            expect_start(&w, 0, 'C', CS_REASON_BACKFILL);
        } else {
            ck_assert_uint_eq(w.ndec, 0);
        }
        /* A feature count the predictor cannot learn from is refused at
         * submit, with or without use_predictions (default: 0 features). */
        double feats[2] = {1.0, 2.0};
        cs_task_spec f = task('F', two, 1, 10);
        f.features = feats;
        f.num_features = 2;
        ck_assert_int_eq(cs_sched_submit(w.sched, &f, 100), CS_ERR_DIMENSION);
        world_free(&w);
        cs_predict_destroy(pred);
    }
}
END_TEST

/* ---- load-balanced batches ------------------------------------------------ */

/* Population variance of the nodes' cpu utilisation. */
static double util_variance(cs_pool *pool, const uint64_t *ids, int n)
{
    double u[8], mean = 0, var = 0;
    for (int i = 0; i < n; i++) {
        cs_node_info info = {.size = sizeof info};
        int64_t c[1], used[1];
        ck_assert_int_eq(cs_pool_node_info(pool, ids[i], &info, c, used, NULL), CS_OK);
        u[i] = (double)used[0] / (double)c[0];
        mean += u[i] / n;
    }
    for (int i = 0; i < n; i++)
        var += (u[i] - mean) * (u[i] - mean) / n;
    return var;
}

static double batch_variance(cs_placement pl)
{
    /* Nodes A (16 cpu, 8 used), B (8, 2 used), C (4, empty); a batch of
     * tasks 4, 2, 2, 1, 1 arrives at once (10 cpus; 18 free).
     * Worst fit, by hand (S = free / 16, ties to the lower id):
     *   4 -> A (free 8,6,4 -> A 4 left); 2 -> B (4,6,4); 2 -> A (tie .25,
     *   lower id; A 2 left); 1 -> B (2,4,4 tie B/C); 1 -> C (2,3,4).
     *   Utilisation A 14/16, B 5/8, C 1/4: variance 0.06597.
     * Balanced: the cluster ends at 20/28 = 0.714 on average; the batch is
     * spread so that every node ends near it. */
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_SKIP);
    o.placement = pl;
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 16);
    node1(&w, 2, 8);
    node1(&w, 3, 4);
    int64_t l1[1] = {8}, l2[1] = {2};
    uint64_t a;
    ck_assert_int_eq(cs_pool_allocate(w.pool, 1, l1, 0, &a), CS_OK);
    ck_assert_int_eq(cs_pool_allocate(w.pool, 2, l2, 0, &a), CS_OK);
    int64_t sizes[5] = {4, 2, 2, 1, 1};
    for (uint64_t i = 0; i < 5; i++)
        sub1(&w, 10 + i, sizes[i], 100, 0);
    step(&w, 0);
    ck_assert_uint_eq(w.ndec, 5);
    /* Decisions name where each task really is. */
    for (size_t i = 0; i < w.ndec; i++)
        ck_assert_uint_eq(w.dec[i].node, node_of(&w, w.dec[i].task));
    uint64_t ids[3] = {1, 2, 3};
    double v = util_variance(w.pool, ids, 3);
    world_free(&w);
    return v;
}

START_TEST(load_balance_lowers_variance)
{
    double wf = batch_variance(CS_PLACE_WORST_FIT);
    /* (7/8, 5/8, 1/4): mean 7/12; variance by hand = 0.0659722... */
    ck_assert_double_eq_tol(wf, (pow(7.0 / 8 - 7.0 / 12, 2) + pow(5.0 / 8 - 7.0 / 12, 2) +
                                 pow(1.0 / 4 - 7.0 / 12, 2)) / 3,
                            1e-12);
    double lb = batch_variance(CS_PLACE_LOAD_BALANCE);
    ck_assert_double_lt(lb, wf / 10);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

START_TEST(bad_input)
{
    cs_sched_options o = opts(CS_QUEUE_FCFS, CS_HOL_SKIP);
    world w;
    world_init(&w, 1, &o);
    node1(&w, 1, 2);
    sub1(&w, 1, 1, 10, 5);
    cs_sched *bad;
    ck_assert_int_eq(cs_sched_create(NULL, NULL, NULL, &bad), CS_ERR_INVALID);
    ck_assert_int_eq(cs_sched_create(w.pool, NULL, NULL, NULL), CS_ERR_INVALID);
    cs_sched_options b = o;
    b.placement = (cs_placement)99;
    ck_assert_int_eq(cs_sched_create(w.pool, &b, NULL, &bad), CS_ERR_INVALID);
    b = o;
    double zero_w[1] = {0};
    b.resource_weights = zero_w;
    ck_assert_int_eq(cs_sched_create(w.pool, &b, NULL, &bad), CS_ERR_INVALID);
    b = o;
    b.default_runtime = -1;
    ck_assert_int_eq(cs_sched_create(w.pool, &b, NULL, &bad), CS_ERR_INVALID);

    int64_t d[2] = {1, 1};
    cs_task_spec t = task(2, d, 2, 10);
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 5), CS_ERR_DIMENSION);
    t = task(1, d, 1, 10);
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 5), CS_ERR_EXISTS);
    t = task(3, d, 1, 10);
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 4), CS_ERR_INVALID); /* time back */
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, (double)NAN), CS_ERR_INVALID);
    t.runtime_estimate = -1;
    ck_assert_int_eq(cs_sched_submit(w.sched, &t, 5), CS_ERR_INVALID);
    ck_assert_int_eq(cs_sched_submit(w.sched, NULL, 5), CS_ERR_INVALID);
    size_t n;
    ck_assert_int_eq(cs_sched_step(w.sched, 4, w.dec, 8, &n), CS_ERR_INVALID);
    ck_assert_int_eq(cs_sched_step(w.sched, 5, w.dec, 0, &n), CS_ERR_INVALID);
    ck_assert_int_eq(cs_sched_step(w.sched, 5, NULL, 8, &n), CS_ERR_INVALID);
    ck_assert_int_eq(cs_sched_step(w.sched, (double)INFINITY, w.dec, 8, &n), CS_ERR_INVALID);
    ck_assert_int_eq(cs_sched_complete(w.sched, 1, 5), CS_ERR_STATE); /* not started */
    ck_assert_int_eq(cs_sched_complete(w.sched, 77, 5), CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_sched_node_down(w.sched, 77, 5, NULL, 0, NULL), CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_sched_drain_node(w.sched, 77, 5), CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_sched_set_tenant_weight(w.sched, 0, -1), CS_ERR_INVALID);
    cs_task_info info = {.size = 2};
    ck_assert_int_eq(cs_sched_task_info(w.sched, 1, &info), CS_ERR_INVALID);
    ck_assert_int_eq(cs_sched_check(w.sched), CS_OK);
    world_free(&w);
}
END_TEST

/* ---- strong guarantee under allocation failure ------------------------- */

/* What a caller can observe: counts, pending order, every task's state and
 * placement, and the pool's allocations. */
static void observe(cs_sched *s, cs_pool *pool, double now, uint64_t max_id, char *buf,
                    size_t cap)
{
    size_t len = 0;
    cs_sched_counts c = {.size = sizeof c};
    cs_sched_counts_get(s, &c);
    len += (size_t)snprintf(buf + len, cap - len, "%llu %llu %llu %llu|",
                            (unsigned long long)c.submitted, (unsigned long long)c.pending,
                            (unsigned long long)c.running, (unsigned long long)c.done);
    uint64_t order[512];
    size_t n = 0;
    ck_assert_int_eq(cs_sched_pending_order(s, now, order, 512, &n), CS_OK);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%llu,", (unsigned long long)order[i]);
    for (uint64_t id = 0; id <= max_id; id++) {
        cs_task_info info = {.size = sizeof info};
        if (cs_sched_task_info(s, id, &info) != CS_OK)
            continue;
        len += (size_t)snprintf(buf + len, cap - len, "|%llu:%d:%u", (unsigned long long)id,
                                info.state, info.replicas);
        uint64_t nodes[16], allocs[16];
        size_t r;
        if (cs_sched_task_placement(s, id, nodes, allocs, 16, &r) == CS_OK)
            for (size_t i = 0; i < r; i++)
                len += (size_t)snprintf(buf + len, cap - len, " %llu/%llu",
                                        (unsigned long long)nodes[i], (unsigned long long)allocs[i]);
    }
    len += (size_t)snprintf(buf + len, cap - len, "|allocs %zu", cs_pool_num_allocations(pool));
    ck_assert_uint_lt(len, cap);
}

START_TEST(oom_submit_and_step)
{
    test_alloc ta = {0};
    cs_allocator a = test_alloc_make(&ta);
    cs_pool *pool;
    ck_assert_int_eq(cs_pool_create(1, NULL, NULL, &a, &pool), CS_OK);
    /* _i selects a configuration: DRF with backfilling and preemption, or
     * priority with load-balanced batches. */
    cs_sched_options o = opts(_i == 0 ? CS_QUEUE_DRF : CS_QUEUE_PRIORITY,
                              _i == 0 ? CS_HOL_BACKFILL : CS_HOL_SKIP);
    o.preemption = 1;
    if (_i == 1)
        o.placement = CS_PLACE_LOAD_BALANCE;
    cs_sched *s;
    for (long k = 1;; k++) {
        test_alloc_fail_after(&ta, k);
        cs_status st = cs_sched_create(pool, &o, &a, &s);
        test_alloc_fail_after(&ta, 0);
        if (st == CS_OK)
            break;
        ck_assert_int_eq(st, CS_ERR_NOMEM);
    }
    for (uint64_t i = 1; i <= 6; i++) {
        int64_t cap[1] = {4};
        cs_node_spec ns;
        cs_node_spec_init(&ns, sizeof ns);
        ns.capacity = cap;
        ns.num_resources = 1;
        ck_assert_int_eq(cs_pool_add_node(pool, i, &ns, NULL), CS_OK);
    }
    static char before[1 << 15], after[1 << 15];
    cs_decision dec[64];
    double now = 0;
    for (uint64_t id = 1; id <= 60; id++) {
        int64_t d[1] = {(int64_t)(1 + id % 4)};
        cs_task_spec t = task(id, d, 1, (double)(5 + id % 7));
        t.tenant = id % 3;
        t.priority = (int64_t)(id % 5);
        t.count = 1 + (uint32_t)(id % 3 == 0);
        cs_label lab = {"x", NULL};
        t.labels = id % 11 == 0 ? &lab : NULL; /* unsatisfiable: stays pending */
        t.num_labels = id % 11 == 0;
        for (long k = 1;; k++) {
            observe(s, pool, now, 64, before, sizeof before);
            test_alloc_fail_after(&ta, k);
            cs_status st = cs_sched_submit(s, &t, now);
            test_alloc_fail_after(&ta, 0);
            if (st == CS_OK)
                break;
            ck_assert_int_eq(st, CS_ERR_NOMEM);
            observe(s, pool, now, 64, after, sizeof after);
            ck_assert_str_eq(before, after);
            ck_assert_int_eq(cs_sched_check(s), CS_OK);
        }
        now += 1;
        if (id % 4 == 0) {
            size_t n;
            for (long k = 1;; k++) {
                observe(s, pool, now, 64, before, sizeof before);
                test_alloc_fail_after(&ta, k);
                cs_status st = cs_sched_step(s, now, dec, 64, &n);
                test_alloc_fail_after(&ta, 0);
                if (st == CS_OK)
                    break;
                ck_assert_int_eq(st, CS_ERR_NOMEM);
                observe(s, pool, now, 64, after, sizeof after);
                ck_assert_str_eq(before, after);
            }
            ck_assert_int_eq(cs_sched_check(s), CS_OK);
            /* Complete the oldest running task, if any. */
            for (uint64_t j = 1; j <= id; j++) {
                cs_task_info info = {.size = sizeof info};
                if (cs_sched_task_info(s, j, &info) == CS_OK && info.state == CS_TASK_RUNNING) {
                    ck_assert_int_eq(cs_sched_complete(s, j, now), CS_OK);
                    break;
                }
            }
        }
    }
    ck_assert_int_gt(ta.failures, 60);
    ck_assert_int_eq(cs_sched_check(s), CS_OK);
    cs_sched_destroy(s);
    cs_pool_destroy(pool);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- randomised run: invariants after every operation; determinism ------- */

typedef struct run_result {
    uint64_t hash;
    uint64_t starts, preempts, completes;
} run_result;

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

static run_result random_run(uint64_t seed, int ops, cs_queue_policy policy, cs_placement pl,
                             cs_head_of_line hol, uint32_t depth, int preemption)
{
    test_rng rng;
    test_rng_seed(&rng, seed);
    cs_pool *pool;
    const size_t P = 3;
    ck_assert_int_eq(cs_pool_create(P, NULL, NULL, NULL, &pool), CS_OK);
    cs_sched_options o = opts(policy, hol);
    o.placement = pl;
    o.backfill_depth = depth;
    o.preemption = preemption;
    o.fail_on_node_down = (int)(seed % 2);
    cs_sched *s;
    ck_assert_int_eq(cs_sched_create(pool, &o, NULL, &s), CS_OK);
    run_result res = {0};
    double now = 0;
    uint64_t next_id = 1, next_node = 1;
    cs_decision dec[32];
    for (int op = 0; op < ops; op++) {
        int kind = (int)test_rng_below(&rng, 100);
        now += (double)test_rng_below(&rng, 3);
        if (kind < 5 && next_node < 40) {
            int64_t cap[3] = {(int64_t)(4 + 4 * test_rng_below(&rng, 3)),
                              (int64_t)(8 * (1 + test_rng_below(&rng, 4))),
                              (int64_t)test_rng_below(&rng, 3)};
            cs_node_spec ns;
            cs_node_spec_init(&ns, sizeof ns);
            ns.capacity = cap;
            ns.num_resources = P;
            ns.zone = (uint32_t)test_rng_below(&rng, 2);
            ns.rack = (uint32_t)test_rng_below(&rng, 3);
            ns.partition = (uint32_t)test_rng_below(&rng, 2);
            ck_assert_int_eq(cs_pool_add_node(pool, next_node++, &ns, NULL), CS_OK);
        } else if (kind < 35) {
            cs_sched_counts c = {.size = sizeof c};
            cs_sched_counts_get(s, &c);
            if (c.pending > 150)
                continue; /* keep the queue near a steady state */
            int64_t d[3] = {(int64_t)(1 + test_rng_below(&rng, 4)),
                            (int64_t)(1 + test_rng_below(&rng, 8)),
                            (int64_t)(test_rng_below(&rng, 4) == 0)};
            cs_task_spec t = task(next_id++, d, P, (double)test_rng_below(&rng, 20));
            t.tenant = test_rng_below(&rng, 4);
            t.priority = (int64_t)test_rng_below(&rng, 4);
            t.count = 1 + (uint32_t)(test_rng_below(&rng, 5) == 0) * (uint32_t)test_rng_below(&rng, 4);
            t.topology = (cs_topology)test_rng_below(&rng, 3);
            t.elastic_min = test_rng_below(&rng, 4) == 0 ? 1 : 0;
            t.partition = test_rng_below(&rng, 3) == 0 ? (uint32_t)test_rng_below(&rng, 2)
                                                       : CS_PARTITION_ANY;
            ck_assert_int_eq(cs_sched_submit(s, &t, now), CS_OK);
        } else if (kind < 65) {
            size_t n;
            ck_assert_int_eq(cs_sched_step(s, now, dec, 1 + test_rng_below(&rng, 32), &n), CS_OK);
            for (size_t i = 0; i < n; i++) {
                res.hash = mix(res.hash, dec[i].task);
                res.hash = mix(res.hash, dec[i].node);
                res.hash = mix(res.hash, (uint64_t)dec[i].kind * 8 + (uint64_t)dec[i].reason);
                if (dec[i].kind == CS_DECISION_START)
                    res.starts++;
                else
                    res.preempts++;
            }
        } else if (kind < 90) {
            /* Complete a running task: probe from a random id onwards. */
            uint64_t id = 1 + test_rng_below(&rng, next_id);
            for (int probe = 0; probe < 300; probe++, id = id % next_id + 1) {
                cs_task_info info = {.size = sizeof info};
                if (cs_sched_task_info(s, id, &info) == CS_OK && info.state == CS_TASK_RUNNING) {
                    ck_assert_int_eq(cs_sched_complete(s, id, now), CS_OK);
                    res.completes++;
                    break;
                }
                ck_assert_int_ne(cs_sched_complete(s, id, now), CS_OK);
            }
        } else if (kind < 94) {
            uint64_t id = 1 + test_rng_below(&rng, next_id);
            cs_status st = cs_sched_cancel(s, id, now);
            ck_assert(st == CS_OK || st == CS_ERR_STATE || st == CS_ERR_NOT_FOUND);
        } else if (kind < 96) {
            uint64_t nd = 1 + test_rng_below(&rng, next_node);
            cs_status st = cs_sched_node_down(s, nd, now, NULL, 0, NULL);
            ck_assert(st == CS_OK || st == CS_ERR_NOT_FOUND);
        } else if (kind < 98) {
            uint64_t nd = 1 + test_rng_below(&rng, next_node);
            cs_status st = test_rng_below(&rng, 2) ? cs_sched_node_up(s, nd, now)
                                                   : cs_sched_drain_node(s, nd, now);
            ck_assert(st == CS_OK || st == CS_ERR_NOT_FOUND);
        } else {
            uint64_t id = 1 + test_rng_below(&rng, next_id);
            cs_status st = cs_sched_forget(s, id);
            ck_assert(st == CS_OK || st == CS_ERR_STATE || st == CS_ERR_NOT_FOUND);
        }
        ck_assert_int_eq(cs_sched_check(s), CS_OK);
        /* Conservation: every submitted task is in exactly one state. */
        cs_sched_counts c = {.size = sizeof c};
        cs_sched_counts_get(s, &c);
        ck_assert_uint_eq(c.submitted, c.pending + c.running + c.done + c.cancelled + c.failed);
    }
    cs_sched_destroy(s);
    cs_pool_destroy(pool);
    return res;
}

START_TEST(random_operations_keep_invariants)
{
    /* 100k operations over combinations of policy, placement and rule. */
    static const struct {
        cs_queue_policy policy;
        cs_placement pl;
        cs_head_of_line hol;
        uint32_t depth;
        int preempt;
    } cfg[] = {
        {CS_QUEUE_FCFS, CS_PLACE_FIRST_FIT, CS_HOL_BACKFILL, 1, 0},
        {CS_QUEUE_FCFS, CS_PLACE_BEST_FIT, CS_HOL_BACKFILL, CS_BACKFILL_CONSERVATIVE, 0},
        {CS_QUEUE_SJF, CS_PLACE_WORST_FIT, CS_HOL_SKIP, 0, 0},
        {CS_QUEUE_HRRN, CS_PLACE_BALANCED, CS_HOL_BACKFILL, 2, 0},
        {CS_QUEUE_PRIORITY, CS_PLACE_LEAST_ALLOCATED, CS_HOL_SKIP, 0, 1},
        {CS_QUEUE_FAIRSHARE, CS_PLACE_MOST_ALLOCATED, CS_HOL_STRICT, 0, 1},
        {CS_QUEUE_DRF, CS_PLACE_DOT_PRODUCT, CS_HOL_BACKFILL, 1, 1},
        {CS_QUEUE_PRIORITY, CS_PLACE_CHEAPEST, CS_HOL_BACKFILL, 3, 1},
        {CS_QUEUE_FCFS, CS_PLACE_LOCALITY, CS_HOL_SKIP, 0, 0},
        {CS_QUEUE_SJF, CS_PLACE_FIRST_FIT, CS_HOL_STRICT, 0, 0},
        {CS_QUEUE_FCFS, CS_PLACE_LOAD_BALANCE, CS_HOL_SKIP, 0, 0},
        {CS_QUEUE_PRIORITY, CS_PLACE_LOAD_BALANCE, CS_HOL_BACKFILL, 1, 1},
    };
    uint64_t starts = 0, preempts = 0;
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        run_result r = random_run(1000 + i, 10000, cfg[i].policy, cfg[i].pl, cfg[i].hol,
                                  cfg[i].depth, cfg[i].preempt);
        ck_assert_uint_gt(r.starts, 100);
        ck_assert_uint_gt(r.completes, 100);
        starts += r.starts;
        preempts += r.preempts;
    }
    ck_assert_uint_gt(preempts, 10);
    (void)starts;
}
END_TEST

START_TEST(deterministic)
{
    run_result a = random_run(77, 5000, CS_QUEUE_DRF, CS_PLACE_BALANCED, CS_HOL_BACKFILL, 2, 1);
    run_result b = random_run(77, 5000, CS_QUEUE_DRF, CS_PLACE_BALANCED, CS_HOL_BACKFILL, 2, 1);
    ck_assert_uint_eq(a.hash, b.hash);
    ck_assert_uint_eq(a.starts, b.starts);
    run_result c = random_run(78, 5000, CS_QUEUE_DRF, CS_PLACE_BALANCED, CS_HOL_BACKFILL, 2, 1);
    ck_assert_uint_ne(a.hash, c.hash);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("schedules");
    tcase_add_test(tc, strict_fcfs_blocks);
    tcase_add_test(tc, skip_ahead_takes_free_space);
    tcase_add_test(tc, easy_backfill_only_when_reservation_safe);
    tcase_add_test(tc, backfill_without_estimate_never_delays);
    tcase_add_test(tc, easy_reservation_passes_to_next_blocked);
    tcase_add_test(tc, reservation_depth_two);
    tcase_add_test(tc, overrun_does_not_corrupt_reservations);
    tcase_add_test(tc, sjf_order);
    tcase_add_test(tc, hrrn_order);
    tcase_add_test(tc, hrrn_differs_from_sjf);
    tcase_add_test(tc, priority_order_with_requeue);
    tcase_add_test(tc, drf_paper_example);
    tcase_add_test(tc, fairshare_prefers_light_tenant);
    tcase_add_test(tc, placement_strategies_by_hand);
    tcase_add_test(tc, gang_all_or_nothing);
    tcase_add_test(tc, gang_spread_and_elastic);
    tcase_add_test(tc, gang_pack_into_one_rack);
    tcase_add_test(tc, preemption_minimal_victims);
    tcase_add_test(tc, node_down_requeues_in_place);
    tcase_add_test(tc, node_down_fails_gang);
    tcase_add_test(tc, drain_cancel_forget);
    tcase_add_test(tc, predictions_enable_backfill);
    tcase_add_test(tc, load_balance_lowers_variance);
    tcase_add_test(tc, bad_input);
    suite_add_tcase(s, tc);
    TCase *oom = tcase_create("oom");
    tcase_add_loop_test(oom, oom_submit_and_step, 0, 2);
    suite_add_tcase(s, oom);
    TCase *rnd = tcase_create("random");
    tcase_set_timeout(rnd, 900);
    tcase_add_test(rnd, random_operations_keep_invariants);
    tcase_add_test(rnd, deterministic);
    suite_add_tcase(s, rnd);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
