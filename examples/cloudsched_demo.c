/* cloudsched-demo: one AI cluster, one stream of jobs, several schedulers.
 *
 *   cloudsched-demo [--quick] [--jobs N] [--config K] [DATA_DIR]
 *
 * The cluster is the GPU part of Alibaba's 2023 production trace
 * (DATA_DIR/alibaba-gpu-v2023/openb_node_list_gpu_node.csv: 1213 nodes, 6212
 * GPUs of eight models). Without the file (a clean clone), a built-in copy
 * of the same node types and counts is used, and the program says so.
 *
 * The jobs are generated with a fixed seed, so every run sees the same
 * stream, from eight tenants:
 *   - tenant 1, pre-training: gangs of 4-8 workers x 8 GPUs, hours long;
 *   - tenant 2, research: bursts of 160-320 jobs at once (1-4 workers x
 *     1-8 GPUs), about every two hours;
 *   - tenants 3-5, fine-tuning: 1-2 workers x 1-4 GPUs, one to three hours;
 *   - tenants 6-8, inference: one replica whose CPU, memory and GPU share
 *     are those of a pod of the Alibaba pod list (a fraction of a GPU, a
 *     whole one, or none), minutes long, priority 10 (training: 0).
 * Gangs ask for CS_TOPOLOGY_PACK (one rack if possible; racks are made of
 * 16 consecutive nodes, as the trace does not give any).
 * Every job carries its user's runtime estimate, which is generous and
 * rounded the way people round (up to the next quarter hour, often to a
 * default limit) - the estimates backfilling works with. The runtime of a
 * job depends on its tenant, its size and its kind, plus noise, so a
 * predictor that learns from completed jobs can do better than the users.
 *
 * The stream is replayed through each scheduler configuration (queue policy,
 * head-of-line rule, placement strategy, with or without runtime
 * prediction and preemption; see `configs` in main) by an event loop that plays the role of the caller (the library
 * itself never reads a clock): submit what arrives, step, start what the
 * step says, complete what finishes, and repeat at the next event.
 *
 * Columns (utilisation and fairness are measured while jobs arrive, from
 * the first arrival to the last: the loaded period, not the final drain):
 *   jobs      jobs completed (all of them; the program fails otherwise)
 *   wait      mean wait in minutes: completion - arrival - runtime (work
 *             lost to preemption counts as waiting)
 *   bsld      mean bounded slowdown max(1, (wait + run) / max(10 s, run))
 *   GPU util  GPU-seconds used / GPU-seconds available
 *   Jain      fairness between tenants: Jain's index (sum x)^2 / (n sum x^2)
 *             of x_i = GPU-seconds tenant i received / GPU-seconds it would
 *             have received under max-min fair division of the GPUs among
 *             the tenants' current demands (computed at every event with
 *             cs_balance_max_min); 1 = every tenant got the same fraction
 *             of its fair share
 *   preempt   preemptions
 *   dec/s     START decisions per CPU-second spent inside the library
 *             (timing: the only column that changes from run to run)
 * Below the table: how far the users' estimates and the predictor's were
 * from the actual runtimes.
 *
 * --quick keeps one node in four, and the job rates in proportion (for
 * `meson test`); --repeat replays each row twice and fails unless the two
 * agree bit for bit (timing aside); --jobs N replays only the first N jobs;
 * --config K runs only row K of the table.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cloudsched/cloudsched.h>

#ifndef CS_DATA_DIR
#define CS_DATA_DIR "../shared/data"
#endif

#define CHECK(call)                                                                 \
    do {                                                                            \
        cs_status st_ = (call);                                                     \
        if (st_ != CS_OK) {                                                         \
            fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #call,         \
                    cs_status_name(st_));                                           \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

enum { CPU, MEM, GPU, P };        /* resources: cpu_milli, memory_mib, gpu_milli */
enum { TENANTS = 8 };             /* tenant ids 1..8 */
enum { MAX_REPLICAS = 8 };
enum { NUM_FEATURES = 2 };        /* log2(GPUs of the job), inference ? 1 : 0 */

/* ------------------------------------------------------------------ */
/* Deterministic random numbers (SplitMix64).                           */

static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
    rng_state = seed;
}

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_uniform(void) /* in (0, 1) */
{
    return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

static int rng_int(int lo, int hi) /* in [lo, hi] */
{
    return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1));
}

static double rng_normal(void)
{
    return sqrt(-2.0 * log(rng_uniform())) * cos(6.283185307179586 * rng_uniform());
}

/* ------------------------------------------------------------------ */
/* The cluster.                                                         */

typedef struct node_type {
    int64_t cpu_milli, mem_mib, gpus;
    const char *model;
    int count;
} node_type;

/* The node types of openb_node_list_gpu_node.csv, with their counts. */
static const node_type builtin_cluster[] = {
    {104000, 524288, 2, "T4", 387},    {128000, 1048576, 1, "A10", 2},
    {128000, 786432, 8, "G3", 39},     {16000, 122880, 2, "P100", 107},
    {32000, 131072, 4, "V100M16", 28}, {48000, 376832, 4, "V100M32", 9},
    {64000, 262144, 2, "P100", 22},    {64000, 262144, 8, "V100M16", 7},
    {8000, 32768, 1, "V100M16", 19},   {8000, 61440, 1, "P100", 3},
    {8000, 61440, 2, "P100", 2},       {82000, 344064, 8, "V100M16", 1},
    {96000, 393216, 4, "T4", 17},      {96000, 393216, 8, "G2", 549},
    {96000, 786432, 8, "V100M32", 21},
};

typedef struct cluster {
    size_t n;
    int64_t (*cap)[P];
    char (*model)[16];
} cluster;

static int cluster_add(cluster *c, size_t *alloc, int64_t cpu, int64_t mem, int64_t gpus,
                       const char *model)
{
    if (c->n == *alloc) {
        size_t grow = *alloc ? 2 * *alloc : 256;
        void *a = realloc(c->cap, grow * sizeof *c->cap);
        if (a == NULL)
            return 0;
        c->cap = a;
        void *b = realloc(c->model, grow * sizeof *c->model);
        if (b == NULL)
            return 0;
        c->model = b;
        *alloc = grow;
    }
    c->cap[c->n][CPU] = cpu;
    c->cap[c->n][MEM] = mem;
    c->cap[c->n][GPU] = gpus * 1000;
    snprintf(c->model[c->n], sizeof c->model[c->n], "%s", model);
    c->n++;
    return 1;
}

/* Keep one node in `every` (in file order), so that --quick keeps the mix. */
static int load_cluster(const char *dir, int every, cluster *c)
{
    char path[1024], line[256];
    size_t alloc = 0, row = 0;
    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "%s/alibaba-gpu-v2023/openb_node_list_gpu_node.csv", dir);
    FILE *f = fopen(path, "r");
    if (f != NULL && fgets(line, sizeof line, f) != NULL) { /* skip the header */
        while (fgets(line, sizeof line, f) != NULL) {
            long long cpu, mem, gpu;
            char model[16] = "";
            if (sscanf(line, "%*[^,],%lld,%lld,%lld,%15[^,\r\n]", &cpu, &mem, &gpu, model) != 4)
                continue;
            if (row++ % (size_t)every == 0 && !cluster_add(c, &alloc, cpu, mem, gpu, model))
                break;
        }
    }
    if (f != NULL)
        fclose(f);
    if (c->n > 0) {
        printf("cluster: %zu GPU nodes of the Alibaba 2023 trace (%s)\n", c->n, path);
        return 1;
    }
    printf("cluster: %s not found; using the BUILT-IN copy of its node types\n", path);
    for (size_t t = 0; t < sizeof builtin_cluster / sizeof *builtin_cluster; t++)
        for (int i = 0; i < builtin_cluster[t].count; i++)
            if (row++ % (size_t)every == 0 &&
                !cluster_add(c, &alloc, builtin_cluster[t].cpu_milli, builtin_cluster[t].mem_mib,
                             builtin_cluster[t].gpus, builtin_cluster[t].model))
                return 0;
    return c->n > 0;
}

/* ------------------------------------------------------------------ */
/* Inference pod shapes (cpu_milli, memory_mib, gpu_milli) from the     */
/* Alibaba pod list: every pod with at most one GPU.                    */

typedef struct shape {
    int64_t d[P];
} shape;

/* A few rows of openb_pod_list_default.csv, used when it is absent. */
static const shape builtin_shapes[] = {
    {{12000, 16384, 1000}}, {{6000, 12288, 460}}, {{12000, 24576, 1000}},
    {{8000, 30000, 1000}},  {{4000, 15000, 500}}, {{2000, 4096, 0}},
    {{16000, 65536, 1000}}, {{4000, 16384, 500}}, {{6000, 24576, 1000}},
    {{3152, 5600, 590}},    {{8000, 32768, 250}}, {{1000, 2048, 0}},
};

static shape *load_shapes(const char *dir, size_t *count)
{
    char path[1024], line[512];
    size_t n = 0, cap = 0;
    shape *s = NULL;
    snprintf(path, sizeof path, "%s/alibaba-gpu-v2023/openb_pod_list_default.csv", dir);
    FILE *f = fopen(path, "r");
    if (f != NULL && fgets(line, sizeof line, f) != NULL) {
        while (fgets(line, sizeof line, f) != NULL) {
            long long cpu, mem, ngpu, gmilli;
            if (sscanf(line, "%*[^,],%lld,%lld,%lld,%lld,", &cpu, &mem, &ngpu, &gmilli) != 4 ||
                ngpu > 1 || cpu <= 0 || cpu > 32000 || mem > 131072)
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 1024;
                shape *g = realloc(s, cap * sizeof *s);
                if (g == NULL)
                    break;
                s = g;
            }
            s[n].d[CPU] = cpu;
            s[n].d[MEM] = mem;
            s[n].d[GPU] = ngpu * gmilli;
            n++;
        }
    }
    if (f != NULL)
        fclose(f);
    if (n > 0) {
        printf("inference pods: %zu shapes from the Alibaba pod list\n", n);
        *count = n;
        return s;
    }
    free(s);
    printf("inference pods: %s not found; using %zu BUILT-IN shapes\n", path,
           sizeof builtin_shapes / sizeof *builtin_shapes);
    *count = sizeof builtin_shapes / sizeof *builtin_shapes;
    s = malloc(sizeof builtin_shapes);
    if (s != NULL)
        memcpy(s, builtin_shapes, sizeof builtin_shapes);
    return s;
}

/* ------------------------------------------------------------------ */
/* The job stream.                                                      */

typedef struct job {
    double arrival, runtime, estimate; /* seconds */
    int64_t demand[P];                 /* per replica */
    uint32_t replicas;
    uint64_t tenant;
    int64_t priority; /* inference 10, training 0 (used by the preemption row) */
    double features[NUM_FEATURES];
} job;

typedef struct jobs {
    job *v;
    size_t n, cap;
} jobs;

static job *jobs_add(jobs *js)
{
    if (js->n == js->cap) {
        size_t cap = js->cap ? 2 * js->cap : 1024;
        job *g = realloc(js->v, cap * sizeof *g);
        if (g == NULL)
            return NULL;
        js->v = g;
        js->cap = cap;
    }
    memset(&js->v[js->n], 0, sizeof js->v[js->n]);
    return &js->v[js->n++];
}

/* What a user asks for: the runtime times a generous factor, rounded up to
 * the quarter hour; one user in five just takes the default limit. */
static double user_estimate(double runtime, double limit)
{
    if (rng_uniform() < 0.2)
        return limit;
    double e = ceil(runtime * exp(1.2 * rng_uniform()) / 900.0) * 900.0;
    return e < limit ? e : limit;
}

/* Runtime: log-normal around a median that grows slowly with the job's
 * GPU count, in whole seconds, at least a minute. */
static double runtime_for(double median, double gpus, double sigma)
{
    double r = median * pow(gpus > 1 ? gpus : 1, 0.15) * exp(sigma * rng_normal());
    return fmax(60.0, round(r));
}

static int cmp_arrival(const void *a, const void *b)
{
    const job *x = a, *y = b;
    if (x->arrival != y->arrival)
        return x->arrival < y->arrival ? -1 : 1;
    return x->tenant < y->tenant ? -1 : x->tenant > y->tenant;
}

/* Job j's GPU demand in milli-GPUs (all replicas). */
static double job_gpu(const job *j)
{
    return (double)j->replicas * (double)j->demand[GPU];
}

/* A training job: `workers` replicas of `gpus` GPUs with CPU and memory in
 * proportion; inference jobs take a pod shape instead. */
static job *new_job(jobs *js, double arrival, uint64_t tenant, uint32_t workers, int gpus)
{
    job *j = jobs_add(js);
    if (j == NULL)
        return NULL;
    j->arrival = arrival;
    j->tenant = tenant;
    j->replicas = workers;
    j->demand[CPU] = gpus * 1000 * rng_int(4, 10);
    j->demand[MEM] = gpus * 1024 * rng_int(16, 40);
    j->demand[GPU] = gpus * 1000;
    return j;
}

static void set_runtime(job *j, double median, double sigma, double limit)
{
    double gpus = job_gpu(j) / 1000.0;
    j->runtime = runtime_for(median, gpus, sigma);
    j->estimate = user_estimate(j->runtime, limit);
    j->features[0] = log2(gpus > 0.25 ? gpus : 0.25);
    j->features[1] = j->priority > 0;
}

/* Exponential inter-arrival time with the given mean, in whole seconds. */
static double gap(double mean)
{
    return fmax(1.0, round(-log(rng_uniform()) * mean));
}

/* Generate `window` seconds of arrivals for a cluster of `gpus` GPUs. Rates
 * are set for the full 6212-GPU cluster and scaled with it; the offered GPU
 * load is about 1.7 times the capacity while jobs arrive, so queues form.
 * Each tenant draws from its own random stream (seed = tenant id), so
 * changing one tenant's parameters leaves the others' jobs unchanged. */
static int make_jobs(jobs *js, double window, double gpus, const shape *shapes, size_t nshapes)
{
    double scale = gpus / 6212.0;
    job *j;
    /* Tenant 1: pre-training gangs, 4-8 workers x 8 GPUs, median 2 h. */
    rng_seed(1);
    for (double t = gap(180 / scale); t < window; t += gap(180 / scale)) {
        if ((j = new_job(js, t, 1, (uint32_t)rng_int(4, 8), 8)) == NULL)
            return 0;
        set_runtime(j, 2 * 3600.0, 0.5, 48 * 3600.0);
    }
    /* Tenant 2: research, bursts of 160-320 jobs at once about every 2 h,
     * 1-4 workers x 1-8 GPUs, median 80 min. */
    rng_seed(2);
    for (double t = gap(7200); t < window; t += gap(7200)) {
        int burst = (int)(rng_int(160, 320) * scale + 0.5);
        for (int b = 0; b < burst; b++) {
            if ((j = new_job(js, t, 2, 1u << rng_int(0, 2), 1 << rng_int(0, 3))) == NULL)
                return 0;
            set_runtime(j, 80 * 60.0, 0.7, 24 * 3600.0);
        }
    }
    /* Tenants 3-5: fine-tuning, 1-2 workers x 1-4 GPUs, medians 1, 2, 3 h. */
    for (uint64_t tenant = 3; tenant <= 5; tenant++) {
        rng_seed(tenant);
        for (double t = gap(36 / scale); t < window; t += gap(36 / scale)) {
            if ((j = new_job(js, t, tenant, (uint32_t)rng_int(1, 2), 1 << rng_int(0, 2))) == NULL)
                return 0;
            set_runtime(j, 3600.0 * (double)(tenant - 2), 0.5, 12 * 3600.0);
        }
    }
    /* Tenants 6-8: inference pods of the Alibaba trace (priority 10),
     * medians 10, 20, 30 min. */
    for (uint64_t tenant = 6; tenant <= 8; tenant++) {
        rng_seed(tenant);
        for (double t = gap(60 / scale); t < window; t += gap(60 / scale)) {
            if ((j = new_job(js, t, tenant, 1, 0)) == NULL)
                return 0;
            j->priority = 10;
            memcpy(j->demand, shapes[rng_next() % nshapes].d, sizeof j->demand);
            set_runtime(j, 600.0 * (double)(tenant - 5), 0.6, 4 * 3600.0);
        }
    }
    qsort(js->v, js->n, sizeof *js->v, cmp_arrival);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Completion events: a binary min-heap of (time, job). A preempted job's */
/* event goes stale (its run number moved on) and is skipped when popped. */

typedef struct event {
    double time;
    uint32_t job, run;
} event;

typedef struct heap {
    event *v;
    size_t n, cap;
} heap;

static int ev_less(const event *a, const event *b)
{
    return a->time < b->time || (a->time == b->time && a->job < b->job);
}

static int heap_push(heap *h, event e)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 1024;
        event *g = realloc(h->v, cap * sizeof *g);
        if (g == NULL)
            return 0;
        h->v = g;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && ev_less(&e, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = e;
    return 1;
}

static event heap_pop(heap *h)
{
    event top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && ev_less(&h->v[c + 1], &h->v[c]))
            c++;
        if (!ev_less(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n > 0)
        h->v[i] = last;
    return top;
}

/* ------------------------------------------------------------------ */
/* One scheduler configuration, replayed.                               */

typedef struct config {
    const char *name;
    cs_queue_policy policy;
    cs_head_of_line hol;
    cs_placement placement;
    int predict;    /* runtime prediction for ordering and backfilling */
    int preemption; /* priority policy: inference preempts training */
} config;

typedef struct result {
    size_t done;
    uint64_t decisions, preemptions;
    double wait, bsld, util, jain, seconds;
    double err_user, err_used; /* mean |estimate - runtime| / runtime */
} result;

/* Per-job state of one replay. */
typedef struct run_state {
    double start, end;
    uint32_t run; /* incremented by each start and preemption: tells stale events apart */
} run_state;

/* CPU time rather than wall time: the machine may be shared. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct sim {
    const cluster *c;
    const jobs *js;
    cs_pool *pool;
    cs_sched *sched;
    run_state *rs;
    heap events;
    double gpu_total;                /* milli-GPUs in the cluster */
    double window_end;
    double demand[TENANTS], alloc[TENANTS]; /* milli-GPUs wanted / held per tenant */
    double got[TENANTS], fair[TENANTS];     /* their time integrals */
    double lib_seconds;
    result r;
} sim;

static void apply_decisions(sim *s, double now, const cs_decision *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t j = (uint32_t)d[i].task;
        const job *jb = &s->js->v[j];
        run_state *r = &s->rs[j];
        if (d[i].kind == CS_DECISION_PREEMPT) {
            /* The job is back in the queue; its run so far is lost. */
            s->alloc[jb->tenant - 1] -= job_gpu(jb);
            r->run++;
            s->r.preemptions++;
            continue;
        }
        /* A real caller would now launch the replicas where
         * cs_sched_task_placement() says; here the job just runs. */
        s->alloc[jb->tenant - 1] += job_gpu(jb);
        r->start = now;
        r->run++;
        event e = {now + jb->runtime, j, r->run};
        if (!heap_push(&s->events, e)) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        s->r.decisions++;
    }
}

/* Time integrals over [now, next), clipped to the arrival window: GPU use
 * and fair shares. */
static void integrate(sim *s, cs_balance_workspace *ws, double now, double next)
{
    double dt = fmin(next, s->window_end) - now;
    if (dt <= 0)
        return;
    double total = 0, fair[TENANTS];
    for (int t = 0; t < TENANTS; t++)
        total += s->alloc[t];
    s->r.util += dt * total;
    CHECK(cs_balance_max_min(ws, TENANTS, s->demand, NULL, s->gpu_total, fair, NULL));
    for (int t = 0; t < TENANTS; t++) {
        s->got[t] += dt * s->alloc[t];
        s->fair[t] += dt * fair[t];
    }
}

static result replay(const cluster *c, const jobs *js, const config *cfg, cs_balance_workspace *ws)
{
    sim s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.js = js;
    s.rs = calloc(js->n, sizeof *s.rs);
    if (s.rs == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }

    /* The pool: one node per row of the node list, id = row. */
    const char *names[P] = {"cpu_milli", "memory_mib", "gpu_milli"};
    CHECK(cs_pool_create(P, names, NULL, NULL, &s.pool));
    for (size_t i = 0; i < c->n; i++) {
        cs_node_spec spec;
        cs_label label = {"model", c->model[i]};
        CHECK(cs_node_spec_init(&spec, sizeof spec));
        spec.capacity = c->cap[i];
        spec.num_resources = P;
        spec.labels = &label;
        spec.num_labels = 1;
        spec.rack = (uint32_t)(i / 16); /* 16 nodes to a rack, for gang packing */
        CHECK(cs_pool_add_node(s.pool, i, &spec, NULL));
        s.gpu_total += (double)c->cap[i][GPU];
    }

    /* The predictor learns log(runtime) per tenant from the job's features
     * and the log of its user estimate; the scheduler feeds it every
     * completion and asks it at every submission. */
    cs_predict *pred = NULL;
    if (cfg->predict) {
        cs_predict_options po;
        CHECK(cs_predict_options_init(&po, sizeof po));
        po.num_features = NUM_FEATURES;
        CHECK(cs_predict_create(&po, NULL, &pred));
    }
    cs_sched_options so;
    CHECK(cs_sched_options_init(&so, sizeof so));
    so.policy = cfg->policy;
    so.head_of_line = cfg->hol;
    so.backfill_depth = 1; /* EASY */
    so.placement = cfg->placement;
    so.preemption = cfg->preemption;
    so.predictor = pred;
    so.use_predictions = cfg->predict;
    so.fair_half_life = 3600.0; /* the demo spans hours, not weeks */
    CHECK(cs_sched_create(s.pool, &so, NULL, &s.sched));

    enum { CAP = 512 };
    cs_decision dec[CAP];
    size_t next = 0, done = 0;
    double now = js->v[0].arrival, first = now;
    s.window_end = js->v[js->n - 1].arrival;
    while (done < js->n) {
        double t0 = cpu_seconds();
        /* 1. Completions due now. */
        while (s.events.n > 0 && s.events.v[0].time <= now) {
            event e = heap_pop(&s.events);
            run_state *r = &s.rs[e.job];
            if (e.run != r->run)
                continue; /* preempted since */
            const job *jb = &js->v[e.job];
            cs_task_info info = {.size = sizeof info};
            CHECK(cs_sched_task_info(s.sched, e.job, &info));
            s.r.err_user += fabs(info.user_estimate - jb->runtime) / jb->runtime;
            s.r.err_used += fabs(info.estimate - jb->runtime) / jb->runtime;
            CHECK(cs_sched_complete(s.sched, e.job, now));
            CHECK(cs_sched_forget(s.sched, e.job)); /* keep memory bounded */
            s.alloc[jb->tenant - 1] -= job_gpu(jb);
            s.demand[jb->tenant - 1] -= job_gpu(jb);
            r->end = now;
            done++;
        }
        /* 2. Arrivals due now. */
        for (; next < js->n && js->v[next].arrival <= now; next++) {
            const job *jb = &js->v[next];
            cs_task_spec t;
            CHECK(cs_task_spec_init(&t, sizeof t));
            t.id = next;
            t.tenant = jb->tenant;
            t.priority = jb->priority;
            t.demand = jb->demand;
            t.num_resources = P;
            t.count = jb->replicas;
            t.topology = jb->replicas > 1 ? CS_TOPOLOGY_PACK : CS_TOPOLOGY_ANY;
            t.runtime_estimate = jb->estimate;
            t.features = jb->features;
            t.num_features = NUM_FEATURES;
            CHECK(cs_sched_submit(s.sched, &t, now));
            s.demand[jb->tenant - 1] += job_gpu(jb);
        }
        /* 3. Decisions, until a step leaves room in the buffer. */
        size_t n;
        do {
            CHECK(cs_sched_step(s.sched, now, dec, CAP, &n));
            apply_decisions(&s, now, dec, n);
        } while (n == CAP);
        s.lib_seconds += cpu_seconds() - t0;
        /* 4. The next event. */
        while (s.events.n > 0 && s.events.v[0].run != s.rs[s.events.v[0].job].run)
            heap_pop(&s.events);
        double t_next = HUGE_VAL;
        if (s.events.n > 0)
            t_next = s.events.v[0].time;
        if (next < js->n && js->v[next].arrival < t_next)
            t_next = js->v[next].arrival;
        if (t_next == HUGE_VAL)
            break;
        integrate(&s, ws, now, t_next);
        now = t_next;
    }
    CHECK(cs_sched_check(s.sched));

    result r = s.r;
    r.done = done;
    double span = s.window_end - first;
    r.util /= s.gpu_total * span;
    double sx = 0, sx2 = 0;
    int nt = 0;
    for (int t = 0; t < TENANTS; t++)
        if (s.fair[t] > 0) {
            double x = s.got[t] / s.fair[t];
            sx += x;
            sx2 += x * x;
            nt++;
        }
    r.jain = nt > 0 ? sx * sx / (nt * sx2) : 1.0;
    for (size_t j = 0; j < js->n; j++) {
        double flow = s.rs[j].end - js->v[j].arrival;
        r.wait += flow - js->v[j].runtime;
        r.bsld += fmax(1.0, flow / fmax(10.0, js->v[j].runtime));
    }
    r.wait /= (double)js->n;
    r.bsld /= (double)js->n;
    r.err_user /= (double)js->n;
    r.err_used /= (double)js->n;
    r.seconds = s.lib_seconds;
    cs_sched_destroy(s.sched);
    cs_predict_destroy(pred);
    cs_pool_destroy(s.pool);
    free(s.events.v);
    free(s.rs);
    return r;
}

int main(int argc, char **argv)
{
    const char *dir = CS_DATA_DIR;
    int quick = 0, repeat = 0;
    long max_jobs = 0, only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--repeat") == 0)
            repeat = 1;
        else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
            max_jobs = atol(argv[++i]);
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            only = atol(argv[++i]);
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [--quick] [--repeat] [--jobs N] [--config K] [DATA_DIR]\n", argv[0]);
            return 2;
        } else
            dir = argv[i];
    }
    printf("libcloudsched %s demo%s\n", cs_version(), quick ? " (--quick: 1 node in 4)" : "");

    cluster c;
    size_t nshapes = 0;
    int have_cluster = load_cluster(dir, quick ? 4 : 1, &c);
    shape *shapes = load_shapes(dir, &nshapes);
    if (!have_cluster || shapes == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    double gpus = 0;
    for (size_t i = 0; i < c.n; i++)
        gpus += (double)c.cap[i][GPU] / 1000.0;
    jobs js = {0};
    if (!make_jobs(&js, 6 * 3600.0, gpus, shapes, nshapes)) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    if (max_jobs > 0 && (size_t)max_jobs < js.n)
        js.n = (size_t)max_jobs;
    size_t gangs = 0, infer = 0;
    for (size_t j = 0; j < js.n; j++) {
        gangs += js.v[j].replicas > 1;
        infer += js.v[j].priority > 0;
    }
    double work[TENANTS] = {0}, window = js.v[js.n - 1].arrival, offered = 0;
    for (size_t j = 0; j < js.n; j++)
        work[js.v[j].tenant - 1] += job_gpu(&js.v[j]) / 1000.0 * js.v[j].runtime;
    for (int t = 0; t < TENANTS; t++)
        offered += work[t] / (gpus * window);
    printf("%zu nodes, %.0f GPUs; %zu jobs over %.1f h from %d tenants "
           "(%zu gangs, %zu inference pods); offered GPU load %.2f\n",
           c.n, gpus, js.n, window / 3600.0, TENANTS, gangs, infer, offered);
    printf("GPU load by tenant:");
    for (int t = 0; t < TENANTS; t++)
        printf(" %.2f", work[t] / (gpus * window));
    printf("\n\n");

    static const config configs[] = {
        {"FCFS strict, first fit", CS_QUEUE_FCFS, CS_HOL_STRICT, CS_PLACE_FIRST_FIT, 0, 0},
        {"FCFS+EASY, best fit", CS_QUEUE_FCFS, CS_HOL_BACKFILL, CS_PLACE_BEST_FIT, 0, 0},
        {"FCFS+EASY+predict, best fit", CS_QUEUE_FCFS, CS_HOL_BACKFILL, CS_PLACE_BEST_FIT, 1, 0},
        {"SJF+EASY+predict, best fit", CS_QUEUE_SJF, CS_HOL_BACKFILL, CS_PLACE_BEST_FIT, 1, 0},
        {"fair share+EASY+predict", CS_QUEUE_FAIRSHARE, CS_HOL_BACKFILL, CS_PLACE_BEST_FIT, 1, 0},
        {"DRF+EASY+predict", CS_QUEUE_DRF, CS_HOL_BACKFILL, CS_PLACE_BEST_FIT, 1, 0},
        {"FCFS+EASY+predict, balanced", CS_QUEUE_FCFS, CS_HOL_BACKFILL, CS_PLACE_LOAD_BALANCE, 1,
         0},
        {"priority+preempt, most alloc", CS_QUEUE_PRIORITY, CS_HOL_BACKFILL,
         CS_PLACE_MOST_ALLOCATED, 1, 1},
    };
    cs_balance_workspace *ws;
    CHECK(cs_balance_workspace_create(NULL, &ws));
    printf("%-30s %5s %9s %6s %9s %6s %8s %8s\n", "scheduler", "jobs", "wait(min)", "bsld",
           "GPU util", "Jain", "preempt", "dec/s*");
    int ok = 1, have_pred = 0;
    result pr = {0};
    for (size_t k = 0; k < sizeof configs / sizeof *configs; k++) {
        if (only > 0 && (size_t)only != k + 1)
            continue;
        result r = replay(&c, &js, &configs[k], ws);
        printf("%-30s %5zu %9.1f %6.2f %8.1f%% %6.3f %8" PRIu64 " %8.0f\n", configs[k].name,
               r.done, r.wait / 60.0, r.bsld, 100 * r.util, r.jain, r.preemptions,
               (double)r.decisions / r.seconds);
        fflush(stdout);
        ok &= r.done == js.n;
        if (repeat) {
            /* The same inputs must give the same decisions: replay with
             * fresh handles (other addresses) and compare every metric but
             * the timing, bit for bit. */
            result a = replay(&c, &js, &configs[k], ws);
            if (a.done != r.done || a.decisions != r.decisions ||
                a.preemptions != r.preemptions || a.wait != r.wait || a.bsld != r.bsld ||
                a.util != r.util || a.jain != r.jain || a.err_user != r.err_user ||
                a.err_used != r.err_used) {
                printf("  NOT DETERMINISTIC: the replay gave different results\n");
                ok = 0;
            }
        }
        if (configs[k].predict && !have_pred) {
            pr = r;
            have_pred = 1;
        }
    }
    printf("* START decisions per CPU-second spent in the library: timing, the only column\n"
           "  that changes from run to run.\n");
    if (have_pred)
        printf("runtime estimates, mean |estimate - runtime| / runtime: users %.2f, "
               "predictor %.2f\n",
               pr.err_user, pr.err_used);
    cs_balance_workspace_destroy(ws);
    free(js.v);
    free(shapes);
    free(c.cap);
    free(c.model);
    return ok ? 0 : 1;
}
