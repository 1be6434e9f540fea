/* Queue throughput: one op = one push + one pop at a steady n pending.
 * Cases fcfs, priority, sjf, fairshare, drf against a plain binary heap over
 * the same keys (baseline "heap"); hrrn against the O(n) scan of response
 * ratios (baseline "scan"); hrrn_pick times selection alone (the clock moves one
 * second, then a peek) against the same scan. Extra cases fairshare_charge and drf_alloc add
 * the fair-state update the scheduler makes per started task (a charge, or an
 * allocate plus the release of an older task), which re-sorts tenants.
 * JSON lines on stdout (docs/internals.md), notes on stderr.
 * Usage: bench_queue [--quick] [--case NAME] */
#include "benchutil.h"

#include <math.h>

#include "cloudsched/cloudsched.h"

#define REPS 5
#define TENANTS 100

/* ---- inputs ------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double unif(void)
{
    return (double)(rnd() >> 11) * 0x1.0p-53;
}

/* Runtime estimates: log-uniform over 10 s .. 1 day, as batch workloads are. */
static double runtime(void)
{
    return 10.0 * pow(8640.0, unif());
}

typedef struct inputs {
    size_t m;
    uint64_t *tenant;
    int64_t *prio;
    double *est;
} inputs;

static void inputs_make(inputs *in, size_t m)
{
    in->m = m;
    in->tenant = malloc(m * sizeof *in->tenant);
    in->prio = malloc(m * sizeof *in->prio);
    in->est = malloc(m * sizeof *in->est);
    if (in->tenant == NULL || in->prio == NULL || in->est == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < m; i++) {
        in->tenant[i] = 1 + rnd() % TENANTS;
        in->prio[i] = (int64_t)(rnd() % 100);
        in->est[i] = runtime();
    }
}

static void inputs_free(inputs *in)
{
    free(in->tenant);
    free(in->prio);
    free(in->est);
}

/* ---- ours --------------------------------------------------------------- */

/* What one op does beyond push + pop; WORK_PICK replaces them by a peek at a
 * later time (selection only). */
typedef enum extra_work { WORK_NONE, WORK_CHARGE, WORK_ALLOC, WORK_PICK } extra_work;

static const int64_t demand2[2] = {1000, 4096};

static void check(cs_status st, const char *what)
{
    if (st != CS_OK) {
        fprintf(stderr, "%s: %s\n", what, cs_status_name(st));
        exit(1);
    }
}

/* ns per op (median of REPS), n pending, `ops` push+pop per repetition. */
static double run_ours(cs_queue_policy policy, extra_work work, size_t n, size_t ops,
                       const inputs *pre, const inputs *in)
{
    cs_fair_options fo;
    cs_fair_options_init(&fo, sizeof fo);
    fo.half_life = 3600.0;
    fo.num_resources = 2;
    cs_fair *f = NULL;
    check(cs_fair_create(&fo, NULL, &f), "fair");
    int64_t cap[2] = {1000000000, 4096000000};
    check(cs_fair_set_capacity(f, cap, 2), "capacity");
    /* Tenants start with different usage and shares, so the order matters. */
    for (uint64_t t = 1; t <= TENANTS; t++) {
        int64_t v[2] = {(int64_t)(rnd() % 100000), (int64_t)(rnd() % 100000)};
        check(cs_fair_charge(f, t, 1000.0 * unif(), 0.0), "charge");
        check(cs_fair_allocate(f, t, v, 2), "allocate");
    }
    cs_queue_options o;
    cs_queue_options_init(&o, sizeof o);
    o.policy = policy;
    o.aging_slope = 0.01;
    o.fair = f;
    cs_queue *q = NULL;
    check(cs_queue_create(&o, NULL, &q), "create");
    cs_task_spec s;
    cs_task_spec_init(&s, sizeof s);
    s.demand = demand2;
    s.num_resources = 2;
    /* One op per second of simulated time; the pending tasks arrived over
     * the n seconds before. */
    double now = 0.0;
    uint64_t id = 1;
    for (size_t i = 0; i < n; i++) {
        s.id = id++;
        s.tenant = pre->tenant[i];
        s.priority = pre->prio[i];
        s.runtime_estimate = pre->est[i];
        check(cs_queue_push(q, &s, -(double)(n - i)), "prefill");
    }
    /* Tenant of each task id, to charge the tenant of the task popped. */
    uint64_t *tenant_of = malloc((n + REPS * ops + 1) * sizeof *tenant_of);
    if (tenant_of == NULL)
        exit(1);
    for (size_t i = 0; i < n; i++)
        tenant_of[i + 1] = pre->tenant[i];
    uint64_t ring[64] = {0}; /* tenants of started tasks, for releases */
    double per[REPS];
    uint64_t sink = 0;
    for (int r = 0; r < REPS; r++) {
        double t0 = bench_now();
        for (size_t i = 0; i < ops; i++) {
            size_t j = (r * ops + i) % in->m;
            uint64_t out;
            if (work == WORK_PICK) {
                cs_queue_peek(q, now, &out);
                sink += out;
                now += 1.0;
                continue;
            }
            s.id = id++;
            s.tenant = in->tenant[j];
            s.priority = in->prio[j];
            s.runtime_estimate = in->est[j];
            tenant_of[s.id] = s.tenant;
            cs_queue_push(q, &s, now);
            cs_queue_pop(q, now, &out);
            sink += out;
            if (work == WORK_CHARGE) {
                cs_fair_charge(f, tenant_of[out], in->est[j], now);
            } else if (work == WORK_ALLOC) {
                uint64_t t = tenant_of[out], old = ring[i % 64];
                cs_fair_allocate(f, t, demand2, 2);
                if (old != 0)
                    cs_fair_release(f, old, demand2, 2);
                ring[i % 64] = t;
            }
            now += 1.0;
        }
        per[r] = (bench_now() - t0) * 1e9 / (double)ops;
    }
    bench_consume(sink);
    if (cs_queue_size(q) != n && work != WORK_PICK) {
        fprintf(stderr, "size drifted\n");
        exit(1);
    }
    free(tenant_of);
    cs_queue_destroy(q);
    cs_fair_destroy(f);
    return bench_median(per, REPS);
}

/* ---- baseline: a plain binary heap ------------------------------------------ */

typedef struct bentry {
    double key;
    uint64_t id;
} bentry;

static inline int bless(const bentry *a, const bentry *b)
{
    return a->key < b->key || (a->key == b->key && a->id < b->id);
}

static void bpush(bentry *h, size_t *n, bentry x)
{
    size_t i = (*n)++;
    while (i > 0 && bless(&x, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static bentry bpop(bentry *h, size_t *n)
{
    bentry top = h[0], x = h[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && bless(&h[c + 1], &h[c]))
            c++;
        if (!bless(&h[c], &x))
            break;
        h[i] = h[c];
        i = c;
    }
    if (m > 0)
        h[i] = x;
    return top;
}

/* The key each policy would give a task: arrival, static aged priority,
 * estimate; fair policies use the arrival inside a tenant, so the heap over
 * arrivals is their baseline too. */
static double base_key(cs_queue_policy p, const inputs *in, size_t j, double arrival)
{
    switch (p) {
    case CS_QUEUE_PRIORITY:
        return 0.01 * arrival - (double)in->prio[j];
    case CS_QUEUE_SJF:
        return in->est[j];
    default:
        return arrival;
    }
}

static double run_heap(cs_queue_policy policy, size_t n, size_t ops, const inputs *pre,
                       const inputs *in)
{
    bentry *h = malloc((n + 1) * sizeof *h);
    if (h == NULL)
        exit(1);
    size_t m = 0;
    uint64_t id = 1;
    for (size_t i = 0; i < n; i++) {
        bentry e = {base_key(policy, pre, i, -(double)(n - i)), id++};
        bpush(h, &m, e);
    }
    double per[REPS], now = 0.0;
    uint64_t sink = 0;
    for (int r = 0; r < REPS; r++) {
        double t0 = bench_now();
        for (size_t i = 0; i < ops; i++) {
            size_t j = (r * ops + i) % in->m;
            bentry e = {base_key(policy, in, j, now), id++};
            bpush(h, &m, e);
            sink += bpop(h, &m).id;
            now += 1.0;
        }
        per[r] = (bench_now() - t0) * 1e9 / (double)ops;
    }
    bench_consume(sink);
    free(h);
    return bench_median(per, REPS);
}

/* ---- baseline: the O(n) HRRN scan --------------------------------------------- */

static double run_scan(size_t n, size_t ops, const inputs *pre, const inputs *in, int pick)
{
    double *a = malloc((n + 1) * sizeof *a), *s = malloc((n + 1) * sizeof *s);
    uint64_t *ids = malloc((n + 1) * sizeof *ids);
    if (a == NULL || s == NULL || ids == NULL)
        exit(1);
    uint64_t id = 1;
    for (size_t i = 0; i < n; i++) {
        a[i] = -(double)(n - i);
        s[i] = pre->est[i];
        ids[i] = id++;
    }
    size_t m = n;
    double per[REPS], now = 0.0;
    uint64_t sink = 0;
    for (int r = 0; r < REPS; r++) {
        double t0 = bench_now();
        for (size_t i = 0; i < ops; i++) {
            size_t j = (r * ops + i) % in->m;
            if (!pick) {
                a[m] = now;
                s[m] = in->est[j];
                ids[m] = id++;
                m++;
            }
            /* The same comparison as the queue: cross-multiplied ratios. */
            size_t best = 0;
            for (size_t k = 1; k < m; k++) {
                double l = ((now - a[k]) + s[k]) * s[best];
                double rr = ((now - a[best]) + s[best]) * s[k];
                if (l > rr || (l == rr && (a[k] < a[best] || (a[k] == a[best] && ids[k] < ids[best]))))
                    best = k;
            }
            sink += ids[best];
            if (!pick) {
                m--;
                a[best] = a[m];
                s[best] = s[m];
                ids[best] = ids[m];
            }
            now += 1.0;
        }
        per[r] = (bench_now() - t0) * 1e9 / (double)ops;
    }
    bench_consume(sink);
    free(a);
    free(s);
    free(ids);
    return bench_median(per, REPS);
}

/* ---- driver ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    int quick = bench_quick(argc, argv);
    const char *only = NULL; /* --case NAME runs one case */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--case") == 0)
            only = argv[i + 1];
    const size_t sizes_full[] = {1000, 10000, 100000, 1000000};
    const size_t sizes_quick[] = {1000, 10000};
    const size_t *sizes = quick ? sizes_quick : sizes_full;
    size_t nsizes = quick ? 2 : 4;
    const struct {
        const char *name;
        cs_queue_policy policy;
        extra_work work;
    } cases[] = {
        {"fcfs", CS_QUEUE_FCFS, WORK_NONE},
        {"priority", CS_QUEUE_PRIORITY, WORK_NONE},
        {"sjf", CS_QUEUE_SJF, WORK_NONE},
        {"hrrn", CS_QUEUE_HRRN, WORK_NONE},
        {"hrrn_pick", CS_QUEUE_HRRN, WORK_PICK},
        {"fairshare", CS_QUEUE_FAIRSHARE, WORK_NONE},
        {"drf", CS_QUEUE_DRF, WORK_NONE},
        {"fairshare_charge", CS_QUEUE_FAIRSHARE, WORK_CHARGE},
        {"drf_alloc", CS_QUEUE_DRF, WORK_ALLOC},
    };
    size_t ops = quick ? 20000 : 200000;
    inputs in;
    inputs_make(&in, ops * REPS);
    fprintf(stderr, "bench_queue: one op = one push + one pop at n pending; %s run\n",
            quick ? "quick" : "full");
    for (size_t si = 0; si < nsizes; si++) {
        size_t n = sizes[si];
        inputs pre;
        inputs_make(&pre, n);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            if (only != NULL && strcmp(only, cases[c].name) != 0)
                continue;
            double ours = run_ours(cases[c].policy, cases[c].work, n, ops, &pre, &in);
            long p = cases[c].policy >= CS_QUEUE_FAIRSHARE ? TENANTS : 0;
            if (cases[c].policy == CS_QUEUE_HRRN) {
                /* The scan costs O(n) per pick: fewer ops at large n. */
                size_t sops = (size_t)(2e7 / (double)n);
                sops = sops < 20 ? 20 : sops > ops ? ops : sops;
                double scan = run_scan(n, sops, &pre, &in, cases[c].work == WORK_PICK);
                bench_record("queue", cases[c].name, (long)n, p, ours, (long)ops, "scan", scan,
                             cases[c].work == WORK_PICK ? ",\"op\":\"advance+peek\"" : NULL);
            } else {
                double heap = run_heap(cases[c].policy, n, ops, &pre, &in);
                const char *extra = cases[c].work == WORK_CHARGE  ? ",\"includes\":\"charge\""
                                    : cases[c].work == WORK_ALLOC ? ",\"includes\":\"allocate+release\""
                                                                  : NULL;
                bench_record("queue", cases[c].name, (long)n, p, ours, (long)ops, "heap", heap,
                             extra);
            }
        }
        inputs_free(&pre);
    }
    inputs_free(&in);
    return 0;
}
