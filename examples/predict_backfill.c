/* predict_backfill: runtime prediction feeding EASY backfilling, on the
 * KTH-SP2 batch log (Parallel Workloads Archive).
 *
 *   predict_backfill [--limit N] [trace.swf]
 *
 * Backfilling starts a waiting job early when it will end before the
 * reservation of the job at the head of the queue, and "will end" means
 * "according to its runtime estimate". Users' estimates are poor (on this
 * log the mean |estimate - runtime| / runtime is about 3), so backfilling
 * plans with end times that are mostly far too late. The scheduler can
 * instead ask a cs_predict predictor, which learns from every completed
 * job (per user: the scheduler's tenant is the predictor's key) and answers
 * at every submission (Tsafrir, Etsion and Feitelson, "Backfilling using
 * system-generated predictions rather than user runtime estimates", IEEE
 * TPDS 2007). Options: predictor = the handle, use_predictions = 1.
 *
 * The machine: 100 nodes of one processor (as the SP2 was); a job asking
 * for k processors is a gang of k single-processor replicas. The jobs are
 * replayed in submission order with their real runtimes (capped at the
 * requested time, as the system killed them there), through:
 *   1. FCFS + EASY with the users' estimates (the classic)
 *   2. FCFS + EASY with predictions
 *   3. SJF + EASY with predictions (shortest predicted job first; the
 *      combination Tsafrir et al. recommend)
 *   4. FCFS + EASY with exact runtimes (an oracle, for reference)
 *   5. FCFS + conservative backfilling (a reservation for every waiting
 *      job) with the users' estimates
 * and the program prints the mean wait, the mean bounded slowdown
 * max(1, (wait + run) / max(10 s, run)), the utilisation, the share of jobs
 * started by backfilling, and the estimate error.
 *
 * Without the trace (a clean clone) it falls back to the 1000-job slice in
 * tests/data and says so. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cloudsched/cloudsched.h>

#ifndef CS_DATA_DIR
#define CS_DATA_DIR "../shared/data"
#endif
#ifndef CS_FALLBACK_SWF
#define CS_FALLBACK_SWF "tests/data/kth_sp2_slice.swf"
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

enum { NODES = 100 };

typedef struct job {
    double submit, run, requested; /* seconds */
    uint32_t procs;
    uint64_t user;
    double feature; /* log2(procs): what the predictor may use besides the estimate */
} job;

/* Read an SWF log, cleaned as the data README says: jobs with more than
 * MaxProcs processors dropped, requested processors = allocated when
 * missing, run <= 0 or requested time <= 0 dropped, run capped at the
 * requested time. Submit times are made relative to the first job. */
static job *read_swf(FILE *f, size_t limit, size_t *count)
{
    size_t n = 0, cap = 4096;
    job *v = malloc(cap * sizeof *v);
    char line[1024];
    double maxprocs = NODES;
    while (v != NULL && n < limit && fgets(line, sizeof line, f) != NULL) {
        if (line[0] == ';') {
            const char *m = strstr(line, "MaxProcs:");
            if (m != NULL)
                maxprocs = strtod(m + 9, NULL);
            continue;
        }
        double x[18];
        char *p = line;
        int k = 0;
        for (; k < 18; k++) {
            char *end;
            x[k] = strtod(p, &end);
            if (end == p)
                break;
            p = end;
        }
        if (k < 18)
            continue;
        double run = x[3], alloc = x[4], procs = x[7], req = x[8];
        if (procs <= 0)
            procs = alloc;
        if (procs <= 0 || procs > maxprocs || procs > NODES || run <= 0 || req <= 0)
            continue;
        if (n == cap) {
            job *g = realloc(v, 2 * cap * sizeof *v);
            if (g == NULL)
                break;
            v = g;
            cap *= 2;
        }
        v[n].submit = x[1];
        v[n].run = run < req ? run : req;
        v[n].requested = req;
        v[n].procs = (uint32_t)procs;
        v[n].user = (uint64_t)x[11];
        v[n].feature = log2(procs);
        n++;
    }
    for (size_t i = 1; i < n; i++)
        v[i].submit -= v[0].submit;
    if (n > 0)
        v[0].submit = 0;
    *count = n;
    return v;
}

typedef enum estimates { USER, PREDICTED, EXACT } estimates;

typedef struct config {
    const char *name;
    cs_queue_policy policy;
    uint32_t depth; /* 1 = EASY */
    estimates est;
} config;

/* Completion events, a binary min-heap on (time, job). */
typedef struct ev {
    double t;
    size_t j;
} ev;

static int ev_before(ev a, ev b)
{
    return a.t < b.t || (a.t == b.t && a.j < b.j);
}

static void push(ev *h, size_t *n, ev e)
{
    size_t i = (*n)++;
    for (; i > 0 && ev_before(e, h[(i - 1) / 2]); i = (i - 1) / 2)
        h[i] = h[(i - 1) / 2];
    h[i] = e;
}

static ev pop(ev *h, size_t *n)
{
    ev top = h[0], last = h[--*n];
    size_t i = 0;
    for (size_t c; (c = 2 * i + 1) < *n; i = c) {
        if (c + 1 < *n && ev_before(h[c + 1], h[c]))
            c++;
        if (!ev_before(h[c], last))
            break;
        h[i] = h[c];
    }
    if (*n > 0)
        h[i] = last;
    return top;
}

static void replay(const job *jobs, size_t n, const config *cfg)
{
    cs_pool *pool;
    CHECK(cs_pool_create(1, (const char *const[]){"cpu"}, NULL, NULL, &pool));
    cs_node_spec node;
    CHECK(cs_node_spec_init(&node, sizeof node));
    node.capacity = (const int64_t[]){1};
    node.num_resources = 1;
    for (uint64_t id = 0; id < NODES; id++)
        CHECK(cs_pool_add_node(pool, id, &node, NULL));

    /* The predictor: per-user log-linear models of log(runtime) on
     * log2(procs) and log(requested time), with the users' history and
     * estimate as fallbacks (see predict.h). */
    cs_predict *pred = NULL;
    if (cfg->est == PREDICTED) {
        cs_predict_options po;
        CHECK(cs_predict_options_init(&po, sizeof po));
        po.num_features = 1;
        CHECK(cs_predict_create(&po, NULL, &pred));
    }
    cs_sched_options so;
    CHECK(cs_sched_options_init(&so, sizeof so));
    so.policy = cfg->policy;
    so.head_of_line = CS_HOL_BACKFILL;
    so.backfill_depth = cfg->depth;
    so.predictor = pred;
    so.use_predictions = pred != NULL;
    cs_sched *s;
    CHECK(cs_sched_create(pool, &so, NULL, &s));

    ev *heap = malloc(n * sizeof *heap);
    double *start = malloc(n * sizeof *start);
    if (heap == NULL || start == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    size_t nh = 0, next = 0, done = 0, backfilled = 0;
    double wait = 0, bsld = 0, busy = 0, err = 0, now = 0;
    cs_decision d[NODES + 1];
    while (done < n) {
        while (nh > 0 && heap[0].t <= now) {
            size_t j = pop(heap, &nh).j;
            cs_task_info info = {.size = sizeof info};
            CHECK(cs_sched_task_info(s, j, &info));
            err += fabs(info.estimate - jobs[j].run) / jobs[j].run;
            CHECK(cs_sched_complete(s, j, now));
            CHECK(cs_sched_forget(s, j));
            done++;
        }
        for (; next < n && jobs[next].submit <= now; next++) {
            cs_task_spec t;
            CHECK(cs_task_spec_init(&t, sizeof t));
            t.id = next;
            t.tenant = jobs[next].user;
            t.demand = (const int64_t[]){1};
            t.num_resources = 1;
            t.count = jobs[next].procs;
            t.runtime_estimate = cfg->est == EXACT ? jobs[next].run : jobs[next].requested;
            t.features = &jobs[next].feature;
            t.num_features = 1;
            CHECK(cs_sched_submit(s, &t, now));
        }
        size_t k;
        do {
            CHECK(cs_sched_step(s, now, d, NODES + 1, &k));
            for (size_t i = 0; i < k; i++) {
                size_t j = d[i].task;
                start[j] = now;
                backfilled += d[i].reason == CS_REASON_BACKFILL;
                push(heap, &nh, (ev){now + jobs[j].run, j});
            }
        } while (k == NODES + 1);
        double t_next = nh > 0 ? heap[0].t : HUGE_VAL;
        if (next < n && jobs[next].submit < t_next)
            t_next = jobs[next].submit;
        if (t_next == HUGE_VAL)
            break;
        now = t_next;
    }
    CHECK(cs_sched_check(s));
    for (size_t j = 0; j < n; j++) {
        double w = start[j] - jobs[j].submit;
        wait += w;
        bsld += fmax(1.0, (w + jobs[j].run) / fmax(10.0, jobs[j].run));
        busy += jobs[j].run * jobs[j].procs;
    }
    printf("%-40s %9.0f %8.2f %6.1f%% %10.1f%% %8.2f\n", cfg->name, wait / (double)n,
           bsld / (double)n, 100 * busy / (NODES * now), 100.0 * (double)backfilled / (double)n,
           err / (double)n);
    free(heap);
    free(start);
    cs_sched_destroy(s);
    cs_predict_destroy(pred);
    cs_pool_destroy(pool);
}

int main(int argc, char **argv)
{
    const char *path = CS_DATA_DIR "/KTH-SP2-1996-2.2.swf";
    size_t limit = SIZE_MAX;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            limit = (size_t)strtoull(argv[++i], NULL, 10);
        else
            path = argv[i];
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        printf("%s not found: using the 1000-job slice %s\n", path, CS_FALLBACK_SWF);
        path = CS_FALLBACK_SWF;
        f = fopen(path, "r");
        if (f == NULL) {
            fprintf(stderr, "cannot open %s\n", path);
            return 1;
        }
    }
    size_t n;
    job *jobs = read_swf(f, limit, &n);
    fclose(f);
    if (jobs == NULL || n == 0) {
        fprintf(stderr, "no jobs read from %s\n", path);
        return 1;
    }
    printf("%zu jobs of %s on %d single-processor nodes\n\n", n, path, NODES);
    static const config configs[] = {
        {"FCFS + EASY, user estimates", CS_QUEUE_FCFS, 1, USER},
        {"FCFS + EASY, predicted runtimes", CS_QUEUE_FCFS, 1, PREDICTED},
        {"SJF + EASY, predicted runtimes", CS_QUEUE_SJF, 1, PREDICTED},
        {"FCFS + EASY, exact runtimes (oracle)", CS_QUEUE_FCFS, 1, EXACT},
        {"FCFS + conservative, user estimates", CS_QUEUE_FCFS, CS_BACKFILL_CONSERVATIVE, USER},
    };
    printf("%-40s %9s %8s %7s %11s %8s\n", "scheduler", "wait (s)", "bsld", "util", "backfilled",
           "est err");
    for (size_t k = 0; k < sizeof configs / sizeof *configs; k++) {
        replay(jobs, n, &configs[k]);
        fflush(stdout);
    }
    printf("\nest err: mean |estimate in use - runtime| / runtime\n");
    free(jobs);
    return 0;
}
