/* Least-squares benchmarks: n x p fits against raw LAPACKE on the same data,
 * polynomial fits, NNLS, and RLS updates per second. JSON lines on stdout
 * (docs/internals.md), human text on stderr.
 *
 *   bench_lsq [--quick]
 *
 * Baselines, measured in the same run on the same matrices:
 * - qr, poly, nnls: LAPACKE_dgels_work (column-major, workspace allocated
 *   once), timed together with the memcpy it needs because dgels overwrites
 *   its input (the copy alone is reported as "copy_ns_per_op");
 * - svd: LAPACKE_dgelss_work, the same driver cs_lsq uses for CS_LSQ_SVD;
 * - rls_update: the textbook P-matrix RLS recursion (same O(p^2) per sample). */
#include "benchutil.h"

#include <lapacke.h>
#include <math.h>

#include "cloudsched/cloudsched.h"

/* splitmix64: the same generator bench/peers_lsq.py uses, so that the numpy
 * peer can rebuild identical matrices. */
static uint64_t sm_state;
static double sm_uniform(void)
{
    uint64_t z = (sm_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

/* X (column-major, n x p) uniform in [-1, 1); y = X beta + noise with
 * beta_j = 1 - 2 j / p (so about half are negative, which NNLS clamps). */
static void make_data(size_t n, size_t p, double *X, double *y)
{
    sm_state = 12345 + n * 131 + p;
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < n; i++)
            X[i + j * n] = 2.0 * sm_uniform() - 1.0;
    for (size_t i = 0; i < n; i++) {
        double acc = 0.0;
        for (size_t j = 0; j < p; j++)
            acc += X[i + j * n] * (1.0 - 2.0 * (double)j / (double)p);
        y[i] = acc + 0.01 * (2.0 * sm_uniform() - 1.0);
    }
}

typedef struct timing {
    double ns;   /* median ns per op */
    long ops;
} timing;

typedef void (*bench_fn)(void *ctx);

/* Median over `reps` repetitions of `inner` calls each. */
static timing time_it(bench_fn f, void *ctx, int reps, long inner)
{
    double t[64];
    if (reps > 64)
        reps = 64;
    f(ctx); /* warm-up: page faults, OpenBLAS thread start-up */
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        for (long k = 0; k < inner; k++)
            f(ctx);
        t[r] = (bench_now() - t0) * 1e9 / (double)inner;
    }
    timing out = {bench_median(t, reps), (long)reps * inner};
    return out;
}

static int reps_for(size_t n, size_t p, int quick)
{
    double work = (double)n * (double)p * (double)p;
    if (work > 1e9)
        return quick ? 2 : 3;
    if (work > 1e8)
        return 5;
    return quick ? 5 : 9;
}

static long inner_for(size_t n, size_t p)
{
    double work = (double)n * (double)p * (double)p;
    long k = (long)(2e7 / (work + 1.0));
    return k < 1 ? 1 : (k > 2000 ? 2000 : k);
}

/* ---- fit contexts ---------------------------------------------------------- */

typedef struct fit_ctx {
    size_t n, p;
    const double *X, *y;
    double *Xc, *yc; /* scratch copies for dgels */
    double *work;
    lapack_int lwork;
    double *coef;
    double *sv;
    cs_lsq *ws;
    cs_lsq_layout layout;
    size_t ldx;
    int nnls;
    lapack_int info;
} fit_ctx;

static void run_ours(void *c)
{
    fit_ctx *f = c;
    cs_status st = f->nnls ? cs_lsq_fit_nnls(f->ws, f->layout, f->X, f->ldx, f->y,
                                             f->layout == CS_LSQ_ROW_MAJOR ? 1 : f->n, NULL,
                                             f->coef, f->layout == CS_LSQ_ROW_MAJOR ? 1 : f->p,
                                             NULL)
                           : cs_lsq_fit(f->ws, f->layout, f->X, f->ldx, f->y,
                                        f->layout == CS_LSQ_ROW_MAJOR ? 1 : f->n, NULL, f->coef,
                                        f->layout == CS_LSQ_ROW_MAJOR ? 1 : f->p, NULL, NULL);
    if (st != CS_OK) {
        fprintf(stderr, "cs_lsq failed: %s\n", cs_status_name(st));
        exit(1);
    }
    bench_consume((uint64_t)(f->coef[0] * 1e6));
}

static void run_copy(void *c)
{
    fit_ctx *f = c;
    memcpy(f->Xc, f->X, f->n * f->p * sizeof(double));
    memcpy(f->yc, f->y, f->n * sizeof(double));
    bench_consume((uint64_t)f->Xc[f->n - 1]);
}

static void run_dgels(void *c)
{
    fit_ctx *f = c;
    run_copy(c);
    f->info = LAPACKE_dgels_work(LAPACK_COL_MAJOR, 'N', (lapack_int)f->n, (lapack_int)f->p, 1,
                                 f->Xc, (lapack_int)f->n, f->yc, (lapack_int)f->n, f->work,
                                 f->lwork);
    bench_consume((uint64_t)(f->yc[0] * 1e6));
}

/* The factorisation dgels performs, without its other passes: the
 * irreducible LAPACK cost of the same QR solve. */
static void run_geqrf(void *c)
{
    fit_ctx *f = c;
    run_copy(c);
    lapack_int n = (lapack_int)f->n, p = (lapack_int)f->p;
    f->info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, n, p, f->Xc, n, f->sv, f->work, f->lwork);
    f->info |= LAPACKE_dormqr_work(LAPACK_COL_MAJOR, 'L', 'T', n, 1, p, f->Xc, n, f->sv, f->yc,
                                   n, f->work, f->lwork);
    f->info |= LAPACKE_dtrtrs_work(LAPACK_COL_MAJOR, 'U', 'N', 'N', p, 1, f->Xc, n, f->yc, n);
    bench_consume((uint64_t)(f->yc[0] * 1e6));
}

static void run_dgelss(void *c)
{
    fit_ctx *f = c;
    run_copy(c);
    lapack_int rank;
    f->info = LAPACKE_dgelss_work(LAPACK_COL_MAJOR, (lapack_int)f->n, (lapack_int)f->p, 1,
                                  f->Xc, (lapack_int)f->n, f->yc, (lapack_int)f->n, f->sv,
                                  -1.0, &rank, f->work, f->lwork);
    bench_consume((uint64_t)(f->yc[0] * 1e6));
}

static lapack_int query(int svd, size_t n, size_t p)
{
    double q = 0.0, d = 0.0;
    lapack_int rank;
    if (svd)
        LAPACKE_dgelss_work(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)p, 1, &d,
                            (lapack_int)n, &d, (lapack_int)n, &d, -1.0, &rank, &q, -1);
    else
        LAPACKE_dgels_work(LAPACK_COL_MAJOR, 'N', (lapack_int)n, (lapack_int)p, 1, &d,
                           (lapack_int)n, &d, (lapack_int)n, &q, -1);
    return (lapack_int)q + 1;
}

/* One fit case: ours (column-major, and row-major for qr) against the
 * baseline on the same matrix. */
static void bench_fit(const char *case_name, cs_lsq_method method, int nnls, size_t n,
                      size_t p, int quick)
{
    double *X = malloc(n * p * sizeof *X), *Xr = NULL, *y = malloc(n * sizeof *y);
    double *Xc = malloc(n * p * sizeof *Xc), *yc = malloc(n * sizeof *yc);
    double coef[64], sv[64];
    if (X == NULL || y == NULL || Xc == NULL || yc == NULL) {
        fprintf(stderr, "skip %s %zu x %zu: out of memory\n", case_name, n, p);
        free(X);
        free(y);
        free(Xc);
        free(yc);
        return;
    }
    make_data(n, p, X, y);
    int svd = method == CS_LSQ_SVD;
    lapack_int lw = query(svd, n, p);
    double *work = malloc((size_t)lw * sizeof *work);
    cs_lsq_options o;
    cs_lsq_options_init(&o, sizeof o);
    o.method = method;
    cs_lsq *ws;
    if (cs_lsq_create(n, p, &o, NULL, &ws) != CS_OK) {
        fprintf(stderr, "cs_lsq_create failed\n");
        exit(1);
    }
    fit_ctx f = {n, p, X, y, Xc, yc, work, lw, coef, sv, ws, CS_LSQ_COL_MAJOR, n, nnls, 0};
    int reps = reps_for(n, p, quick);
    long inner = inner_for(n, p);
    timing copy = time_it(run_copy, &f, reps, inner);
    timing ours = time_it(run_ours, &f, reps, inner);
    timing raw = {0.0, 0};
    if (!svd)
        raw = time_it(run_geqrf, &f, reps, inner);
    timing base = time_it(svd ? run_dgelss : run_dgels, &f, reps, inner);
    /* agreement with the baseline (unconstrained cases) */
    double maxrel = 0.0;
    if (!nnls) {
        for (size_t j = 0; j < p; j++) {
            double e = fabs(coef[j] - yc[j]) / (fabs(yc[j]) + 1e-300);
            maxrel = e > maxrel ? e : maxrel;
        }
    }
    char extra[200];
    snprintf(extra, sizeof extra, ",\"layout\":\"col\",\"copy_ns_per_op\":%.6g", copy.ns);
    if (!svd) {
        size_t len = strlen(extra);
        snprintf(extra + len, sizeof extra - len, ",\"raw_geqrf_ns_per_op\":%.6g", raw.ns);
    }
    if (!nnls) {
        size_t len = strlen(extra);
        snprintf(extra + len, sizeof extra - len, ",\"max_rel_err\":%.3g", maxrel);
    }
    bench_record("lsq", case_name, (long)n, (long)p, ours.ns, ours.ops,
                 svd ? "lapacke_dgelss" : "lapacke_dgels", base.ns, extra);
    fprintf(stderr,
            "%-5s n=%-8zu p=%-3zu ours %10.1f us  baseline %10.1f us  ratio %.3f  "
            "(raw geqrf+ormqr+trtrs %.1f us)\n",
            case_name, n, p, ours.ns / 1e3, base.ns / 1e3, base.ns / ours.ns, raw.ns / 1e3);
    if (method == CS_LSQ_QR && !nnls) {
        /* numpy's C order: the same matrix row-major, used in place */
        Xr = malloc(n * p * sizeof *Xr);
        if (Xr != NULL) {
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < p; j++)
                    Xr[i * p + j] = X[i + j * n];
            f.X = Xr;
            f.layout = CS_LSQ_ROW_MAJOR;
            f.ldx = p;
            timing rowm = time_it(run_ours, &f, reps, inner);
            bench_record("lsq", case_name, (long)n, (long)p, rowm.ns, rowm.ops,
                         "lapacke_dgels", base.ns, ",\"layout\":\"row\"");
            free(Xr);
        }
    }
    cs_lsq_destroy(ws);
    free(work);
    free(X);
    free(y);
    free(Xc);
    free(yc);
}

/* ---- polynomial --------------------------------------------------------------- */

typedef struct poly_ctx {
    size_t n, d;
    const double *x, *y;
    double *V, *yc, *work;
    lapack_int lwork;
    cs_lsq_poly poly;
} poly_ctx;

static void run_polyfit(void *c)
{
    poly_ctx *q = c;
    if (cs_lsq_polyfit(q->n, q->x, q->y, NULL, q->d, &q->poly, NULL, NULL, NULL) != CS_OK) {
        fprintf(stderr, "polyfit failed\n");
        exit(1);
    }
    bench_consume((uint64_t)(q->poly.coef[0] * 1e6));
}

/* The naive route: raw Vandermonde [1 x ... x^d] and dgels. */
static void run_vander_dgels(void *c)
{
    poly_ctx *q = c;
    const size_t n = q->n, d = q->d;
    for (size_t i = 0; i < n; i++) {
        double t = 1.0;
        for (size_t k = 0; k <= d; k++) {
            q->V[i + k * n] = t;
            t *= q->x[i];
        }
    }
    memcpy(q->yc, q->y, n * sizeof(double));
    LAPACKE_dgels_work(LAPACK_COL_MAJOR, 'N', (lapack_int)n, (lapack_int)(d + 1), 1, q->V,
                       (lapack_int)n, q->yc, (lapack_int)n, q->work, q->lwork);
    bench_consume((uint64_t)(q->yc[0] * 1e6));
}

/* Worst relative error of fitted values at the data points against the
 * exact polynomial y (what a fit is for; the monomial coefficients
 * themselves are not determined to any digit on [100, 110]). */
static double fit_err_ours(const poly_ctx *q, double *tmp)
{
    cs_lsq_poly_eval(&q->poly, q->n, q->x, tmp);
    double worst = 0.0;
    for (size_t i = 0; i < q->n; i++) {
        double e = fabs(tmp[i] - q->y[i]) / fabs(q->y[i]);
        worst = e > worst ? e : worst;
    }
    return worst;
}

static double fit_err_monomial(const poly_ctx *q, const double *c)
{
    double worst = 0.0;
    for (size_t i = 0; i < q->n; i++) {
        double v = c[q->d];
        for (size_t k = q->d; k-- > 0;)
            v = v * q->x[i] + c[k];
        double e = fabs(v - q->y[i]) / fabs(q->y[i]);
        worst = e > worst ? e : worst;
    }
    return worst;
}

static void bench_poly(size_t n, size_t d, int quick)
{
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    double *V = malloc(n * (d + 1) * sizeof *V), *yc = malloc(n * sizeof *yc);
    /* x in [100, 110]: far from the origin, as timestamps or sizes are; y is
     * an exact polynomial, so the digits of each method are measurable. */
    sm_state = 777 + n;
    for (size_t i = 0; i < n; i++) {
        x[i] = 100.0 + 10.0 * sm_uniform();
        double v = 0.0, t = 1.0;
        for (size_t k = 0; k <= d; k++) {
            v += (k % 2 ? -1.0 : 1.0) / (double)(k + 1) * t;
            t *= x[i];
        }
        y[i] = v;
    }
    double q = 0.0, dummy = 0.0;
    LAPACKE_dgels_work(LAPACK_COL_MAJOR, 'N', (lapack_int)n, (lapack_int)(d + 1), 1, &dummy,
                       (lapack_int)n, &dummy, (lapack_int)n, &q, -1);
    poly_ctx c = {n, d, x, y, V, yc, NULL, (lapack_int)q + 1, {0}};
    c.work = malloc((size_t)c.lwork * sizeof(double));
    cs_lsq_poly_init(&c.poly, sizeof c.poly);
    int reps = reps_for(n, d + 1, quick);
    long inner = inner_for(n, d + 1);
    timing ours = time_it(run_polyfit, &c, reps, inner);
    timing base = time_it(run_vander_dgels, &c, reps, inner);
    char extra[160];
    snprintf(extra, sizeof extra, ",\"degree\":%zu,\"max_rel_err\":%.3g,\"baseline_max_rel_err\":%.3g",
             d, fit_err_ours(&c, V), fit_err_monomial(&c, yc));
    bench_record("lsq", "poly", (long)n, (long)(d + 1), ours.ns, ours.ops, "lapacke_dgels",
                 base.ns, extra);
    fprintf(stderr, "poly  n=%-8zu d=%-3zu ours %10.1f us  baseline %10.1f us  ratio %.3f%s\n",
            n, d, ours.ns / 1e3, base.ns / 1e3, base.ns / ours.ns, extra);
    free(c.work);
    free(x);
    free(y);
    free(V);
    free(yc);
}

/* ---- RLS ------------------------------------------------------------------------ */

typedef struct rls_ctx {
    size_t n, p;
    const double *X, *y;
    cs_rls *r;
    double *P, *b, *Px;
    int block;
} rls_ctx;

static void run_rls(void *c)
{
    rls_ctx *q = c;
    cs_rls_reset(q->r);
    if (q->block) {
        cs_rls_update_block(q->r, CS_LSQ_ROW_MAJOR, q->n, q->X, q->p, q->y);
    } else {
        for (size_t i = 0; i < q->n; i++)
            cs_rls_update(q->r, q->X + i * q->p, q->y[i]);
    }
    double yh = 0.0;
    cs_rls_predict(q->r, q->X, &yh);
    bench_consume((uint64_t)(yh * 1e6));
}

static void run_p_rls(void *c)
{
    rls_ctx *q = c;
    const size_t p = q->p;
    for (size_t a = 0; a < p * p; a++)
        q->P[a] = 0.0;
    for (size_t a = 0; a < p; a++) {
        q->P[a * p + a] = 1e6;
        q->b[a] = 0.0;
    }
    for (size_t i = 0; i < q->n; i++) {
        const double *x = q->X + i * p;
        double den = 1.0, e = q->y[i];
        for (size_t a = 0; a < p; a++) {
            double acc = 0.0;
            for (size_t k = 0; k < p; k++)
                acc += q->P[a * p + k] * x[k];
            q->Px[a] = acc;
            den += x[a] * acc;
            e -= x[a] * q->b[a];
        }
        double g = e / den, inv = 1.0 / den;
        for (size_t a = 0; a < p; a++)
            q->b[a] += q->Px[a] * g;
        for (size_t a = 0; a < p; a++)
            for (size_t k = 0; k < p; k++)
                q->P[a * p + k] -= q->Px[a] * q->Px[k] * inv;
    }
    bench_consume((uint64_t)(q->b[0] * 1e6));
}

static void bench_rls(size_t n, size_t p, int quick)
{
    double *X = malloc(n * p * sizeof *X), *y = malloc(n * sizeof *y);
    double *Xc = malloc(n * p * sizeof *Xc);
    make_data(n, p, Xc, y);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++)
            X[i * p + j] = Xc[i + j * n];
    cs_rls_options o;
    cs_rls_options_init(&o, sizeof o);
    o.ridge = 1e-6;
    rls_ctx c = {n, p, X, y, NULL, malloc(p * p * sizeof(double)), malloc(p * sizeof(double)),
                 malloc(p * sizeof(double)), 0};
    cs_rls_create(p, &o, NULL, &c.r);
    int reps = quick ? 3 : 7;
    timing ours = time_it(run_rls, &c, reps, 1);
    timing base = time_it(run_p_rls, &c, reps, 1);
    c.block = 1;
    timing blk = time_it(run_rls, &c, reps, 1);
    double per = ours.ns / (double)n, bper = base.ns / (double)n, kper = blk.ns / (double)n;
    char extra[96];
    snprintf(extra, sizeof extra, ",\"mode\":\"single\",\"updates_per_s\":%.4g", 1e9 / per);
    bench_record("lsq", "rls_update", (long)n, (long)p, per, ours.ops * (long)n,
                 "p_matrix_rls", bper, extra);
    snprintf(extra, sizeof extra, ",\"mode\":\"block\",\"updates_per_s\":%.4g", 1e9 / kper);
    bench_record("lsq", "rls_update", (long)n, (long)p, kper, blk.ops * (long)n,
                 "p_matrix_rls", bper, extra);
    fprintf(stderr,
            "rls   n=%-8zu p=%-3zu single %8.1f ns/update (%.3g/s)  block %8.1f ns  "
            "P-matrix %8.1f ns\n",
            n, p, per, 1e9 / per, kper, bper);
    cs_rls_destroy(c.r);
    free(c.P);
    free(c.b);
    free(c.Px);
    free(X);
    free(Xc);
    free(y);
}

int main(int argc, char **argv)
{
    int quick = bench_quick(argc, argv);
    const size_t ns_full[4] = {1000, 10000, 100000, 1000000};
    const size_t ps_full[3] = {4, 16, 64};
    const size_t ns_quick[2] = {1000, 10000};
    const size_t ps_quick[2] = {4, 16};
    const size_t *ns = quick ? ns_quick : ns_full;
    const size_t *ps = quick ? ps_quick : ps_full;
    size_t nn = quick ? 2 : 4, np = quick ? 2 : 3;
    fprintf(stderr, "bench_lsq (%s): OpenBLAS + LAPACKE, medians of repeated runs\n",
            quick ? "quick" : "full");
    for (size_t a = 0; a < nn; a++)
        for (size_t b = 0; b < np; b++)
            bench_fit("qr", CS_LSQ_QR, 0, ns[a], ps[b], quick);
    for (size_t a = 0; a < nn && ns[a] <= 100000; a++)
        for (size_t b = 0; b < np && ps[b] <= 16; b++)
            bench_fit("svd", CS_LSQ_SVD, 0, ns[a], ps[b], quick);
    for (size_t a = 0; a < nn; a++)
        bench_poly(ns[a], 5, quick);
    for (size_t a = 0; a < nn && ns[a] <= 100000; a++)
        for (size_t b = 0; b < np && ps[b] <= 16; b++)
            bench_fit("nnls", CS_LSQ_QR, 1, ns[a], ps[b], quick);
    for (size_t b = 0; b < np; b++)
        bench_rls(quick ? 20000 : 200000, ps[b], quick);
    return 0;
}
