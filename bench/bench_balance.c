/* bench_balance: the continuous quadratic knapsack at n = 1e3 .. 1e7
 * (--quick: up to 1e5), beside two baselines measured in the same run on
 * the same input: one plain memory pass over the four input arrays (a sum;
 * the floor for any exact method) and a sort-based O(n log n) breakpoint
 * sweep. JSON lines on stdout (docs/internals.md), notes on stderr.
 * Times are thread CPU time (see cpu_now). */
#include "benchutil.h"

#include <math.h>

/* CPU time of this thread: the machine is shared, and wall time charges
 * preemptions to whichever case happens to be running (longer cases more
 * often); every case here, baselines included, is timed this way. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#include "cloudsched/balance.h"

static uint64_t rng_state = 0x1234567;

static double uniform(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

/* A load-balancing instance: heterogeneous weights (capacities), targets,
 * bounds of varied width, a total in the middle of the feasible range. */
static double make_problem(size_t n, double *w, double *t, double *l, double *u)
{
    double sl = 0, su = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = exp(log(1e-2) + log(1e4) * uniform());
        t[i] = 100 * uniform();
        l[i] = uniform() < 0.3 ? t[i] : 0.0;
        u[i] = l[i] + 200 * uniform();
        sl += l[i];
        su += u[i];
    }
    return sl + 0.4 * (su - sl);
}

/* Baseline (a): one plain pass over the inputs, a sum of the four arrays
 * (the floor for any method that reads them). */
static double memory_pass(size_t n, const double *w, const double *t, const double *l,
                          const double *u)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += w[i] + t[i] + l[i] + u[i];
    return s;
}

/* The same pass with eight independent accumulators, which the compiler
 * vectorises: the input bandwidth itself. Reported on stderr only. */
static double bandwidth_pass(size_t n, const double *w, const double *t, const double *l,
                             const double *u)
{
    double s[8] = {0};
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        s[0] += w[i];
        s[1] += t[i];
        s[2] += l[i];
        s[3] += u[i];
        s[4] += w[i + 1];
        s[5] += t[i + 1];
        s[6] += l[i + 1];
        s[7] += u[i + 1];
    }
    for (; i < n; i++)
        s[0] += w[i] + t[i] + l[i] + u[i];
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

/* Baseline (b): sort the 2n breakpoints, sweep g(mu) = C + K mu across them
 * updating C and K per event, stop at the piece that contains D. */
typedef struct event {
    double at;
    size_t code; /* 2 i for a lower breakpoint, 2 i + 1 for an upper one */
} event;

static int cmp_event(const void *a, const void *b)
{
    const event *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return (x->code > y->code) - (x->code < y->code);
}

static double sort_based(size_t n, const double *w, const double *t, const double *l,
                         const double *u, double D, event *ev, double *x)
{
    double C = 0, K = 0;
    for (size_t i = 0; i < n; i++) {
        ev[2 * i] = (event){w[i] * (l[i] - t[i]), 2 * i};
        ev[2 * i + 1] = (event){w[i] * (u[i] - t[i]), 2 * i + 1};
        C += l[i]; /* every element starts at its lower bound */
    }
    qsort(ev, 2 * n, sizeof *ev, cmp_event);
    double mu = ev[2 * n - 1].at;
    for (size_t k = 0; k < 2 * n; k++) {
        double g = C + K * ev[k].at;
        if (g >= D) {
            mu = K > 0 ? (D - C) / K : ev[k].at;
            break;
        }
        size_t i = ev[k].code / 2;
        if (ev[k].code % 2 == 0) { /* l -> free */
            C += t[i] - l[i];
            K += 1.0 / w[i];
        } else { /* free -> u */
            C += u[i] - t[i];
            K -= 1.0 / w[i];
        }
    }
    for (size_t i = 0; i < n; i++) {
        double v = t[i] + mu / w[i];
        x[i] = v < l[i] ? l[i] : (v > u[i] ? u[i] : v);
    }
    return mu;
}

int main(int argc, char **argv)
{
    int quick = bench_quick(argc, argv);
    const size_t sizes[] = {1000, 10000, 100000, 1000000, 10000000};
    int nsizes = quick ? 3 : 5;
    cs_balance_workspace *ws = NULL;
    if (cs_balance_workspace_create(NULL, &ws) != CS_OK)
        return 1;
    for (int si = 0; si < nsizes; si++) {
        size_t n = sizes[si];
        double *w = malloc(n * sizeof *w), *t = malloc(n * sizeof *t);
        double *l = malloc(n * sizeof *l), *u = malloc(n * sizeof *u);
        double *x = malloc(n * sizeof *x), *xs = malloc(n * sizeof *xs);
        event *ev = malloc(2 * n * sizeof *ev);
        if (!w || !t || !l || !u || !x || !xs || !ev)
            return 1;
        double D = make_problem(n, w, t, l, u);
        if (cs_balance_workspace_reserve(ws, n) != CS_OK)
            return 1;
        cs_balance_problem p;
        cs_balance_problem_init(&p, sizeof p);
        p.n = n;
        p.weight = w;
        p.target = t;
        p.lower = l;
        p.upper = u;
        p.total = D;
        cs_balance_result r;
        cs_balance_result_init(&r, sizeof r);
        /* repetitions: enough total time for a stable median */
        int reps = n <= 10000 ? 201 : n <= 100000 ? 41 : n <= 1000000 ? 11 : 5;
        int inner = n <= 1000 ? 20 : 1;
        double tm[201], tb[201], tw[201], ts[201];
        for (int k = 0; k < reps; k++) {
            double t0 = cpu_now();
            for (int j = 0; j < inner; j++)
                if (cs_balance_solve(ws, &p, x, &r) != CS_OK)
                    return 1;
            double t1 = cpu_now();
            double s = 0;
            for (int j = 0; j < inner; j++)
                s += memory_pass(n, w, t, l, u);
            double t2 = cpu_now();
            for (int j = 0; j < inner; j++)
                s += bandwidth_pass(n, w, t, l, u);
            double t3 = cpu_now();
            bench_consume((uint64_t)s ^ (uint64_t)x[n / 2]);
            tm[k] = (t1 - t0) / inner;
            tb[k] = (t2 - t1) / inner;
            tw[k] = (t3 - t2) / inner;
        }
        int sreps = n <= 100000 ? 11 : 3;
        double mu_s = 0;
        for (int k = 0; k < sreps; k++) {
            double t0 = cpu_now();
            mu_s = sort_based(n, w, t, l, u, D, ev, xs);
            ts[k] = cpu_now() - t0;
        }
        double ours = bench_median(tm, reps) * 1e9, mem = bench_median(tb, reps) * 1e9;
        double bw = bench_median(tw, reps) * 1e9;
        double sorted = bench_median(ts, sreps) * 1e9;
        double err = 0, scale = 0;
        for (size_t i = 0; i < n; i++) {
            err = fmax(err, fabs(x[i] - xs[i]));
            scale = fmax(scale, fabs(xs[i]));
        }
        char extra[160];
        snprintf(extra, sizeof extra, ",\"max_rel_err\":%.3g,\"passes\":%zu",
                 err / (scale > 0 ? scale : 1), r.passes);
        bench_record("balance", "exact", (long)n, 1, ours, 1, "memory_pass", mem, extra);
        bench_record("balance", "exact", (long)n, 1, ours, 1, "sort_based", sorted, extra);
        fprintf(stderr,
                "n=%zu: exact %.3f ms = %.2fx a plain memory pass (%.3f ms), %.2fx a"
                " vectorised one (%.3f ms); sort-based %.3f ms; mu %.10g vs %.10g,"
                " sum-D %.3g, passes %zu, steps %zu, free %zu\n",
                n, ours * 1e-6, ours / mem, mem * 1e-6, ours / bw, bw * 1e-6, sorted * 1e-6,
                r.mu, mu_s, r.sum - D, r.passes, r.iterations, r.num_free);
        free(w);
        free(t);
        free(l);
        free(u);
        free(x);
        free(xs);
        free(ev);
    }
    cs_balance_workspace_destroy(ws);
    return 0;
}
