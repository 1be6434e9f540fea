/* Fit queries and allocate/release cycles on pools of 1k .. 1M nodes,
 * beside a linear scan over plain arrays measured in the same run on the
 * same queries (and checked to give the same answers).
 *
 * Two workloads, each packed by first fit before anything is timed, as a
 * busy cluster is: the nodes early in the order are full, so neither first
 * fit nor the scan can stop at the first node.
 *   synthetic (cases first_fit, best_fit, worst_fit, alloc_release): four
 *     node types over 4 resources (cpu, mem, gpu, ssd), random task shapes,
 *     packed to 85% of the cpu. Fragmented in every dimension: the case the
 *     fit index is built for.
 *   alibaba (cases *_alibaba): node and task shapes drawn from the Alibaba
 *     2023 GPU cluster trace (../shared/data/alibaba-gpu-v2023), 3 resources
 *     (cpu_milli, memory_mib, gpu_milli = 1000 per whole GPU; a task asks
 *     num_gpu * 1000, or gpu_milli for a fraction of one GPU), packed until
 *     85% of the GPU or of the cpu is used. Up to 100k nodes only: first
 *     fit grows linearly on this workload (see src/pool_index.c), and
 *     packing a million nodes with it would take the best part of an hour.
 *
 * Usage: bench_pool [--quick] [DATA_DIR]. Without the trace (a clean clone)
 * the alibaba workload falls back to the trace's most frequent node and
 * task shapes, copied below, and says so on stderr. */
#include "benchutil.h"

#include <math.h>
#include <stdbool.h>

#include "cloudsched/cloudsched.h"

#ifndef CS_DATA_DIR
#define CS_DATA_DIR "../shared/data"
#endif

#define PMAX 4

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- workloads ----------------------------------------------------------- */

typedef struct shape {
    int64_t v[PMAX];
    long weight; /* relative frequency */
} shape;

typedef struct workload {
    const char *suffix; /* appended to the case names */
    size_t p;
    int pack_dim[2];    /* pack until one of these reaches pack_pct of capacity */
    int pack_pct;
    shape *nodes, *tasks; /* synthetic: unused (the original generators) */
    size_t nn, nt;
    long node_total, task_total;
} workload;

/* Node types of a mixed CPU/GPU cluster: cpu milli, mem MiB, gpu, local ssd GiB. */
static const int64_t types[4][PMAX] = {
    {32000, 131072, 0, 500},
    {64000, 262144, 0, 1000},
    {96000, 786432, 8, 2000},
    {64000, 524288, 4, 1000},
};

/* Task shapes drawn for the synthetic queries. */
static void random_demand(rng *r, int64_t d[PMAX])
{
    static const int64_t cpu[] = {500, 1000, 2000, 4000, 8000, 16000};
    static const int64_t mem[] = {1024, 2048, 4096, 16384, 65536};
    d[0] = cpu[next(r) % 6];
    d[1] = mem[next(r) % 5];
    d[2] = next(r) % 5 == 0 ? (int64_t)(1 + next(r) % 4) : 0;
    d[3] = (int64_t)(next(r) % 100);
}

static const shape *draw(rng *r, const shape *s, size_t n, long total)
{
    long x = (long)(next(r) % (uint64_t)total);
    for (size_t i = 0; i < n; i++) {
        if (x < s[i].weight)
            return &s[i];
        x -= s[i].weight;
    }
    return &s[n - 1];
}

static void node_capacity(const workload *w, rng *r, int64_t cap[PMAX])
{
    if (w->nodes == NULL)
        memcpy(cap, types[next(r) % 4], sizeof types[0]);
    else
        memcpy(cap, draw(r, w->nodes, w->nn, w->node_total)->v, sizeof(int64_t) * PMAX);
}

static void task_demand(const workload *w, rng *r, int64_t d[PMAX])
{
    if (w->tasks == NULL)
        random_demand(r, d);
    else
        memcpy(d, draw(r, w->tasks, w->nt, w->task_total)->v, sizeof(int64_t) * PMAX);
}

/* The trace's most frequent shapes (counts out of 1,523 nodes and 8,152
 * tasks): the fallback when the trace is not there. */
static const shape alibaba_nodes_builtin[] = {
    {{96000, 393216, 8000}, 549}, {{104000, 524288, 2000}, 387}, {{32000, 262144, 0}, 129},
    {{16000, 122880, 2000}, 107}, {{96000, 524288, 0}, 59},      {{128000, 786432, 8000}, 39},
    {{96000, 393216, 0}, 30},     {{32000, 131072, 4000}, 28},   {{32000, 131072, 0}, 23},
    {{64000, 262144, 2000}, 22},  {{64000, 524288, 0}, 22},      {{96000, 786432, 8000}, 21},
};
static const shape alibaba_tasks_builtin[] = {
    {{3152, 5600, 810}, 1047},   {{11300, 49152, 1000}, 857}, {{11400, 48128, 1000}, 534},
    {{3152, 5600, 1000}, 470},   {{11908, 47104, 470}, 388},  {{12500, 57344, 0}, 364},
    {{8000, 30517, 470}, 360},   {{32000, 49152, 0}, 284},    {{18708, 64512, 1000}, 255},
    {{11908, 47104, 650}, 237},  {{9810, 41560, 1000}, 195},  {{8000, 30517, 0}, 163},
    {{12000, 24576, 1000}, 158}, {{15700, 58368, 1000}, 158}, {{11908, 47104, 1000}, 153},
};

/* Read up to `max` rows of numeric columns `cols` from a CSV with a header.
 * Returns the number of rows, 0 when the file cannot be read. */
static size_t read_csv(const char *path, const int *cols, int ncols, int64_t (*out)[6], size_t max)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[1024];
    size_t n = 0;
    if (fgets(line, sizeof line, f) == NULL) { /* header */
        fclose(f);
        return 0;
    }
    while (n < max && fgets(line, sizeof line, f) != NULL) {
        int col = 0;
        char *s = line;
        int64_t row[16] = {0};
        while (s != NULL && col < 16) {
            char *comma = strchr(s, ',');
            if (comma != NULL)
                *comma = '\0';
            row[col++] = strtoll(s, NULL, 10);
            s = comma != NULL ? comma + 1 : NULL;
        }
        for (int c = 0; c < ncols; c++)
            out[n][c] = row[cols[c]];
        n++;
    }
    fclose(f);
    return n;
}

/* Each CSV row becomes one shape of weight 1. */
static bool load_alibaba(const char *dir, workload *w)
{
    static int64_t rows[20000][6];
    char path[4096];
    static const int node_cols[] = {1, 2, 3};       /* cpu_milli, memory_mib, gpu */
    static const int task_cols[] = {1, 2, 3, 4};    /* cpu_milli, memory_mib, num_gpu, gpu_milli */
    snprintf(path, sizeof path, "%s/alibaba-gpu-v2023/openb_node_list_all_node.csv", dir);
    size_t nn = read_csv(path, node_cols, 3, rows, 20000);
    if (nn == 0)
        return false;
    w->nodes = calloc(nn, sizeof *w->nodes);
    for (size_t i = 0; i < nn; i++) {
        w->nodes[i].v[0] = rows[i][0];
        w->nodes[i].v[1] = rows[i][1];
        w->nodes[i].v[2] = rows[i][2] * 1000;
        w->nodes[i].weight = 1;
    }
    w->nn = nn;
    w->node_total = (long)nn;
    snprintf(path, sizeof path, "%s/alibaba-gpu-v2023/openb_pod_list_default.csv", dir);
    size_t nt = read_csv(path, task_cols, 4, rows, 20000);
    if (nt == 0) {
        free(w->nodes);
        w->nodes = NULL;
        return false;
    }
    w->tasks = calloc(nt, sizeof *w->tasks);
    for (size_t i = 0; i < nt; i++) {
        w->tasks[i].v[0] = rows[i][0];
        w->tasks[i].v[1] = rows[i][1];
        w->tasks[i].v[2] = rows[i][2] == 1 ? rows[i][3] : rows[i][2] * 1000;
        w->tasks[i].weight = 1;
    }
    w->nt = nt;
    w->task_total = (long)nt;
    fprintf(stderr, "pool: alibaba workload from %s: %zu nodes, %zu tasks\n", dir, nn, nt);
    return true;
}

static void builtin_alibaba(workload *w)
{
    size_t nn = sizeof alibaba_nodes_builtin / sizeof alibaba_nodes_builtin[0];
    size_t nt = sizeof alibaba_tasks_builtin / sizeof alibaba_tasks_builtin[0];
    w->nodes = malloc(sizeof alibaba_nodes_builtin);
    w->tasks = malloc(sizeof alibaba_tasks_builtin);
    memcpy(w->nodes, alibaba_nodes_builtin, sizeof alibaba_nodes_builtin);
    memcpy(w->tasks, alibaba_tasks_builtin, sizeof alibaba_tasks_builtin);
    w->nn = nn;
    w->nt = nt;
    for (size_t i = 0; i < nn; i++)
        w->node_total += w->nodes[i].weight;
    for (size_t i = 0; i < nt; i++)
        w->task_total += w->tasks[i].weight;
}

/* ---- the baseline: free vectors in a plain array, scanned in order -------- */

typedef struct flat {
    size_t n, p;
    uint64_t *id;
    int64_t *free_;
    double *s;
    double w[PMAX];
} flat;

static void flat_load(flat *f, const cs_pool *pool, const uint64_t *ids, size_t n, size_t p)
{
    f->n = n;
    f->p = p;
    f->id = malloc(n * sizeof *f->id);
    f->free_ = malloc(n * PMAX * sizeof *f->free_);
    f->s = malloc(n * sizeof *f->s);
    /* The pool's default weights: 1 / largest capacity per dimension. */
    int64_t maxcap[PMAX] = {0};
    for (size_t i = 0; i < n; i++) {
        cs_node_info info = {.size = sizeof info};
        int64_t c[PMAX];
        cs_pool_node_info(pool, ids[i], &info, c, NULL, NULL);
        for (size_t k = 0; k < p; k++)
            if (c[k] > maxcap[k])
                maxcap[k] = c[k];
    }
    for (size_t k = 0; k < p; k++)
        f->w[k] = maxcap[k] > 0 ? 1.0 / (double)maxcap[k] : 0.0;
    for (size_t i = 0; i < n; i++) {
        cs_node_info info = {.size = sizeof info};
        f->id[i] = ids[i];
        cs_pool_node_info(pool, ids[i], &info, NULL, NULL, &f->free_[i * PMAX]);
        f->s[i] = 0;
        for (size_t k = 0; k < p; k++)
            f->s[i] += f->w[k] * (double)f->free_[i * PMAX + k];
    }
}

static void flat_free(flat *f)
{
    free(f->id);
    free(f->free_);
    free(f->s);
}

static inline bool flat_fits(const flat *f, size_t i, const int64_t *d)
{
    const int64_t *fr = &f->free_[i * PMAX];
    if (f->p == 4) /* the common case, unrolled: a fast baseline is a fair one */
        return fr[0] >= d[0] && fr[1] >= d[1] && fr[2] >= d[2] && fr[3] >= d[3];
    for (size_t k = 0; k < f->p; k++)
        if (fr[k] < d[k])
            return false;
    return true;
}

/* ids are in increasing order and there is one partition: scan order is
 * the pool's first-fit order. */
static long flat_fit(const flat *f, cs_fit how, const int64_t *d)
{
    long best = -1;
    for (size_t i = 0; i < f->n; i++) {
        if (!flat_fits(f, i, d))
            continue;
        if (how == CS_FIT_FIRST)
            return (long)i;
        if (best < 0 || (how == CS_FIT_BEST ? f->s[i] < f->s[best] : f->s[i] > f->s[best]))
            best = (long)i;
    }
    return best;
}

static void flat_update(flat *f, long i, const int64_t *d, int sign)
{
    f->s[i] = 0;
    for (size_t k = 0; k < f->p; k++) {
        f->free_[i * PMAX + k] -= sign * d[k];
        f->s[i] += f->w[k] * (double)f->free_[i * PMAX + k];
    }
}

/* ---- the runs ---------------------------------------------------------- */

static cs_pool *build(const workload *w, size_t n, uint64_t **ids_out)
{
    cs_pool *pool;
    if (cs_pool_create(w->p, NULL, NULL, NULL, &pool) != CS_OK)
        exit(1);
    uint64_t *ids = malloc(n * sizeof *ids);
    rng r = {42};
    cs_node_spec spec;
    cs_node_spec_init(&spec, sizeof spec);
    spec.num_resources = w->p;
    for (size_t i = 0; i < n; i++) {
        int64_t cap[PMAX];
        node_capacity(w, &r, cap);
        spec.capacity = cap;
        if (cs_pool_add_node(pool, i, &spec, NULL) != CS_OK)
            exit(1);
        ids[i] = i;
    }
    /* Pack by first fit until a packing dimension reaches pack_pct. A task
     * that fits nowhere is skipped; many in a row end the packing. */
    int64_t cap[PMAX], used[PMAX];
    cs_pool_totals(pool, CS_PARTITION_ANY, cap, used, NULL);
    cs_fit_query q;
    cs_fit_query_init(&q, sizeof q);
    int64_t d[PMAX];
    q.demand = d;
    int misses = 0;
    for (;;) {
        bool full = false;
        for (int j = 0; j < 2; j++) {
            int k = w->pack_dim[j];
            full |= k >= 0 && used[k] >= cap[k] * w->pack_pct / 100;
        }
        if (full)
            break;
        task_demand(w, &r, d);
        uint64_t node, a;
        if (cs_pool_fit(pool, CS_FIT_FIRST, &q, &node) != CS_OK) {
            if (w->tasks == NULL || ++misses > 1000)
                break; /* synthetic: the first miss ends it, as it always did */
            continue;
        }
        misses = 0;
        cs_pool_allocate(pool, node, d, 0, &a);
        for (size_t k = 0; k < w->p; k++)
            used[k] += d[k];
    }
    *ids_out = ids;
    return pool;
}

static const char *fit_name[3] = {"first_fit", "best_fit", "worst_fit"};

static void run_size(const workload *w, size_t n, int reps)
{
    char name[64];
    uint64_t *ids;
    double t0 = bench_now();
    cs_pool *pool = build(w, n, &ids);
    int64_t cap[PMAX], used[PMAX];
    cs_pool_totals(pool, CS_PARTITION_ANY, cap, used, NULL);
    fprintf(stderr, "pool%s: %zu nodes packed in %.2f s (%zu allocations; use", w->suffix, n,
            bench_now() - t0, cs_pool_num_allocations(pool));
    for (size_t k = 0; k < w->p; k++)
        fprintf(stderr, " %.0f%%", cap[k] ? 100.0 * (double)used[k] / (double)cap[k] : 0.0);
    fprintf(stderr, ")\n");
    flat f;
    flat_load(&f, pool, ids, n, w->p);

    /* Queries, generated outside the timed region. */
    const int nq = 20000;
    int64_t *qs = calloc((size_t)nq * PMAX, sizeof *qs);
    rng r = {7};
    for (int i = 0; i < nq; i++)
        task_demand(w, &r, &qs[i * PMAX]);
    cs_fit_query q;
    cs_fit_query_init(&q, sizeof q);
    /* The scan costs O(n): fewer queries at large n keep it bounded. */
    int nb = n >= 100000 ? 200 : 2000;

    for (int how = 0; how < 3; how++) {
        double ours[7], base[7];
        uint64_t sink = 0;
        for (int rep = 0; rep < reps; rep++) {
            double t = bench_now();
            for (int i = 0; i < nq; i++) {
                uint64_t node = 0;
                q.demand = &qs[i * PMAX];
                if (cs_pool_fit(pool, (cs_fit)how, &q, &node) == CS_OK)
                    sink += node;
            }
            ours[rep] = (bench_now() - t) * 1e9 / nq;
            t = bench_now();
            for (int i = 0; i < nb; i++)
                sink += (uint64_t)flat_fit(&f, (cs_fit)how, &qs[i * PMAX]);
            base[rep] = (bench_now() - t) * 1e9 / nb;
        }
        /* Same answers. */
        long mismatches = 0;
        for (int i = 0; i < 200; i++) {
            uint64_t node = CS_ID_NONE;
            q.demand = &qs[i * PMAX];
            cs_status st = cs_pool_fit(pool, (cs_fit)how, &q, &node);
            long j = flat_fit(&f, (cs_fit)how, &qs[i * PMAX]);
            if ((st == CS_OK) != (j >= 0) || (j >= 0 && f.id[j] != node))
                mismatches++;
        }
        if (mismatches) {
            fprintf(stderr, "pool: %s%s disagrees with the scan on %ld queries\n", fit_name[how],
                    w->suffix, mismatches);
            exit(1);
        }
        bench_consume(sink);
        double m = bench_median(ours, reps), b = bench_median(base, reps);
        snprintf(name, sizeof name, "%s%s", fit_name[how], w->suffix);
        bench_record("pool", name, (long)n, (long)w->p, m, nq, "linear_scan", b, NULL);
        fprintf(stderr, "pool: %-18s n=%-8zu %8.1f ns/query   scan %10.1f ns   x%.1f\n", name, n,
                m, b, b / m);
    }

    /* allocate on the best-fit node, then release it again. */
    {
        double ours[7], base[7];
        uint64_t sink = 0;
        int ncyc = 20000;
        for (int rep = 0; rep < reps; rep++) {
            double t = bench_now();
            for (int i = 0; i < ncyc; i++) {
                uint64_t node, a;
                q.demand = &qs[i * PMAX];
                if (cs_pool_fit(pool, CS_FIT_BEST, &q, &node) == CS_OK &&
                    cs_pool_allocate(pool, node, q.demand, 0, &a) == CS_OK) {
                    cs_pool_release(pool, a);
                    sink += a;
                }
            }
            ours[rep] = (bench_now() - t) * 1e9 / ncyc;
            t = bench_now();
            for (int i = 0; i < nb; i++) {
                long j = flat_fit(&f, CS_FIT_BEST, &qs[i * PMAX]);
                if (j >= 0) {
                    flat_update(&f, j, &qs[i * PMAX], +1);
                    flat_update(&f, j, &qs[i * PMAX], -1);
                    sink += (uint64_t)j;
                }
            }
            base[rep] = (bench_now() - t) * 1e9 / nb;
        }
        bench_consume(sink);
        double m = bench_median(ours, reps), b = bench_median(base, reps);
        snprintf(name, sizeof name, "alloc_release%s", w->suffix);
        bench_record("pool", name, (long)n, (long)w->p, m, ncyc, "linear_scan", b, NULL);
        fprintf(stderr, "pool: %-18s n=%-8zu %8.1f ns/cycle   scan %10.1f ns   x%.1f\n", name, n,
                m, b, b / m);
    }
    if (cs_pool_check(pool) != CS_OK) {
        fprintf(stderr, "pool: invariant check failed\n");
        exit(1);
    }
    free(qs);
    flat_free(&f);
    free(ids);
    cs_pool_destroy(pool);
}

int main(int argc, char **argv)
{
    int quick = bench_quick(argc, argv);
    const char *dir = CS_DATA_DIR;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") != 0)
            dir = argv[i];
    size_t sizes[] = {1000, 10000, 100000, 1000000};
    int nsizes = quick ? 2 : 4;
    const int reps = quick ? 3 : 5;

    workload synthetic = {.suffix = "", .p = 4, .pack_dim = {0, -1}, .pack_pct = 85};
    workload alibaba = {.suffix = "_alibaba", .p = 3, .pack_dim = {0, 2}, .pack_pct = 85};
    if (!load_alibaba(dir, &alibaba)) {
        fprintf(stderr, "pool: no Alibaba trace under %s; the alibaba cases use the built-in "
                        "table of its most frequent shapes instead\n", dir);
        builtin_alibaba(&alibaba);
    }
    for (int si = 0; si < nsizes; si++)
        run_size(&synthetic, sizes[si], reps);
    for (int si = 0; si < nsizes && sizes[si] <= 100000; si++)
        run_size(&alibaba, sizes[si], reps);
    free(alibaba.nodes);
    free(alibaba.tasks);
    return 0;
}
