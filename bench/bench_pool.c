/* Fit queries and allocate/release cycles on pools of 1k .. 1M nodes with
 * 4 resources, beside a linear scan over plain arrays measured in the same
 * run on the same queries (and checked to give the same answers).
 *
 * The pool is first packed by first fit to about 85% of its cpu, as a busy
 * cluster is: the nodes early in the order are full, so neither first fit
 * nor the scan can stop at the first node. */
#include "benchutil.h"

#include <math.h>

#include "cloudsched/cloudsched.h"

#define P 4

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

/* Node types of a mixed CPU/GPU cluster: cpu milli, mem MiB, gpu, local ssd GiB. */
static const int64_t types[4][P] = {
    {32000, 131072, 0, 500},
    {64000, 262144, 0, 1000},
    {96000, 786432, 8, 2000},
    {64000, 524288, 4, 1000},
};

/* Task shapes drawn for queries. */
static void random_demand(rng *r, int64_t d[P])
{
    static const int64_t cpu[] = {500, 1000, 2000, 4000, 8000, 16000};
    static const int64_t mem[] = {1024, 2048, 4096, 16384, 65536};
    d[0] = cpu[next(r) % 6];
    d[1] = mem[next(r) % 5];
    d[2] = next(r) % 5 == 0 ? (int64_t)(1 + next(r) % 4) : 0;
    d[3] = (int64_t)(next(r) % 100);
}

/* The baseline: free vectors in a plain array, scanned in full order. */
typedef struct flat {
    size_t n;
    uint64_t *id;
    int64_t *free_;
    double *s;
    double w[P];
} flat;

static void flat_load(flat *f, const cs_pool *pool, const uint64_t *ids, size_t n)
{
    f->n = n;
    f->id = malloc(n * sizeof *f->id);
    f->free_ = malloc(n * P * sizeof *f->free_);
    f->s = malloc(n * sizeof *f->s);
    int64_t maxcap[P] = {0};
    for (int t = 0; t < 4; t++)
        for (int k = 0; k < P; k++)
            if (types[t][k] > maxcap[k])
                maxcap[k] = types[t][k];
    for (int k = 0; k < P; k++)
        f->w[k] = maxcap[k] > 0 ? 1.0 / (double)maxcap[k] : 0.0;
    for (size_t i = 0; i < n; i++) {
        cs_node_info info = {.size = sizeof info};
        f->id[i] = ids[i];
        cs_pool_node_info(pool, ids[i], &info, NULL, NULL, &f->free_[i * P]);
        f->s[i] = 0;
        for (int k = 0; k < P; k++)
            f->s[i] += f->w[k] * (double)f->free_[i * P + k];
    }
}

static void flat_free(flat *f)
{
    free(f->id);
    free(f->free_);
    free(f->s);
}

/* ids are in increasing order and there is one partition: scan order is
 * the pool's first-fit order. */
static long flat_fit(const flat *f, cs_fit how, const int64_t *d)
{
    long best = -1;
    for (size_t i = 0; i < f->n; i++) {
        const int64_t *fr = &f->free_[i * P];
        if (fr[0] < d[0] || fr[1] < d[1] || fr[2] < d[2] || fr[3] < d[3])
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
    for (int k = 0; k < P; k++) {
        f->free_[i * P + k] -= sign * d[k];
        f->s[i] += f->w[k] * (double)f->free_[i * P + k];
    }
}

static cs_pool *build(size_t n, uint64_t **ids_out)
{
    cs_pool *pool;
    if (cs_pool_create(P, NULL, NULL, NULL, &pool) != CS_OK)
        exit(1);
    uint64_t *ids = malloc(n * sizeof *ids);
    rng r = {42};
    cs_node_spec spec;
    cs_node_spec_init(&spec, sizeof spec);
    spec.num_resources = P;
    for (size_t i = 0; i < n; i++) {
        spec.capacity = types[next(&r) % 4];
        if (cs_pool_add_node(pool, i, &spec, NULL) != CS_OK)
            exit(1);
        ids[i] = i;
    }
    /* Pack by first fit to ~85% of cpu. */
    int64_t cap[P], used[P];
    cs_pool_totals(pool, CS_PARTITION_ANY, cap, used, NULL);
    cs_fit_query q;
    cs_fit_query_init(&q, sizeof q);
    int64_t d[P];
    q.demand = d;
    while (used[0] < cap[0] * 85 / 100) {
        random_demand(&r, d);
        uint64_t node, a;
        if (cs_pool_fit(pool, CS_FIT_FIRST, &q, &node) != CS_OK)
            break;
        cs_pool_allocate(pool, node, d, 0, &a);
        used[0] += d[0];
    }
    *ids_out = ids;
    return pool;
}

static const char *fit_name[3] = {"first_fit", "best_fit", "worst_fit"};

int main(int argc, char **argv)
{
    int quick = bench_quick(argc, argv);
    size_t sizes[] = {1000, 10000, 100000, 1000000};
    int nsizes = quick ? 2 : 4;
    const int reps = quick ? 3 : 5;
    for (int si = 0; si < nsizes; si++) {
        size_t n = sizes[si];
        uint64_t *ids;
        double t0 = bench_now();
        cs_pool *pool = build(n, &ids);
        fprintf(stderr, "pool: %zu nodes packed in %.2f s\n", n, bench_now() - t0);
        flat f;
        flat_load(&f, pool, ids, n);

        /* Queries, generated outside the timed region. */
        const int nq = 20000;
        int64_t *qs = malloc((size_t)nq * P * sizeof *qs);
        rng r = {7};
        for (int i = 0; i < nq; i++)
            random_demand(&r, &qs[i * P]);
        cs_fit_query q;
        cs_fit_query_init(&q, sizeof q);

        for (int how = 0; how < 3; how++) {
            /* The scan costs O(n): fewer queries at large n keep it bounded. */
            int nb = (int)(n >= 100000 ? 200 : 2000);
            double ours[7], base[7];
            uint64_t sink = 0;
            for (int rep = 0; rep < reps; rep++) {
                double t = bench_now();
                for (int i = 0; i < nq; i++) {
                    uint64_t node = 0;
                    q.demand = &qs[i * P];
                    if (cs_pool_fit(pool, (cs_fit)how, &q, &node) == CS_OK)
                        sink += node;
                }
                ours[rep] = (bench_now() - t) * 1e9 / nq;
                t = bench_now();
                for (int i = 0; i < nb; i++)
                    sink += (uint64_t)flat_fit(&f, (cs_fit)how, &qs[i * P]);
                base[rep] = (bench_now() - t) * 1e9 / nb;
            }
            /* Same answers. */
            long mismatches = 0;
            for (int i = 0; i < 200; i++) {
                uint64_t node = CS_ID_NONE;
                q.demand = &qs[i * P];
                cs_status st = cs_pool_fit(pool, (cs_fit)how, &q, &node);
                long j = flat_fit(&f, (cs_fit)how, &qs[i * P]);
                if ((st == CS_OK) != (j >= 0) || (j >= 0 && f.id[j] != node))
                    mismatches++;
            }
            if (mismatches) {
                fprintf(stderr, "pool: %s disagrees with the scan on %ld queries\n",
                        fit_name[how], mismatches);
                return 1;
            }
            bench_consume(sink);
            double m = bench_median(ours, reps), b = bench_median(base, reps);
            bench_record("pool", fit_name[how], (long)n, P, m, nq, "linear_scan", b, NULL);
            fprintf(stderr, "pool: %-9s n=%-8zu %8.1f ns/query   scan %10.1f ns   x%.1f\n",
                    fit_name[how], n, m, b, b / m);
        }

        /* allocate on the best-fit node, then release it again. */
        {
            double ours[7], base[7];
            uint64_t sink = 0;
            int ncyc = 20000, nb = n >= 100000 ? 200 : 2000;
            for (int rep = 0; rep < reps; rep++) {
                double t = bench_now();
                for (int i = 0; i < ncyc; i++) {
                    uint64_t node, a;
                    q.demand = &qs[i * P];
                    if (cs_pool_fit(pool, CS_FIT_BEST, &q, &node) == CS_OK &&
                        cs_pool_allocate(pool, node, q.demand, 0, &a) == CS_OK) {
                        cs_pool_release(pool, a);
                        sink += a;
                    }
                }
                ours[rep] = (bench_now() - t) * 1e9 / ncyc;
                t = bench_now();
                for (int i = 0; i < nb; i++) {
                    long j = flat_fit(&f, CS_FIT_BEST, &qs[i * P]);
                    if (j >= 0) {
                        flat_update(&f, j, &qs[i * P], +1);
                        flat_update(&f, j, &qs[i * P], -1);
                        sink += (uint64_t)j;
                    }
                }
                base[rep] = (bench_now() - t) * 1e9 / nb;
            }
            bench_consume(sink);
            double m = bench_median(ours, reps), b = bench_median(base, reps);
            bench_record("pool", "alloc_release", (long)n, P, m, ncyc, "linear_scan", b, NULL);
            fprintf(stderr, "pool: alloc_release n=%-8zu %8.1f ns/cycle   scan %10.1f ns   x%.1f\n",
                    n, m, b, b / m);
        }
        if (cs_pool_check(pool) != CS_OK) {
            fprintf(stderr, "pool: invariant check failed\n");
            return 1;
        }
        free(qs);
        flat_free(&f);
        free(ids);
        cs_pool_destroy(pool);
    }
    return 0;
}
