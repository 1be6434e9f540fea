/* Queues: hand-worked orders for each policy (textbook examples), DRF on the
 * example of the DRF paper, the kinetic HRRN against an O(n) scan with exact
 * integer arithmetic, every policy against a reference model, requeue,
 * bad inputs and allocation failures. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cloudsched/cloudsched.h"
#include "testutil.h"

/* NAN and INFINITY are floats; these are the doubles. */
#define DNAN ((double)NAN)
#define DINF ((double)INFINITY)

static const int64_t one_cpu[1] = {1};

static cs_task_spec spec(uint64_t id, uint64_t tenant, int64_t prio, double est)
{
    cs_task_spec t;
    ck_assert_int_eq(cs_task_spec_init(&t, sizeof t), CS_OK);
    t.id = id;
    t.tenant = tenant;
    t.priority = prio;
    t.runtime_estimate = est;
    t.demand = one_cpu;
    t.num_resources = 1;
    return t;
}

static cs_queue *make_queue_a(cs_queue_policy p, double slope, double defrt, cs_fair *f,
                              const cs_allocator *a)
{
    cs_queue_options o;
    ck_assert_int_eq(cs_queue_options_init(&o, sizeof o), CS_OK);
    o.policy = p;
    o.aging_slope = slope;
    o.default_runtime = defrt;
    o.fair = f;
    cs_queue *q = NULL;
    ck_assert_int_eq(cs_queue_create(&o, a, &q), CS_OK);
    return q;
}

static cs_queue *make_queue(cs_queue_policy p, double slope, double defrt, cs_fair *f)
{
    return make_queue_a(p, slope, defrt, f, NULL);
}

static cs_fair *make_fair(double half_life, size_t nres)
{
    cs_fair_options o;
    ck_assert_int_eq(cs_fair_options_init(&o, sizeof o), CS_OK);
    o.half_life = half_life;
    o.num_resources = nres;
    cs_fair *f = NULL;
    ck_assert_int_eq(cs_fair_create(&o, NULL, &f), CS_OK);
    return f;
}

static void push(cs_queue *q, uint64_t id, uint64_t tenant, int64_t prio, double est,
                 double arrival)
{
    cs_task_spec t = spec(id, tenant, prio, est);
    ck_assert_int_eq(cs_queue_push(q, &t, arrival), CS_OK);
}

static void expect_order(cs_queue *q, double now, const uint64_t *want, size_t n)
{
    uint64_t got[64];
    size_t count = 99;
    ck_assert_uint_eq(cs_queue_size(q), n);
    ck_assert_int_eq(cs_queue_order(q, now, got, 64, &count), CS_OK);
    ck_assert_uint_eq(count, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i], "position %zu: got %llu, want %llu", i,
                      (unsigned long long)got[i], (unsigned long long)want[i]);
    ck_assert_int_eq(cs_queue_check(q), CS_OK);
}

static void expect_pop(cs_queue *q, double now, uint64_t want)
{
    uint64_t id = 0;
    ck_assert_int_eq(cs_queue_peek(q, now, &id), CS_OK);
    ck_assert_uint_eq(id, want);
    ck_assert_int_eq(cs_queue_pop(q, now, &id), CS_OK);
    ck_assert_uint_eq(id, want);
    ck_assert(!cs_queue_contains(q, want));
    ck_assert_int_eq(cs_queue_check(q), CS_OK);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- hand-worked orders --------------------------------------------------- */

START_TEST(options_and_create)
{
    cs_queue_options o;
    ck_assert_int_eq(cs_queue_options_init(&o, sizeof o), CS_OK);
    ck_assert_int_eq(o.policy, CS_QUEUE_FCFS);
    ck_assert(o.aging_slope == 0.0 && o.default_runtime == 3600.0 && o.fair == NULL);
    ck_assert_int_eq(cs_queue_options_init(NULL, sizeof o), CS_ERR_INVALID);
    ck_assert_int_eq(cs_queue_options_init(&o, 2), CS_ERR_INVALID);

    cs_queue *q = NULL;
    ck_assert_int_eq(cs_queue_create(NULL, NULL, NULL), CS_ERR_INVALID);
    cs_queue_options_init(&o, sizeof o);
    o.policy = (cs_queue_policy)17;
    ck_assert_int_eq(cs_queue_create(&o, NULL, &q), CS_ERR_INVALID);
    double bad_slope[] = {-1.0, DNAN, DINF};
    for (size_t i = 0; i < N(bad_slope); i++) {
        cs_queue_options_init(&o, sizeof o);
        o.policy = CS_QUEUE_PRIORITY;
        o.aging_slope = bad_slope[i];
        ck_assert_int_eq(cs_queue_create(&o, NULL, &q), CS_ERR_INVALID);
    }
    double bad_rt[] = {0.0, -3.0, DNAN, DINF};
    for (size_t i = 0; i < N(bad_rt); i++) {
        cs_queue_options_init(&o, sizeof o);
        o.default_runtime = bad_rt[i];
        ck_assert_int_eq(cs_queue_create(&o, NULL, &q), CS_ERR_INVALID);
    }
    cs_queue_options_init(&o, sizeof o);
    o.policy = CS_QUEUE_FAIRSHARE;
    ck_assert_int_eq(cs_queue_create(&o, NULL, &q), CS_ERR_INVALID); /* no fair */
    o.policy = CS_QUEUE_DRF;
    ck_assert_int_eq(cs_queue_create(&o, NULL, &q), CS_ERR_INVALID);
    cs_queue_options_init(&o, sizeof o);
    o.size = 1;
    ck_assert_int_eq(cs_queue_create(&o, NULL, &q), CS_ERR_INVALID);
    cs_allocator incomplete = {NULL, NULL, NULL, NULL};
    ck_assert_int_eq(cs_queue_create(NULL, &incomplete, &q), CS_ERR_INVALID);
    ck_assert_ptr_null(q);

    ck_assert_int_eq(cs_queue_create(NULL, NULL, &q), CS_OK);
    ck_assert_uint_eq(cs_queue_size(q), 0);
    ck_assert_int_eq(cs_queue_check(q), CS_OK);
    cs_queue_destroy(q);
    cs_queue_destroy(NULL);
}
END_TEST

START_TEST(fcfs_hand)
{
    /* Arrivals: 5 at 3.0, 2 at 1.0, 9 at 1.0, 4 at 2.0. FCFS sorts by
     * (arrival, id): (1.0, 2), (1.0, 9), (2.0, 4), (3.0, 5). */
    cs_queue *q = make_queue(CS_QUEUE_FCFS, 0, 1, NULL);
    push(q, 5, 0, 0, 0, 3.0);
    push(q, 2, 0, 0, 0, 1.0);
    push(q, 9, 0, 0, 0, 1.0);
    push(q, 4, 0, 0, 0, 2.0);
    const uint64_t want[] = {2, 9, 4, 5};
    expect_order(q, 10.0, want, 4);
    /* A preempted task requeued with its original arrival takes back its place. */
    expect_pop(q, 10.0, 2);
    push(q, 2, 0, 0, 0, 1.0);
    expect_order(q, 11.0, want, 4);
    /* Cancel the middle one. */
    ck_assert_int_eq(cs_queue_remove(q, 4), CS_OK);
    const uint64_t want2[] = {2, 9, 5};
    expect_order(q, 11.0, want2, 3);
    expect_pop(q, 12.0, 2);
    expect_pop(q, 12.0, 9);
    expect_pop(q, 12.0, 5);
    uint64_t id;
    ck_assert_int_eq(cs_queue_pop(q, 13.0, &id), CS_ERR_NOT_FOUND);
    cs_queue_destroy(q);
}
END_TEST

START_TEST(priority_aging_hand)
{
    /* No aging: priority 5 (ids 3 at t=0, 2 at t=1), then 3 (id 4), then 1
     * (id 1); equal priorities by arrival. */
    cs_queue *q = make_queue(CS_QUEUE_PRIORITY, 0.0, 1, NULL);
    push(q, 1, 0, 1, 0, 0.0);
    push(q, 2, 0, 5, 0, 1.0);
    push(q, 3, 0, 5, 0, 0.0);
    push(q, 4, 0, 3, 0, 0.0);
    const uint64_t want[] = {3, 2, 4, 1};
    expect_order(q, 5.0, want, 4);
    cs_queue_destroy(q);

    /* Slope 0.1 per second. C (id 10): priority 10 at t=0; D (id 11): 12 at
     * t=30; E (id 12): 11 at t=5. Effective priority p + 0.1 (t - a) at t=30:
     * C = 10 + 3 = 13, D = 12 + 0 = 12, E = 11 + 2.5 = 13.5: E, C, D.
     * At t=100: C = 20, D = 19, E = 20.5: the same order (one slope). */
    q = make_queue(CS_QUEUE_PRIORITY, 0.1, 1, NULL);
    push(q, 10, 0, 10, 0, 0.0);
    push(q, 11, 0, 12, 0, 30.0);
    push(q, 12, 0, 11, 0, 5.0);
    const uint64_t want2[] = {12, 10, 11};
    expect_order(q, 30.0, want2, 3);
    expect_order(q, 100.0, want2, 3);
    /* D raised to 14: at t=100, 14 + 7 = 21 > 20.5 > 20: D, E, C. */
    ck_assert_int_eq(cs_queue_set_priority(q, 11, 14), CS_OK);
    const uint64_t want3[] = {11, 12, 10};
    expect_order(q, 100.0, want3, 3);
    cs_queue_destroy(q);
}
END_TEST

START_TEST(sjf_hand)
{
    /* Silberschatz, Operating System Concepts, SJF example: P1..P4 with
     * bursts 6, 8, 7, 3, all at t=0. Order P4, P1, P3, P2; starts 0, 3, 9,
     * 16; average wait (0 + 3 + 9 + 16) / 4 = 7. */
    cs_queue *q = make_queue(CS_QUEUE_SJF, 0, 100.0, NULL);
    push(q, 1, 0, 0, 6, 0);
    push(q, 2, 0, 0, 8, 0);
    push(q, 3, 0, 0, 7, 0);
    push(q, 4, 0, 0, 3, 0);
    const uint64_t want[] = {4, 1, 3, 2};
    const double burst[] = {0, 6, 8, 7, 3};
    double t = 0, wait = 0;
    for (size_t i = 0; i < 4; i++) {
        expect_pop(q, t, want[i]);
        wait += t - 0.0;
        t += burst[want[i]];
    }
    ck_assert(wait / 4 == 7.0);

    /* Unknown estimates take the default (here 10); ties by arrival. */
    push(q, 11, 0, 0, 5, 1);
    push(q, 12, 0, 0, 0, 1); /* s = 10 */
    push(q, 13, 0, 0, 2, 1);
    push(q, 14, 0, 0, 5, 0);
    const uint64_t want2[] = {13, 14, 11, 12};
    expect_order(q, 30, want2, 4);
    /* The predictor refines 12 to 1 s, and forgets 13's estimate. */
    ck_assert_int_eq(cs_queue_set_estimate(q, 12, 1.0), CS_OK);
    ck_assert_int_eq(cs_queue_set_estimate(q, 13, 0.0), CS_OK);
    const uint64_t want3[] = {12, 14, 11, 13};
    expect_order(q, 30, want3, 4);
    cs_queue_destroy(q);
}
END_TEST

START_TEST(hrrn_stallings)
{
    /* Stallings, Operating Systems, process scheduling example: arrival /
     * service A 0/3, B 2/6, C 4/4, D 6/5, E 8/2. Under HRRN:
     * t=0: only A. t=3: only B (arrived at 2). t=9: ratios (w + s) / s are
     * C (5 + 4) / 4 = 2.25, D (3 + 5) / 5 = 1.6, E (1 + 2) / 2 = 1.5 -> C.
     * t=13: D (7 + 5) / 5 = 2.4, E (5 + 2) / 2 = 3.5 -> E. t=15: D.
     * Finish times A 3, B 9, C 13, E 15, D 20, as in Stallings' table. */
    cs_queue *q = make_queue(CS_QUEUE_HRRN, 0, 1, NULL);
    const double arrive[] = {0, 2, 4, 6, 8}, service[] = {3, 6, 4, 5, 2};
    const uint64_t want[] = {0, 1, 2, 4, 3};
    const double want_finish[] = {3, 9, 13, 15, 20};
    size_t next = 0;
    double t = 0;
    for (size_t k = 0; k < 5; k++) {
        while (next < 5 && arrive[next] <= t) {
            push(q, next, 0, 0, service[next], arrive[next]);
            next++;
        }
        uint64_t id;
        ck_assert_int_eq(cs_queue_pop(q, t, &id), CS_OK);
        ck_assert_uint_eq(id, want[k]);
        t += service[id];
        ck_assert(t == want_finish[k]);
        ck_assert_int_eq(cs_queue_check(q), CS_OK);
    }
    cs_queue_destroy(q);
}
END_TEST

START_TEST(hrrn_crossing_ties)
{
    /* X (id 9): a=0, s=4, ratio (t + 4) / 4; Y (id 1): a=2, s=2, ratio t / 2.
     * Equal at t = 4 (both 2): the tie goes to the earlier arrival, X.
     * t=3: X 1.75 > Y 1.5. t=5: X 2.25 < Y 2.5. */
    cs_queue *q = make_queue(CS_QUEUE_HRRN, 0, 1, NULL);
    push(q, 9, 0, 0, 4, 0);
    push(q, 1, 0, 0, 2, 2);
    uint64_t id;
    ck_assert_int_eq(cs_queue_peek(q, 3, &id), CS_OK);
    ck_assert_uint_eq(id, 9);
    ck_assert_int_eq(cs_queue_peek(q, 4, &id), CS_OK);
    ck_assert_uint_eq(id, 9);
    ck_assert_int_eq(cs_queue_check(q), CS_OK);
    ck_assert_int_eq(cs_queue_peek(q, 5, &id), CS_OK);
    ck_assert_uint_eq(id, 1);
    const uint64_t want[] = {1, 9};
    expect_order(q, 5, want, 2);
    /* Same arrival: the ratios meet at t = a, then the shorter leads; at the
     * meeting point the smaller id wins. Z (id 3): a=10, s=2; W (id 7): a=10,
     * s=1; at t=10 both are 1 -> Z (id 3); at t=10.5 W (1.5 > 1.25). */
    push(q, 7, 0, 0, 1, 10);
    push(q, 3, 0, 0, 2, 10);
    ck_assert_int_eq(cs_queue_remove(q, 1), CS_OK);
    ck_assert_int_eq(cs_queue_remove(q, 9), CS_OK);
    ck_assert_int_eq(cs_queue_peek(q, 10, &id), CS_OK);
    ck_assert_uint_eq(id, 3);
    ck_assert_int_eq(cs_queue_peek(q, 10.5, &id), CS_OK);
    ck_assert_uint_eq(id, 7);
    /* W's estimate raised to 4 s: at t=10.5, Z 1.25 > W (0.5 + 4) / 4 = 1.125. */
    ck_assert_int_eq(cs_queue_set_estimate(q, 7, 4), CS_OK);
    ck_assert_int_eq(cs_queue_peek(q, 10.5, &id), CS_OK);
    ck_assert_uint_eq(id, 3);
    ck_assert_int_eq(cs_queue_check(q), CS_OK);
    cs_queue_destroy(q);

    /* A crossing in the future that the overtaker wins at the exact time:
     * L (id 1): a=5, s=1; W (id 2): a=6, s=2. At t=0, L = 1 - 5 = -4 and
     * W = 1 - 6/2 = -2: W ahead. They meet at t* = (2*5 - 1*6) / (2 - 1) = 4,
     * both 0; the tie goes to L (earlier arrival). */
    q = make_queue(CS_QUEUE_HRRN, 0, 1, NULL);
    push(q, 1, 0, 0, 1, 5);
    push(q, 2, 0, 0, 2, 6);
    ck_assert_int_eq(cs_queue_peek(q, 0, &id), CS_OK);
    ck_assert_uint_eq(id, 2);
    ck_assert_int_eq(cs_queue_peek(q, 3.5, &id), CS_OK);
    ck_assert_uint_eq(id, 2);
    ck_assert_int_eq(cs_queue_peek(q, 4, &id), CS_OK);
    ck_assert_uint_eq(id, 1);
    cs_queue_destroy(q);
}
END_TEST

/* ---- fair share and DRF ------------------------------------------------------ */

START_TEST(fairshare_hand)
{
    /* No decay. Usage: tenant 1 = 100, tenant 2 = 50; tenant 3 appears with
     * its first task (weight 1, usage 0). Factors (U_norm / S_norm with
     * U_total 150, W_total 3): F_1 = 2^-((100/150)/(1/3)) = 2^-2,
     * F_2 = 2^-((50/150)/(1/3)) = 2^-1, F_3 = 2^0. Highest factor first,
     * FCFS inside a tenant: 30, 20, 10, 11. */
    cs_fair *f = make_fair(0.0, 0);
    cs_queue *q = make_queue(CS_QUEUE_FAIRSHARE, 0, 1, f);
    ck_assert_int_eq(cs_fair_charge(f, 1, 100, 0), CS_OK);
    ck_assert_int_eq(cs_fair_charge(f, 2, 50, 0), CS_OK);
    push(q, 11, 1, 0, 0, 1);
    push(q, 10, 1, 0, 0, 0);
    push(q, 20, 2, 0, 0, 2);
    push(q, 30, 3, 0, 0, 5);
    ck_assert_uint_eq(cs_fair_num_tenants(f), 3);
    double fac[4];
    for (uint64_t i = 1; i <= 3; i++)
        ck_assert_int_eq(cs_fair_factor(f, i, &fac[i]), CS_OK);
    ck_assert(fac[1] == 0.25 && fac[2] == 0.5 && fac[3] == 1.0);
    const uint64_t w1[] = {30, 20, 10, 11};
    expect_order(q, 5, w1, 4);
    /* Tenant 3 is charged 400: usage / weight = 100, 50, 400: 20, 10, 11, 30. */
    ck_assert_int_eq(cs_fair_charge(f, 3, 400, 5), CS_OK);
    const uint64_t w2[] = {20, 10, 11, 30};
    expect_order(q, 5, w2, 4);
    /* Weight 8 for tenant 3: 400 / 8 = 50 ties tenant 2's 50 / 1: tenant id
     * decides, 2 before 3. */
    ck_assert_int_eq(cs_fair_set_weight(f, 3, 8), CS_OK);
    const uint64_t w3[] = {20, 30, 10, 11};
    expect_order(q, 5, w3, 4);
    /* Weight 10: 40 < 50 < 100. */
    ck_assert_int_eq(cs_fair_set_weight(f, 3, 10), CS_OK);
    const uint64_t w4[] = {30, 20, 10, 11};
    expect_order(q, 5, w4, 4);
    /* A tenant with pending tasks cannot be removed from the fair handle. */
    ck_assert_int_eq(cs_fair_remove_tenant(f, 3), CS_ERR_BUSY);
    expect_pop(q, 6, 30);
    ck_assert_int_eq(cs_fair_remove_tenant(f, 3), CS_OK);
    const uint64_t w5[] = {20, 10, 11};
    expect_order(q, 6, w5, 3);
    /* Requeue of 10 with its original arrival: back in front of 11. */
    expect_pop(q, 6, 20);
    expect_pop(q, 6, 10);
    push(q, 10, 1, 0, 0, 0);
    const uint64_t w6[] = {10, 11};
    expect_order(q, 7, w6, 2);
    cs_queue_destroy(q);
    /* The queue released its tenants: 1 can go now (no allocation). */
    ck_assert_int_eq(cs_fair_remove_tenant(f, 1), CS_OK);
    cs_fair_destroy(f);
}
END_TEST

START_TEST(fairshare_decay_order)
{
    /* Half-life 10. Tenant 1 is charged 100 at t=0, tenant 2 60 at t=10.
     * At t=10: U_1 = 100 / 2 = 50 < U_2 = 60: tenant 1 first. Decay is
     * uniform, so at t=1000 still tenant 1. Tenant 1 charged 15 at t=20:
     * U_1 = 25 + 15 = 40 > U_2 = 30: tenant 2 first. */
    cs_fair *f = make_fair(10.0, 0);
    cs_queue *q = make_queue(CS_QUEUE_FAIRSHARE, 0, 1, f);
    ck_assert_int_eq(cs_fair_charge(f, 1, 100, 0), CS_OK);
    ck_assert_int_eq(cs_fair_charge(f, 2, 60, 10), CS_OK);
    push(q, 1, 1, 0, 0, 0);
    push(q, 2, 2, 0, 0, 0);
    uint64_t id;
    ck_assert_int_eq(cs_queue_peek(q, 10, &id), CS_OK);
    ck_assert_uint_eq(id, 1);
    ck_assert_int_eq(cs_fair_charge(f, 1, 15, 20), CS_OK);
    double u1, u2;
    ck_assert_int_eq(cs_fair_usage(f, 1, 20, &u1), CS_OK);
    ck_assert_int_eq(cs_fair_usage(f, 2, 20, &u2), CS_OK);
    ck_assert(u1 == 40.0 && u2 == 30.0);
    ck_assert_int_eq(cs_queue_peek(q, 20, &id), CS_OK);
    ck_assert_uint_eq(id, 2);
    ck_assert_int_eq(cs_queue_peek(q, 1000, &id), CS_OK);
    ck_assert_uint_eq(id, 2);
    /* 200 half-lives on, a charge rescales every usage; the order holds:
     * tenant 2 is charged nothing more, tenant 1 gets 1e-50 (U_1 > U_2 stays). */
    ck_assert_int_eq(cs_fair_charge(f, 1, 1e-50, 2000), CS_OK);
    ck_assert_int_eq(cs_queue_peek(q, 2000, &id), CS_OK);
    ck_assert_uint_eq(id, 2);
    ck_assert_int_eq(cs_queue_check(q), CS_OK);
    cs_queue_destroy(q);
    cs_fair_destroy(f);
}
END_TEST

/* Progressive filling (Ghodsi et al., NSDI 2011, Algorithm 1) driven by a
 * DRF queue: pop the next task; if it fits in what is left, start it
 * (cs_fair_allocate), otherwise the cluster is full. Returns tasks started
 * per tenant and the pop sequence. */
static void drf_fill(double weight_a, double weight_b, size_t *started, uint64_t *seq,
                     size_t *nseq)
{
    cs_fair *f = make_fair(0.0, 2);
    int64_t cap[2] = {9, 18};
    const int64_t dem[3][2] = {{0, 0}, {1, 4}, {3, 1}}; /* A = 1, B = 2 */
    ck_assert_int_eq(cs_fair_set_capacity(f, cap, 2), CS_OK);
    ck_assert_int_eq(cs_fair_set_weight(f, 1, weight_a), CS_OK);
    ck_assert_int_eq(cs_fair_set_weight(f, 2, weight_b), CS_OK);
    cs_queue *q = make_queue(CS_QUEUE_DRF, 0, 1, f);
    for (uint64_t i = 0; i < 10; i++) {
        push(q, 100 + i, 1, 0, 0, 0);
        push(q, 200 + i, 2, 0, 0, 0);
    }
    int64_t used[2] = {0, 0};
    started[1] = started[2] = 0;
    *nseq = 0;
    for (;;) {
        uint64_t id;
        ck_assert_int_eq(cs_queue_pop(q, 0, &id), CS_OK);
        seq[(*nseq)++] = id;
        uint64_t tenant = id / 100;
        if (used[0] + dem[tenant][0] > cap[0] || used[1] + dem[tenant][1] > cap[1])
            break;
        used[0] += dem[tenant][0];
        used[1] += dem[tenant][1];
        ck_assert_int_eq(cs_fair_allocate(f, tenant, dem[tenant], 2), CS_OK);
        started[tenant]++;
        ck_assert_int_eq(cs_queue_check(q), CS_OK);
    }
    cs_queue_destroy(q);
    cs_fair_destroy(f);
}

START_TEST(drf_paper_example)
{
    /* 9 CPUs, 18 GB; A's tasks <1 CPU, 4 GB>, B's <3 CPU, 1 GB>.
     * Dominant shares after each start (A's is memory, B's CPU):
     * A 0 = B 0, tie -> A (tenant 1): A 4/18 = 2/9.  B 0 -> B: 3/9 = 1/3.
     * A 2/9 < 1/3 -> A: 8/18 = 4/9.  B 1/3 < 4/9 -> B: 6/9 = 2/3.
     * A 4/9 -> A: 12/18 = 2/3.  Tie 2/3 = 2/3 -> A, needs <4, 16> + B's
     * <6, 2> = 10 CPUs > 9: full. A 3 tasks <3, 12>, B 2 tasks <6, 2>, as in
     * the paper. */
    size_t started[3];
    uint64_t seq[32];
    size_t n;
    drf_fill(1.0, 1.0, started, seq, &n);
    ck_assert_uint_eq(started[1], 3);
    ck_assert_uint_eq(started[2], 2);
    const uint64_t want[] = {100, 200, 101, 201, 102, 103};
    ck_assert_uint_eq(n, N(want));
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(seq[i], want[i]);
}
END_TEST

START_TEST(drf_weighted_example)
{
    /* Same cluster, A weighted 2: weighted shares d / w, used <cpu, mem>.
     * Tie at 0 -> A: d 4/18, w 1/9; used <1, 4>.
     * B 0 -> B: d 3/9, w 1/3; used <4, 5>.
     * A 1/9 < 1/3 -> A: 8/18 / 2 = 2/9; used <5, 9>.
     * A 2/9 < 1/3 -> A: 12/18 / 2 = 1/3; used <6, 13>.
     * Tie 1/3 = 1/3 -> A (tenant 1): 16/18 / 2 = 4/9; used <7, 17>.
     * B 1/3 < 4/9 -> B needs 3 CPUs, 2 left: full. A 4 tasks, B 1. */
    size_t started[3];
    uint64_t seq[32];
    size_t n;
    drf_fill(2.0, 1.0, started, seq, &n);
    ck_assert_uint_eq(started[1], 4);
    ck_assert_uint_eq(started[2], 1);
    const uint64_t want[] = {100, 200, 101, 102, 103, 201};
    ck_assert_uint_eq(n, N(want));
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(seq[i], want[i]);

    /* B weighted 4 instead.
     * Tie at 0 -> A: d 4/18 = 2/9 = 0.222; used <1, 4>.
     * B 0 -> B: 3/9 / 4 = 1/12 = 0.083; used <4, 5>.
     * B 1/12 < 2/9 -> B: 6/9 / 4 = 1/6 = 0.167; used <7, 6>.
     * B 1/6 < 2/9 -> B needs 3 CPUs, 2 left: full. A 1 task, B 2. */
    drf_fill(1.0, 4.0, started, seq, &n);
    ck_assert_uint_eq(started[1], 1);
    ck_assert_uint_eq(started[2], 2);
    const uint64_t want2[] = {100, 200, 201, 202};
    ck_assert_uint_eq(n, N(want2));
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(seq[i], want2[i]);
}
END_TEST

START_TEST(two_queues_one_fair)
{
    /* Both queues follow the same charge; destroying one detaches it. */
    cs_fair *f = make_fair(0.0, 0);
    cs_queue *a = make_queue(CS_QUEUE_FAIRSHARE, 0, 1, f);
    cs_queue *b = make_queue(CS_QUEUE_FAIRSHARE, 0, 1, f);
    push(a, 1, 1, 0, 0, 0);
    push(a, 2, 2, 0, 0, 0);
    push(b, 3, 2, 0, 0, 0);
    push(b, 4, 1, 0, 0, 0);
    ck_assert_int_eq(cs_fair_charge(f, 1, 5, 0), CS_OK); /* tenant 2 first now */
    uint64_t id;
    ck_assert_int_eq(cs_queue_peek(a, 0, &id), CS_OK);
    ck_assert_uint_eq(id, 2);
    ck_assert_int_eq(cs_queue_peek(b, 0, &id), CS_OK);
    ck_assert_uint_eq(id, 3);
    cs_queue_destroy(a);
    ck_assert_int_eq(cs_fair_charge(f, 2, 10, 0), CS_OK); /* tenant 1 first */
    ck_assert_int_eq(cs_queue_peek(b, 0, &id), CS_OK);
    ck_assert_uint_eq(id, 4);
    ck_assert_int_eq(cs_queue_check(b), CS_OK);
    cs_queue_destroy(b);
    cs_fair_destroy(f);
}
END_TEST

/* ---- reference model ---------------------------------------------------------- */

/* Times are integer ticks of half a second, so that every quantity below is
 * an exact integer and every tie is exact. */
#define MAX_LIVE 20000
#define NTEN 7
#define DEFAULT_TICKS 8 /* default_runtime = 4 s */

typedef struct mtask {
    uint64_t id, tenant;
    int64_t prio, est, arr; /* est, arr in ticks; est 0 = unknown */
} mtask;

static struct model {
    cs_queue_policy policy;
    int64_t now;                /* ticks */
    int64_t usage[NTEN], weight[NTEN];
    int64_t alloc[NTEN][2], cap[2];
    mtask live[MAX_LIVE];
    size_t n;
} M;

static int64_t svc(const mtask *t)
{
    return t->est > 0 ? t->est : DEFAULT_TICKS;
}

/* Dominant share of tenant i as a fraction num / den. */
static void drf_share(size_t i, int64_t *num, int64_t *den)
{
    /* a0 / c0 >= a1 / c1  <=>  a0 c1 >= a1 c0 */
    if (M.alloc[i][0] * M.cap[1] >= M.alloc[i][1] * M.cap[0]) {
        *num = M.alloc[i][0];
        *den = M.cap[0];
    } else {
        *num = M.alloc[i][1];
        *den = M.cap[1];
    }
}

/* <0 when tenant a goes before tenant b. */
static int tenant_cmp(uint64_t a, uint64_t b)
{
    int64_t l, r;
    if (M.policy == CS_QUEUE_FAIRSHARE) {
        /* usage_a / w_a vs usage_b / w_b */
        l = M.usage[a] * M.weight[b];
        r = M.usage[b] * M.weight[a];
    } else {
        int64_t na, da, nb, db;
        drf_share(a, &na, &da);
        drf_share(b, &nb, &db);
        /* (na / da) / w_a vs (nb / db) / w_b */
        l = na * db * M.weight[b];
        r = nb * da * M.weight[a];
    }
    if (l != r)
        return l < r ? -1 : 1;
    return a < b ? -1 : (a > b);
}

/* True when task x goes before task y at M.now: each policy's definition,
 * written directly (effective priorities, ratios), not the queue's keys. */
static bool model_before(const mtask *x, const mtask *y)
{
    switch (M.policy) {
    case CS_QUEUE_PRIORITY: {
        /* p + 0.25 (now - a) in seconds, times 8, in ticks: 8p + (T - A). */
        int64_t ex = 8 * x->prio + (M.now - x->arr), ey = 8 * y->prio + (M.now - y->arr);
        if (ex != ey)
            return ex > ey;
        break;
    }
    case CS_QUEUE_SJF:
        if (svc(x) != svc(y))
            return svc(x) < svc(y);
        break;
    case CS_QUEUE_HRRN: {
        /* (T - A_x + S_x) / S_x vs (T - A_y + S_y) / S_y, cross-multiplied. */
        int64_t l = (M.now - x->arr + svc(x)) * svc(y);
        int64_t r = (M.now - y->arr + svc(y)) * svc(x);
        if (l != r)
            return l > r;
        break;
    }
    case CS_QUEUE_FAIRSHARE:
    case CS_QUEUE_DRF:
        if (x->tenant != y->tenant)
            return tenant_cmp(x->tenant, y->tenant) < 0;
        break;
    default:
        break;
    }
    if (x->arr != y->arr)
        return x->arr < y->arr;
    return x->id < y->id;
}

/* O(n) scan: index of the first task. */
static size_t model_head(void)
{
    size_t best = 0;
    for (size_t i = 1; i < M.n; i++)
        if (model_before(&M.live[i], &M.live[best]))
            best = i;
    return best;
}

static int model_qsort_cmp(const void *a, const void *b)
{
    const mtask *x = a, *y = b;
    return model_before(x, y) ? -1 : model_before(y, x) ? 1 : 0;
}

static size_t model_find(uint64_t id)
{
    for (size_t i = 0; i < M.n; i++)
        if (M.live[i].id == id)
            return i;
    return (size_t)-1;
}

static void model_erase(size_t i)
{
    M.live[i] = M.live[--M.n];
}

static double secs(int64_t ticks)
{
    return (double)ticks * 0.5;
}

static void push_task(cs_queue *q, const mtask *t)
{
    cs_task_spec s = spec(t->id, t->tenant, t->prio, secs(t->est));
    ck_assert_int_eq(cs_queue_push(q, &s, secs(t->arr)), CS_OK);
}

/* Compare the whole listing with the model sorted by its own comparator. */
static void check_listing(cs_queue *q, size_t k)
{
    static mtask sorted[MAX_LIVE];
    static uint64_t got[MAX_LIVE];
    memcpy(sorted, M.live, M.n * sizeof *sorted);
    qsort(sorted, M.n, sizeof *sorted, model_qsort_cmp);
    size_t count = 0;
    ck_assert_int_eq(cs_queue_order(q, secs(M.now), got, k, &count), CS_OK);
    ck_assert_uint_eq(count, k < M.n ? k : M.n);
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(got[i] == sorted[i].id, "policy %d, position %zu: got %llu want %llu",
                      (int)M.policy, i, (unsigned long long)got[i],
                      (unsigned long long)sorted[i].id);
}

static void run_model(cs_queue_policy policy, uint64_t seed, long nops, size_t soft_cap)
{
    test_rng r;
    test_rng_seed(&r, seed);
    memset(&M, 0, sizeof M);
    M.policy = policy;
    M.cap[0] = 40;
    M.cap[1] = 60;
    for (size_t i = 0; i < NTEN; i++)
        M.weight[i] = 1;
    bool fairish = policy == CS_QUEUE_FAIRSHARE || policy == CS_QUEUE_DRF;
    cs_fair *f = NULL;
    if (fairish) {
        f = make_fair(0.0, 2);
        ck_assert_int_eq(cs_fair_set_capacity(f, M.cap, 2), CS_OK);
    }
    cs_queue *q = make_queue(policy, 0.25, secs(DEFAULT_TICKS), f);
    uint64_t next_id = 1;
    for (long op = 0; op < nops; op++) {
        double u = test_rng_uniform(&r);
        double p_push = M.n < soft_cap ? 0.45 : 0.25;
        if (u < p_push || M.n == 0) {
            mtask t;
            /* Reuse an id of a gone task now and then. */
            t.id = next_id > 10 && test_rng_below(&r, 4) == 0 ? 1 + test_rng_below(&r, next_id - 1)
                                                              : next_id++;
            t.tenant = 1 + test_rng_below(&r, NTEN - 1);
            t.prio = (int64_t)test_rng_below(&r, 7) - 3;
            t.est = (int64_t)test_rng_below(&r, 17); /* 0 = unknown */
            /* Mostly past arrivals; some in the future, whose lines cross the
             * others later, exactly at tick times, with ties. */
            t.arr = M.now - (int64_t)test_rng_below(&r, 40);
            if (test_rng_below(&r, 4) == 0)
                t.arr += (int64_t)test_rng_below(&r, 50);
            cs_task_spec s = spec(t.id, t.tenant, t.prio, secs(t.est));
            cs_status st = cs_queue_push(q, &s, secs(t.arr));
            if (model_find(t.id) != (size_t)-1) {
                ck_assert_int_eq(st, CS_ERR_EXISTS);
            } else {
                ck_assert_int_eq(st, CS_OK);
                M.live[M.n++] = t;
            }
        } else if (u < p_push + 0.10) {
            uint64_t id = 1 + test_rng_below(&r, next_id);
            size_t i = model_find(id);
            ck_assert_int_eq(cs_queue_remove(q, id), i == (size_t)-1 ? CS_ERR_NOT_FOUND : CS_OK);
            if (i != (size_t)-1)
                model_erase(i);
        } else if (u < p_push + 0.35) {
            M.now += (int64_t)test_rng_below(&r, 4);
            uint64_t id;
            bool take = test_rng_below(&r, 4) != 0;
            cs_status st = take ? cs_queue_pop(q, secs(M.now), &id)
                                : cs_queue_peek(q, secs(M.now), &id);
            ck_assert_int_eq(st, CS_OK);
            size_t h = model_head();
            ck_assert_msg(id == M.live[h].id, "policy %d op %ld: got %llu want %llu",
                          (int)policy, op, (unsigned long long)id,
                          (unsigned long long)M.live[h].id);
            if (take)
                model_erase(h);
        } else if (u < p_push + 0.40) {
            size_t i = test_rng_below(&r, M.n);
            if (test_rng_below(&r, 2) == 0) {
                M.live[i].est = (int64_t)test_rng_below(&r, 17);
                ck_assert_int_eq(cs_queue_set_estimate(q, M.live[i].id, secs(M.live[i].est)),
                                 CS_OK);
            } else {
                M.live[i].prio = (int64_t)test_rng_below(&r, 7) - 3;
                ck_assert_int_eq(cs_queue_set_priority(q, M.live[i].id, M.live[i].prio), CS_OK);
            }
        } else if (u < p_push + 0.42) {
            /* Requeue: pop the head and push it back with its original
             * arrival; the full listing must be the same before and after. */
            size_t h = model_head();
            mtask t = M.live[h];
            static uint64_t before[MAX_LIVE], after[MAX_LIVE];
            size_t nb, na;
            ck_assert_int_eq(cs_queue_order(q, secs(M.now), before, MAX_LIVE, &nb), CS_OK);
            uint64_t id;
            ck_assert_int_eq(cs_queue_pop(q, secs(M.now), &id), CS_OK);
            ck_assert_uint_eq(id, t.id);
            push_task(q, &t);
            ck_assert_int_eq(cs_queue_order(q, secs(M.now), after, MAX_LIVE, &na), CS_OK);
            ck_assert_uint_eq(na, nb);
            ck_assert(memcmp(before, after, nb * sizeof *before) == 0);
        } else if (u < p_push + 0.44) {
            M.now += (int64_t)test_rng_below(&r, 2);
            check_listing(q, test_rng_below(&r, 3) == 0 ? MAX_LIVE : test_rng_below(&r, 20));
        } else if (fairish) {
            uint64_t tenant = 1 + test_rng_below(&r, NTEN - 1);
            unsigned what = (unsigned)test_rng_below(&r, 3);
            if (what == 0 && policy == CS_QUEUE_FAIRSHARE) {
                int64_t amount = (int64_t)test_rng_below(&r, 20);
                ck_assert_int_eq(cs_fair_charge(f, tenant, (double)amount, secs(M.now)), CS_OK);
                M.usage[tenant] += amount;
            } else if (what == 1) {
                /* Powers of two keep DRF's two divisions exact. */
                int64_t w = (int64_t)1 << test_rng_below(&r, 3);
                ck_assert_int_eq(cs_fair_set_weight(f, tenant, (double)w), CS_OK);
                M.weight[tenant] = w;
            } else {
                int64_t v[2] = {(int64_t)test_rng_below(&r, 4), (int64_t)test_rng_below(&r, 4)};
                bool rel = test_rng_below(&r, 2) == 0 && M.alloc[tenant][0] >= v[0] &&
                           M.alloc[tenant][1] >= v[1];
                if (rel) {
                    ck_assert_int_eq(cs_fair_release(f, tenant, v, 2), CS_OK);
                    M.alloc[tenant][0] -= v[0];
                    M.alloc[tenant][1] -= v[1];
                } else {
                    ck_assert_int_eq(cs_fair_allocate(f, tenant, v, 2), CS_OK);
                    M.alloc[tenant][0] += v[0];
                    M.alloc[tenant][1] += v[1];
                }
            }
        }
        ck_assert_uint_eq(cs_queue_size(q), M.n);
        if (op % 997 == 0)
            ck_assert_int_eq(cs_queue_check(q), CS_OK);
    }
    ck_assert_int_eq(cs_queue_check(q), CS_OK);
    check_listing(q, MAX_LIVE);
    cs_queue_destroy(q);
    cs_fair_destroy(f);
}

/* FCFS, priority, SJF, fair share and DRF against the model (_i is Check's
 * loop index). */
START_TEST(model_policies)
{
    static const cs_queue_policy policies[] = {CS_QUEUE_FCFS, CS_QUEUE_PRIORITY, CS_QUEUE_SJF,
                                               CS_QUEUE_FAIRSHARE, CS_QUEUE_DRF};
    run_model(policies[_i], 11 + (uint64_t)_i, 20000, 400);
}
END_TEST

START_TEST(hrrn_kinetic_vs_scan)
{
    /* 100k random operations: pushes (arrivals up to 20 s in the past, some
     * up to 25 s ahead), removals, peeks and pops at non-decreasing times
     * (often equal),
     * estimate changes, requeues and listings; small integer ticks make
     * equal ratios common. Each pick is checked against the O(n) scan. */
    run_model(CS_QUEUE_HRRN, 16, 100000, 3000);
}
END_TEST

START_TEST(hrrn_small_and_sparse)
{
    /* Few tasks in a tree that grew large: removals leave mostly empty leaves. */
    run_model(CS_QUEUE_HRRN, 17, 20000, 20);
}
END_TEST


START_TEST(lazy_deletion_and_updates)
{
    /* Cancels and re-keys leave stale entries behind; they are dropped in
     * bulk once they outnumber the live ones. Re-keys never allocate: the
     * allocator is armed to fail on any call. Expected orders by hand. */
    test_alloc ta = {0};
    cs_allocator a = test_alloc_make(&ta);
    cs_queue *q = make_queue_a(CS_QUEUE_SJF, 0, 1000, NULL, &a);
    /* 200 tasks, ids 1..200, estimate = id, all at t=0: SJF order = id order. */
    for (uint64_t id = 1; id <= 200; id++)
        push(q, id, 0, 0, (double)id, 0);
    /* Cancel every id not divisible by 10: 180 stale, 20 live (10, 20, ...). */
    for (uint64_t id = 1; id <= 200; id++)
        if (id % 10 != 0)
            ck_assert_int_eq(cs_queue_remove(q, id), CS_OK);
    ck_assert_int_eq(cs_queue_check(q), CS_OK);
    uint64_t want[20];
    for (size_t i = 0; i < 20; i++)
        want[i] = 10 * (i + 1);
    expect_order(q, 0, want, 20);
    /* 5000 re-keys of task 200 between estimates 0.5 and 205, none allocating:
     * at the end its estimate is 205, so it is still last. */
    test_alloc_fail_after(&ta, 1);
    for (int i = 0; i < 5000; i++)
        ck_assert_int_eq(cs_queue_set_estimate(q, 200, i % 2 ? 205.0 : 0.5), CS_OK);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(cs_queue_set_priority(q, 10, i), CS_OK);
    ck_assert_int_eq(ta.failures, 0);
    test_alloc_fail_after(&ta, 0);
    expect_order(q, 0, want, 20);
    /* Task 200 to 0.5 s: first. */
    ck_assert_int_eq(cs_queue_set_estimate(q, 200, 0.5), CS_OK);
    uint64_t want2[20] = {200};
    for (size_t i = 1; i < 20; i++)
        want2[i] = 10 * i;
    expect_order(q, 0, want2, 20);
    /* Cancelled ids can come back: slots are reused only once no stale entry
     * names them, so the order stays right. 5 (estimate 5) goes between 200
     * and 10; 15 (estimate 15) between 10 and 20. */
    push(q, 5, 0, 0, 5, 0);
    push(q, 15, 0, 0, 15, 0);
    uint64_t want3[22] = {200, 5, 10, 15};
    for (size_t i = 4; i < 22; i++)
        want3[i] = 10 * (i - 2);
    expect_order(q, 0, want3, 22);
    for (size_t i = 0; i < 22; i++)
        expect_pop(q, 1, want3[i]);
    cs_queue_destroy(q);
    ck_assert_int_eq(ta.live, 0);

    /* FCFS with out-of-order arrivals: the sorted run takes the in-order
     * ones, the heap the rest; the merge is the FCFS order. Arrivals
     * 0, 10, 5, 20, 15, 25, 1 (ids 1..7) -> by arrival: 1, 7, 3, 2, 5, 4, 6. */
    q = make_queue(CS_QUEUE_FCFS, 0, 1, NULL);
    const double arr[] = {0, 10, 5, 20, 15, 25, 1};
    for (uint64_t id = 1; id <= 7; id++)
        push(q, id, 0, 0, 0, arr[id - 1]);
    const uint64_t want4[] = {1, 7, 3, 2, 5, 4, 6};
    expect_order(q, 30, want4, 7);
    ck_assert_int_eq(cs_queue_remove(q, 3), CS_OK);
    ck_assert_int_eq(cs_queue_remove(q, 4), CS_OK);
    const uint64_t want5[] = {1, 7, 2, 5, 6};
    expect_order(q, 30, want5, 5);
    for (size_t i = 0; i < 5; i++)
        expect_pop(q, 30, want5[i]);
    cs_queue_destroy(q);
}
END_TEST

START_TEST(older_spec_struct)
{
    /* A caller compiled against the first published task spec (ending at
     * elastic_min) is accepted. */
    cs_queue *q = make_queue(CS_QUEUE_SJF, 0, 9, NULL);
    cs_task_spec t;
    size_t old = offsetof(cs_task_spec, elastic_min) + sizeof(uint32_t);
    ck_assert_int_eq(cs_task_spec_init(&t, old), CS_OK);
    t.id = 3;
    t.demand = one_cpu;
    t.num_resources = 1;
    t.runtime_estimate = 2;
    ck_assert_int_eq(cs_queue_push(q, &t, 0), CS_OK);
    push(q, 4, 0, 0, 1, 0);
    const uint64_t want[] = {4, 3};
    expect_order(q, 0, want, 2);
    cs_queue_destroy(q);
}
END_TEST

/* ---- bad inputs ------------------------------------------------------------ */

typedef struct qsnap {
    size_t n;
    uint64_t ids[64];
} qsnap;

static void take_qsnap(cs_queue *q, double now, qsnap *s)
{
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(cs_queue_order(q, now, s->ids, 64, &s->n), CS_OK);
    ck_assert_uint_eq(s->n, cs_queue_size(q));
}

static void assert_qsame(cs_queue *q, double now, const qsnap *before)
{
    qsnap after;
    take_qsnap(q, now, &after);
    ck_assert(memcmp(before, &after, sizeof after) == 0);
    ck_assert_int_eq(cs_queue_check(q), CS_OK);
}

START_TEST(bad_inputs_change_nothing)
{
    cs_fair *f = make_fair(0, 0);
    for (int p = CS_QUEUE_FCFS; p <= CS_QUEUE_DRF; p++) {
        cs_queue *q = make_queue((cs_queue_policy)p, 1e300, 1, f);
        push(q, 1, 1, 2, 3, 0);
        push(q, 2, 2, 1, 0, 1);
        push(q, 3, 1, 5, 1, 2);
        qsnap s;
        take_qsnap(q, 10, &s);

        cs_task_spec t = spec(4, 1, 0, 1);
        ck_assert_int_eq(cs_queue_push(NULL, &t, 0), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_push(q, NULL, 0), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_push(q, &t, DNAN), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_push(q, &t, -DINF), CS_ERR_INVALID);
        t = spec(CS_ID_NONE, 1, 0, 1);
        ck_assert_int_eq(cs_queue_push(q, &t, 0), CS_ERR_INVALID);
        t = spec(4, 1, 0, DNAN);
        ck_assert_int_eq(cs_queue_push(q, &t, 0), CS_ERR_INVALID);
        t = spec(4, 1, 0, -1);
        ck_assert_int_eq(cs_queue_push(q, &t, 0), CS_ERR_INVALID);
        t = spec(4, 1, 0, 1);
        t.count = 0;
        ck_assert_int_eq(cs_queue_push(q, &t, 0), CS_ERR_INVALID);
        int64_t huge[1] = {INT64_MAX};
        t = spec(4, 1, 0, 1);
        t.demand = huge;
        t.count = 2;
        ck_assert_int_eq(cs_queue_push(q, &t, 0), CS_ERR_OVERFLOW);
        t = spec(4, 1, 0, 1);
        t.size = 3;
        ck_assert_int_eq(cs_queue_push(q, &t, 0), CS_ERR_INVALID);
        t = spec(2, 1, 0, 1);
        ck_assert_int_eq(cs_queue_push(q, &t, 5), CS_ERR_EXISTS);
        if (p == CS_QUEUE_PRIORITY) {
            /* 1e300 * 1e300 - p overflows the static key. */
            t = spec(4, 1, 0, 1);
            ck_assert_int_eq(cs_queue_push(q, &t, 1e300), CS_ERR_INVALID);
        }

        ck_assert_int_eq(cs_queue_remove(NULL, 1), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_remove(q, 77), CS_ERR_NOT_FOUND);

        uint64_t id = 0;
        ck_assert_int_eq(cs_queue_peek(NULL, 10, &id), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_peek(q, 10, NULL), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_peek(q, DNAN, &id), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_peek(q, DINF, &id), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_peek(q, 9.5, &id), CS_ERR_INVALID); /* backwards */
        ck_assert_int_eq(cs_queue_pop(NULL, 10, &id), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_pop(q, 10, NULL), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_pop(q, 9.5, &id), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_pop(q, DNAN, &id), CS_ERR_INVALID);

        uint64_t ids[4];
        size_t n = 0;
        ck_assert_int_eq(cs_queue_order(NULL, 10, ids, 4, &n), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_order(q, 10, ids, 4, NULL), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_order(q, 10, NULL, 4, &n), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_order(q, 9.0, ids, 4, &n), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_order(q, DNAN, ids, 4, &n), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_order(q, 10, NULL, 0, &n), CS_OK);
        ck_assert_uint_eq(n, 0);

        ck_assert_int_eq(cs_queue_set_estimate(NULL, 1, 1), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_set_estimate(q, 1, -1), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_set_estimate(q, 1, DNAN), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_set_estimate(q, 1, DINF), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_set_estimate(q, 77, 1), CS_ERR_NOT_FOUND);
        ck_assert_int_eq(cs_queue_set_priority(NULL, 1, 1), CS_ERR_INVALID);
        ck_assert_int_eq(cs_queue_set_priority(q, 77, 1), CS_ERR_NOT_FOUND);

        ck_assert(!cs_queue_contains(NULL, 1));
        ck_assert(!cs_queue_contains(q, 77));
        ck_assert(!cs_queue_contains(q, CS_ID_NONE));
        ck_assert(cs_queue_contains(q, 3));
        ck_assert_uint_eq(cs_queue_size(NULL), 0);
        ck_assert_int_eq(cs_queue_check(NULL), CS_ERR_INVALID);
        assert_qsame(q, 10, &s);

        /* An empty queue reports NOT_FOUND and keeps its clock. */
        cs_queue *e = make_queue((cs_queue_policy)p, 0, 1, f);
        ck_assert_int_eq(cs_queue_peek(e, 100, &id), CS_ERR_NOT_FOUND);
        ck_assert_int_eq(cs_queue_pop(e, 100, &id), CS_ERR_NOT_FOUND);
        push(e, 1, 1, 0, 1, 0);
        ck_assert_int_eq(cs_queue_peek(e, 50, &id), CS_OK);
        ck_assert_uint_eq(id, 1);
        cs_queue_destroy(e);
        cs_queue_destroy(q);
    }
    cs_fair_destroy(f);
}
END_TEST

/* ---- allocation failures -------------------------------------------------- */

START_TEST(allocation_failures)
{
    test_alloc ta = {0};
    cs_allocator a = test_alloc_make(&ta);
    for (int p = CS_QUEUE_FCFS; p <= CS_QUEUE_DRF; p++) {
        cs_fair *f = make_fair(0, 0); /* its own allocator: only the queue fails */
        cs_queue_options o;
        cs_queue_options_init(&o, sizeof o);
        o.policy = (cs_queue_policy)p;
        o.fair = f;
        cs_queue *q = NULL;
        for (long k = 1;; k++) {
            test_alloc_fail_after(&ta, k);
            cs_status st = cs_queue_create(&o, &a, &q);
            test_alloc_fail_after(&ta, 0);
            if (st == CS_OK)
                break;
            ck_assert_int_eq(st, CS_ERR_NOMEM);
            ck_assert_ptr_null(q);
        }
        /* 40 pushes over 20 tenants: slots, map, heaps, tournament and
         * tenant tables all grow several times. */
        for (uint64_t id = 1; id <= 40; id++) {
            cs_task_spec t = spec(id, id % 20, (int64_t)(id % 3), (double)(id % 5));
            for (long k = 1;; k++) {
                qsnap before;
                take_qsnap(q, 100, &before);
                size_t tenants = cs_fair_num_tenants(f);
                test_alloc_fail_after(&ta, k);
                cs_status st = cs_queue_push(q, &t, (double)(id % 7));
                test_alloc_fail_after(&ta, 0);
                if (st == CS_OK)
                    break;
                ck_assert_int_eq(st, CS_ERR_NOMEM);
                assert_qsame(q, 100, &before);
                ck_assert_uint_eq(cs_fair_num_tenants(f), tenants);
            }
        }
        ck_assert_uint_eq(cs_queue_size(q), 40);
        ck_assert_int_eq(cs_queue_check(q), CS_OK);
        cs_queue_destroy(q);
        cs_fair_destroy(f);
        ck_assert_int_eq(ta.live, 0);

        /* The listing's scratch: a failed order changes nothing, not even the
         * clock (a later peek at an earlier time than the failed call works). */
        f = make_fair(0, 0);
        o.fair = f;
        ck_assert_int_eq(cs_queue_create(&o, &a, &q), CS_OK);
        for (uint64_t id = 1; id <= 50; id++)
            push(q, id, id % 4, 0, (double)(id % 9), (double)id);
        double now = 100;
        for (long k = 1;; k++) {
            uint64_t ids[64];
            size_t n = 0;
            test_alloc_fail_after(&ta, k);
            cs_status st = cs_queue_order(q, now + 10, ids, 64, &n);
            test_alloc_fail_after(&ta, 0);
            if (st == CS_OK) {
                ck_assert_uint_eq(n, 50);
                break;
            }
            ck_assert_int_eq(st, CS_ERR_NOMEM);
            uint64_t id;
            ck_assert_int_eq(cs_queue_peek(q, now, &id), CS_OK);
            now += 1;
        }
        cs_queue_destroy(q);
        cs_fair_destroy(f);
        ck_assert_int_eq(ta.live, 0);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("queue");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, options_and_create);
    tcase_add_test(tc, fcfs_hand);
    tcase_add_test(tc, priority_aging_hand);
    tcase_add_test(tc, sjf_hand);
    tcase_add_test(tc, hrrn_stallings);
    tcase_add_test(tc, hrrn_crossing_ties);
    tcase_add_test(tc, fairshare_hand);
    tcase_add_test(tc, fairshare_decay_order);
    tcase_add_test(tc, drf_paper_example);
    tcase_add_test(tc, drf_weighted_example);
    tcase_add_test(tc, two_queues_one_fair);
    tcase_add_loop_test(tc, model_policies, 0, 5);
    tcase_add_test(tc, hrrn_kinetic_vs_scan);
    tcase_add_test(tc, hrrn_small_and_sparse);
    tcase_add_test(tc, lazy_deletion_and_updates);
    tcase_add_test(tc, older_spec_struct);
    tcase_add_test(tc, bad_inputs_change_nothing);
    tcase_add_test(tc, allocation_failures);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
