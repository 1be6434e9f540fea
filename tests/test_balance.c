/* Separable balancing: hand-computed cases, a sort-based reference written
 * here, brute force over the integers, KKT/exchange checks computed from
 * the objective's definition, bad input and allocation failures. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cloudsched/cloudsched.h"
#include "testutil.h"

#define NaN ((double)NAN)
#define INF HUGE_VAL

static cs_balance_workspace *new_ws(void)
{
    cs_balance_workspace *ws = NULL;
    ck_assert_int_eq(cs_balance_workspace_create(NULL, &ws), CS_OK);
    return ws;
}

static cs_balance_problem problem(size_t n, const double *w, const double *t,
                                  const double *l, const double *u, double D)
{
    cs_balance_problem p;
    ck_assert_int_eq(cs_balance_problem_init(&p, sizeof p), CS_OK);
    p.n = n;
    p.weight = w;
    p.target = t;
    p.lower = l;
    p.upper = u;
    p.total = D;
    return p;
}

static cs_balance_result result(void)
{
    cs_balance_result r;
    ck_assert_int_eq(cs_balance_result_init(&r, sizeof r), CS_OK);
    return r;
}

#define ck_close(a, b, tol) ck_assert_msg(fabs((double)(a) - (double)(b)) <= (tol), \
    "%s = %.17g, expected %.17g (tol %g)", #a, (double)(a), (double)(b), (double)(tol))

/* ---- the reference: sort all breakpoints, binary search g, solve the
 * linear piece. O(n log n), long double sums. ---- */

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static double wv(const double *w, size_t i) { return w ? w[i] : 1.0; }
static double tv(const double *t, size_t i) { return t ? t[i] : 0.0; }
static double lv(const double *l, size_t i) { return l ? l[i] : -INF; }
static double uv(const double *u, size_t i) { return u ? u[i] : INF; }

static long double ref_g(size_t n, const double *w, const double *t, const double *l,
                         const double *u, double mu)
{
    long double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (long double)clampd(tv(t, i) + mu / wv(w, i), lv(l, i), uv(u, i));
    return s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* mu* by sorting; assumes D strictly inside (sum l, sum u). */
static double ref_mu(size_t n, const double *w, const double *t, const double *l,
                     const double *u, double D)
{
    double *bp = malloc((2 * n + 2) * sizeof *bp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double a = wv(w, i) * (lv(l, i) - tv(t, i)), b = wv(w, i) * (uv(u, i) - tv(t, i));
        if (isfinite(a))
            bp[m++] = a;
        if (isfinite(b))
            bp[m++] = b;
    }
    qsort(bp, m, sizeof *bp, cmp_double);
    /* largest k with g(bp[k]) <= D (or -1), then the piece (bp[k], bp[k+1]) */
    long lo = -1, hi = (long)m; /* g(bp[lo]) <= D < g(bp[hi]) */
    while (hi - lo > 1) {
        long mid = (lo + hi) / 2;
        if (ref_g(n, w, t, l, u, bp[mid]) <= (long double)D)
            lo = mid;
        else
            hi = mid;
    }
    double left = lo >= 0 ? bp[lo] : -INF, right = hi < (long)m ? bp[hi] : INF;
    double mid = isfinite(left) && isfinite(right) ? 0.5 * (left + right)
               : isfinite(left) ? left + 1 : isfinite(right) ? right - 1 : 0;
    long double fixed = 0, kk = 0;
    for (size_t i = 0; i < n; i++) {
        double a = wv(w, i) * (lv(l, i) - tv(t, i)), b = wv(w, i) * (uv(u, i) - tv(t, i));
        if (mid <= a)
            fixed += (long double)lv(l, i);
        else if (mid >= b)
            fixed += (long double)uv(u, i);
        else {
            fixed += (long double)tv(t, i);
            kk += 1.0L / (long double)wv(w, i);
        }
    }
    free(bp);
    if (kk == 0)
        return left;
    return (double)(((long double)D - fixed) / kk);
}

/* Solve with the library and with the reference; compare element-wise. */
static void check_against_reference(size_t n, const double *w, const double *t,
                                    const double *l, const double *u, double D)
{
    cs_balance_workspace *ws = new_ws();
    cs_balance_problem p = problem(n, w, t, l, u, D);
    cs_balance_result r = result();
    double *x = malloc(n * sizeof *x);
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_OK);
    double mu = ref_mu(n, w, t, l, u, D);
    double scale = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(x[i]));
    for (size_t i = 0; i < n; i++) {
        double xr = clampd(tv(t, i) + mu / wv(w, i), lv(l, i), uv(u, i));
        ck_assert_msg(fabs(x[i] - xr) <= 1e-9 * (1 + scale), "i=%zu x=%.17g ref=%.17g", i,
                      x[i], xr);
        ck_assert(x[i] >= lv(l, i) && x[i] <= uv(u, i));
    }
    /* The total: summed here in long double, independently of r.sum. */
    long double s = 0, sabs = 0;
    for (size_t i = 0; i < n; i++) {
        s += (long double)x[i];
        sabs += fabsl((long double)x[i]);
    }
    ck_assert_msg(fabsl(s - (long double)D) <=
                      64 * (long double)DBL_EPSILON * (sabs + (long double)fabs(D)) + 1e-300L,
                  "sum %.17Lg vs D %.17g", s, D);
    ck_close(r.sum, (double)s, 1e-12 * (double)(sabs + 1));
    ck_assert_uint_eq(r.num_lower + r.num_upper + r.num_free, n);
    free(x);
    cs_balance_workspace_destroy(ws);
}

/* ---- hand-computed cases ---- */

START_TEST(hand_equal_split)
{
    /* w = 1, t = 0, no bounds, D = 6: x_i = mu = 2. */
    cs_balance_workspace *ws = new_ws();
    cs_balance_problem p = problem(3, NULL, NULL, NULL, NULL, 6);
    cs_balance_result r = result();
    double x[3];
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_OK);
    for (int i = 0; i < 3; i++)
        ck_close(x[i], 2.0, 1e-15);
    ck_close(r.mu, 2.0, 1e-15);
    ck_close(r.objective, 12.0, 1e-13); /* 3 * 2^2 */
    ck_assert_uint_eq(r.num_free, 3);
    cs_balance_workspace_destroy(ws);
}
END_TEST

START_TEST(hand_weighted)
{
    /* x_i = mu / w_i with w = (1, 2, 4): mu (1 + 1/2 + 1/4) = 7 -> mu = 4,
     * x = (4, 2, 1); objective 1*16 + 2*4 + 4*1 = 28. */
    cs_balance_workspace *ws = new_ws();
    const double w[3] = {1, 2, 4};
    cs_balance_problem p = problem(3, w, NULL, NULL, NULL, 7);
    cs_balance_result r = result();
    double x[3];
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_OK);
    ck_close(x[0], 4, 1e-14);
    ck_close(x[1], 2, 1e-14);
    ck_close(x[2], 1, 1e-14);
    ck_close(r.mu, 4, 1e-14);
    ck_close(r.objective, 28, 1e-12);
    cs_balance_workspace_destroy(ws);
}
END_TEST

START_TEST(hand_bounds_and_targets)
{
    cs_balance_workspace *ws = new_ws();
    double x[3];
    cs_balance_result r = result();
    /* Equal split of 9 is 3 each, but x_0 <= 1: x = (1, 4, 4), mu = 4. */
    const double l[3] = {0, 0, 0}, u[3] = {1, 5, 5};
    cs_balance_problem p = problem(3, NULL, NULL, l, u, 9);
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_OK);
    ck_close(x[0], 1, 1e-14);
    ck_close(x[1], 4, 1e-14);
    ck_close(x[2], 4, 1e-14);
    ck_close(r.mu, 4, 1e-14);
    ck_assert_uint_eq(r.num_upper, 1);
    ck_assert_uint_eq(r.num_free, 2);
    /* Targets (5, 1, 0), l = 0, D = 3: x_0 = 5 + mu is the only free one
     * for mu <= -1, so mu = -2 and x = (3, 0, 0). */
    const double t[3] = {5, 1, 0};
    p = problem(3, NULL, t, l, NULL, 3);
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_OK);
    ck_close(x[0], 3, 1e-14);
    ck_close(x[1], 0, 0);
    ck_close(x[2], 0, 0);
    ck_close(r.mu, -2, 1e-14);
    ck_assert_uint_eq(r.num_lower, 2);
    /* D equal to sum u: every x_i = u_i exactly, mu = max b_i = 5. */
    p = problem(3, NULL, NULL, l, u, 11);
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_OK);
    ck_assert(x[0] == 1 && x[1] == 5 && x[2] == 5);
    ck_close(r.mu, 5, 0);
    /* Fixed variables (l = u) and D = sum l. */
    const double lf[3] = {2, -1, 0.5}, uf[3] = {2, 3, 0.5};
    p = problem(3, NULL, NULL, lf, uf, 1.5);
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_OK);
    ck_assert(x[0] == 2 && x[1] == -1 && x[2] == 0.5);
    cs_balance_workspace_destroy(ws);
}
END_TEST

START_TEST(infeasible_and_empty)
{
    cs_balance_workspace *ws = new_ws();
    const double l[2] = {0, 1}, u[2] = {2, 3};
    double x[2] = {-7, -7};
    cs_balance_result r = result();
    cs_balance_problem p = problem(2, NULL, NULL, l, u, 5.5); /* sum u = 5 */
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_ERR_INFEASIBLE);
    ck_assert(x[0] == -7 && x[1] == -7); /* untouched */
    ck_close(r.max_total, 5, 0);
    ck_close(r.min_total, 1, 0);
    ck_close(r.mu, 3, 0); /* max b = max(2 - 0, 3 - 0) */
    p.total = 0.5;
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_ERR_INFEASIBLE);
    ck_close(r.mu, 0, 0); /* min a = min(0, 1) */
    /* Just above sum u by rounding noise is accepted as sum u. */
    p.total = 5 * (1 + 2 * DBL_EPSILON);
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_OK);
    ck_assert(x[0] == 2 && x[1] == 3);
    /* n = 0 */
    p = problem(0, NULL, NULL, NULL, NULL, 0);
    ck_assert_int_eq(cs_balance_solve(ws, &p, NULL, &r), CS_OK);
    p.total = 1;
    ck_assert_int_eq(cs_balance_solve(ws, &p, NULL, &r), CS_ERR_INFEASIBLE);
    /* unbounded on one side: always feasible on that side */
    p = problem(2, NULL, NULL, NULL, u, -1e6);
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_OK);
    ck_close(x[0] + x[1], -1e6, 1e-9);
    ck_assert(r.min_total == -INF);
    cs_balance_workspace_destroy(ws);
}
END_TEST

START_TEST(bad_input)
{
    cs_balance_workspace *ws = new_ws();
    double x[3] = {9, 9, 9};
    cs_balance_result r = result();
    const double w[3] = {1, 1, 1}, t[3] = {0, 0, 0}, l[3] = {0, 0, 0}, u[3] = {5, 5, 5};
    cs_balance_problem p = problem(3, w, t, l, u, 3);
    ck_assert_int_eq(cs_balance_solve(NULL, &p, x, &r), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_solve(ws, NULL, x, &r), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_solve(ws, &p, NULL, &r), CS_ERR_INVALID);
    cs_balance_problem q = p;
    q.size = 3;
    ck_assert_int_eq(cs_balance_solve(ws, &q, x, &r), CS_ERR_INVALID);
    q = p;
    q.total = NaN;
    ck_assert_int_eq(cs_balance_solve(ws, &q, x, &r), CS_ERR_INVALID);
    q.total = INF;
    ck_assert_int_eq(cs_balance_solve(ws, &q, x, &r), CS_ERR_INVALID);
    const double bad_w[][3] = {{1, 0, 1}, {1, -1, 1}, {1, NaN, 1}, {1, INF, 1}};
    for (int k = 0; k < 4; k++) {
        q = p;
        q.weight = bad_w[k];
        ck_assert_int_eq(cs_balance_solve(ws, &q, x, &r), CS_ERR_INVALID);
    }
    const double bad_t[][3] = {{0, NaN, 0}, {0, INF, 0}, {-INF, 0, 0}};
    for (int k = 0; k < 3; k++) {
        q = p;
        q.target = bad_t[k];
        ck_assert_int_eq(cs_balance_solve(ws, &q, x, &r), CS_ERR_INVALID);
    }
    const double bad_l[][3] = {{0, NaN, 0}, {INF, 0, 0}, {0, 6, 0}};
    for (int k = 0; k < 3; k++) {
        q = p;
        q.lower = bad_l[k];
        ck_assert_int_eq(cs_balance_solve(ws, &q, x, &r), CS_ERR_INVALID);
    }
    const double bad_u[][3] = {{5, NaN, 5}, {-INF, 5, 5}, {5, -1, 5}};
    for (int k = 0; k < 3; k++) {
        q = p;
        q.upper = bad_u[k];
        ck_assert_int_eq(cs_balance_solve(ws, &q, x, &r), CS_ERR_INVALID);
    }
    /* 1 / w overflows (a subnormal weight) */
    const double tiny_w[3] = {1e-310, 1, 1};
    q = p;
    q.weight = tiny_w;
    ck_assert_int_eq(cs_balance_solve(ws, &q, x, &r), CS_ERR_NUMERIC);
    /* a breakpoint beyond the double range is harmless when mu* is not there */
    const double huge_w[3] = {1e300, 1, 1}, huge_u[3] = {1e300, 5, 5};
    q = p;
    q.weight = huge_w;
    q.upper = huge_u;
    double xh[3];
    ck_assert_int_eq(cs_balance_solve(ws, &q, xh, &r), CS_OK);
    ck_close(xh[1], 1.5, 1e-12); /* x_0 = mu / 1e300 ~ 0, the others split 3 */
    ck_close(xh[0], 0, 1e-200);
    ck_assert(x[0] == 9 && x[1] == 9 && x[2] == 9);
    ck_assert_int_eq(cs_balance_problem_init(NULL, sizeof p), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_problem_init(&p, 1), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_result_init(&r, sizeof r + 1), CS_ERR_INVALID);
    cs_balance_int_problem ip;
    ck_assert_int_eq(cs_balance_int_problem_init(&ip, 2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_workspace_create(NULL, NULL), CS_ERR_INVALID);
    cs_allocator half = {NULL, NULL, NULL, NULL};
    cs_balance_workspace *w2 = NULL;
    ck_assert_int_eq(cs_balance_workspace_create(&half, &w2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_workspace_reserve(NULL, 5), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_workspace_reserve(ws, SIZE_MAX / 4), CS_ERR_OVERFLOW);
    cs_balance_workspace_destroy(NULL);
    cs_balance_workspace_destroy(ws);
}
END_TEST

/* ---- random problems against the reference ---- */

static double log_uniform(test_rng *g, double lo, double hi)
{
    return exp(log(lo) + (log(hi) - log(lo)) * test_rng_uniform(g));
}

/* kind: 0 continuous data; 1 integer-valued data with many equal breakpoints;
 * 2 heavy tails; 3 mostly unbounded. */
static void random_problem(test_rng *g, size_t n, int kind, double *w, double *t, double *l,
                           double *u, double *D)
{
    long double sl = 0, su = 0;
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0:
            w[i] = log_uniform(g, 1e-3, 1e3);
            t[i] = 10 * test_rng_normal(g);
            l[i] = t[i] - 5 * test_rng_uniform(g) - (test_rng_below(g, 4) == 0 ? 20 : 0);
            u[i] = l[i] + 10 * test_rng_uniform(g);
            if (test_rng_below(g, 20) == 0)
                u[i] = l[i];
            break;
        case 1:
            w[i] = (double)(1 + test_rng_below(g, 3));
            t[i] = (double)test_rng_below(g, 10);
            l[i] = (double)test_rng_below(g, 5);
            u[i] = l[i] + (double)test_rng_below(g, 6);
            break;
        case 2:
            w[i] = test_rng_below(g, 1000) == 0 ? 1e-6 : 1.0;
            t[i] = test_rng_below(g, 500) == 0 ? 1e6 * test_rng_normal(g) : test_rng_normal(g);
            l[i] = test_rng_below(g, 2) ? -INF : t[i] - 3;
            u[i] = test_rng_below(g, 3) ? INF : t[i] + 1e4 * test_rng_uniform(g);
            break;
        default:
            w[i] = log_uniform(g, 0.1, 10);
            t[i] = test_rng_normal(g);
            l[i] = test_rng_below(g, 10) == 0 ? t[i] - 1 : -INF;
            u[i] = test_rng_below(g, 10) == 0 ? t[i] + 1 : INF;
            break;
        }
        sl += (long double)l[i];
        su += (long double)u[i];
    }
    /* D inside the feasible range, away from its ends */
    double a = isfinite((double)sl) ? (double)sl : -1e3 * (double)n;
    double b = isfinite((double)su) ? (double)su : 1e3 * (double)n;
    if (kind == 2) {
        a = fmax(a, -5.0 * (double)n);
        b = fmin(b, 5.0 * (double)n);
    }
    *D = a + (b - a) * (0.05 + 0.9 * test_rng_uniform(g));
}

START_TEST(random_small_vs_reference)
{
    test_rng g;
    test_rng_seed(&g, 42);
    enum { N = 400 };
    static double w[N], t[N], l[N], u[N];
    for (int rep = 0; rep < 200; rep++) {
        size_t n = 1 + test_rng_below(&g, N);
        int kind = rep % 4;
        double D;
        random_problem(&g, n, kind, w, t, l, u, &D);
        check_against_reference(n, w, t, l, u, D);
    }
}
END_TEST

START_TEST(random_large_vs_reference)
{
    /* Large enough to go through the sampled brackets, on every data kind
     * (the heavy-tailed one defeats the sample's error estimate sometimes, so
     * the verified fallback is exercised too). */
    test_rng g;
    test_rng_seed(&g, 7);
    size_t n = 300000;
    double *w = malloc(n * sizeof *w), *t = malloc(n * sizeof *t), *l = malloc(n * sizeof *l),
           *u = malloc(n * sizeof *u);
    for (int kind = 0; kind < 4; kind++) {
        double D;
        random_problem(&g, n, kind, w, t, l, u, &D);
        check_against_reference(n, w, t, l, u, D);
    }
    free(w);
    free(t);
    free(l);
    free(u);
}
END_TEST

START_TEST(sampled_bracket_fallback)
{
    /* A sample of 4096 from 100000 elements almost surely misses the one
     * element that carries nearly all the slope, so the sampled bracket is
     * wrong and must be repaired by the exact check (passes = 3). */
    size_t n = 100000;
    double *w = malloc(n * sizeof *w), *u = malloc(n * sizeof *u), *l = malloc(n * sizeof *l);
    double *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        w[i] = 1.0;
        l[i] = 0;
        u[i] = 1;
    }
    w[12345] = 1e-9; /* x = mu * 1e9: free over a huge range */
    u[12345] = INF;
    /* D = 50000.5: for mu in (0, 1) every ordinary element contributes mu and
     * the special one 1e9 mu, so g(mu) = (n - 1) mu + 1e9 mu. */
    double D = 50000.5;
    cs_balance_workspace *ws = new_ws();
    cs_balance_problem p = problem(n, w, NULL, l, u, D);
    cs_balance_result r = result();
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_OK);
    double mu = D / ((double)(n - 1) + 1e9);
    ck_close(r.mu, mu, 1e-15);
    ck_close(x[0], mu, 1e-15);
    ck_close(x[12345], mu * 1e9, 1e-6);
    ck_assert_uint_eq(r.passes, 3);
    /* An ordinary problem of the same size needs only two passes. */
    w[12345] = 1;
    u[12345] = 1;
    p.total = 30000;
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, &r), CS_OK);
    ck_assert_uint_eq(r.passes, 2);
    ck_close(x[777], 0.3, 1e-15);
    free(w);
    free(u);
    free(l);
    free(x);
    cs_balance_workspace_destroy(ws);
}
END_TEST

START_TEST(deterministic_and_older_struct)
{
    test_rng g;
    test_rng_seed(&g, 3);
    size_t n = 50000;
    double *w = malloc(n * sizeof *w), *t = malloc(n * sizeof *t), *l = malloc(n * sizeof *l),
           *u = malloc(n * sizeof *u), *x1 = malloc(n * sizeof *x1),
           *x2 = malloc(n * sizeof *x2);
    double D;
    random_problem(&g, n, 0, w, t, l, u, &D);
    cs_balance_workspace *a = new_ws(), *b = new_ws();
    cs_balance_problem p = problem(n, w, t, l, u, D);
    cs_balance_result r1 = result(), r2 = result();
    ck_assert_int_eq(cs_balance_solve(a, &p, x1, &r1), CS_OK);
    ck_assert_int_eq(cs_balance_workspace_reserve(b, 2 * n), CS_OK);
    ck_assert_int_eq(cs_balance_solve(b, &p, x2, &r2), CS_OK);
    ck_assert(memcmp(x1, x2, n * sizeof *x1) == 0);
    ck_assert(r1.mu == r2.mu);
    free(w);
    free(t);
    free(l);
    free(u);
    free(x1);
    free(x2);
    cs_balance_workspace_destroy(a);
    cs_balance_workspace_destroy(b);
}
END_TEST

/* ---- integer problems ---- */

static double int_objective(size_t n, const double *w, const double *t, const int64_t *y)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)y[i] - tv(t, i);
        s += wv(w, i) * d * d;
    }
    return s;
}

/* Brute force: every integer vector in the box with the right sum. */
static double brute_min(size_t n, const double *w, const double *t, const int64_t *l,
                        const int64_t *u, int64_t D, int64_t *best)
{
    int64_t y[8];
    double bestv = INF;
    for (size_t i = 0; i < n; i++)
        y[i] = l[i];
    for (;;) {
        int64_t s = 0;
        for (size_t i = 0; i < n; i++)
            s += y[i];
        if (s == D) {
            double v = int_objective(n, w, t, y);
            if (v < bestv - 1e-12) {
                bestv = v;
                memcpy(best, y, n * sizeof *y);
            }
        }
        size_t k = 0;
        while (k < n && y[k] == u[k]) {
            y[k] = l[k];
            k++;
        }
        if (k == n)
            break;
        y[k]++;
    }
    return bestv;
}

/* The canonical optimum by the plain greedy from the lower bounds: D - sum l
 * times, add the unit of least (marginal cost, index). O(n (D - sum l)). */
static void greedy_from_lower(size_t n, const double *w, const double *t, const int64_t *l,
                              const int64_t *u, int64_t D, int64_t *y)
{
    int64_t s = 0;
    for (size_t i = 0; i < n; i++) {
        y[i] = l[i];
        s += l[i];
    }
    for (; s < D; s++) {
        size_t best = n;
        double bk = INF;
        for (size_t i = 0; i < n; i++) {
            if (y[i] >= u[i])
                continue;
            double k = wv(w, i) * (2.0 * ((double)y[i] - tv(t, i)) + 1.0);
            if (k < bk) {
                bk = k;
                best = i;
            }
        }
        y[best]++;
    }
}

START_TEST(int_hand_cases)
{
    cs_balance_workspace *ws = new_ws();
    cs_balance_int_problem p;
    ck_assert_int_eq(cs_balance_int_problem_init(&p, sizeof p), CS_OK);
    /* 10 units over 3 equal elements: 10/3 each, ties to lower index: 4, 3, 3. */
    int64_t y[5];
    p.n = 3;
    p.total = 10;
    cs_balance_result r = result();
    ck_assert_int_eq(cs_balance_solve_int(ws, &p, y, &r), CS_OK);
    ck_assert(y[0] == 4 && y[1] == 3 && y[2] == 3);
    ck_close(r.objective, 34, 0);                /* 16 + 9 + 9 */
    ck_close(r.objective_continuous, 100.0 / 3, 1e-12); /* 3 (10/3)^2 */
    /* 3 units over 2: x = 1.5 each (the exact tie): 2, 1. */
    p.n = 2;
    p.total = 3;
    ck_assert_int_eq(cs_balance_solve_int(ws, &p, y, &r), CS_OK);
    ck_assert(y[0] == 2 && y[1] == 1);
    /* The case where rounding up from floor(x) is not optimal: t = x* (mu = 0,
     * sum t = 4), floor(x) = (0, 0, 0, 0, 1); the greedy from there picks
     * 0, 1, 2 (costs -6000, -200, -200) and reaches 729.0275, while lowering
     * element 4 to 0 and raising element 3 gives 721.1275:
     * 1e4*0.04 + 1e3*0.16*2 + 10*0.05^2 + 1*1.05^2. */
    const double w[5] = {1e4, 1e3, 1e3, 10, 1}, t[5] = {0.8, 0.6, 0.6, 0.95, 1.05};
    const int64_t l[5] = {-3, -3, -3, -3, -3}, u[5] = {4, 4, 4, 4, 4};
    p.n = 5;
    p.weight = w;
    p.target = t;
    p.lower = l;
    p.upper = u;
    p.total = 4;
    ck_assert_int_eq(cs_balance_solve_int(ws, &p, y, &r), CS_OK);
    ck_assert(y[0] == 1 && y[1] == 1 && y[2] == 1 && y[3] == 1 && y[4] == 0);
    ck_close(r.objective, 721.1275, 1e-9);
    int64_t yb[5];
    ck_close(brute_min(5, w, t, l, u, 4, yb), 721.1275, 1e-9);
    /* infeasible, checked exactly in integers */
    p.total = 21; /* sum u = 20 */
    int64_t keep[5] = {7, 7, 7, 7, 7};
    ck_assert_int_eq(cs_balance_solve_int(ws, &p, keep, &r), CS_ERR_INFEASIBLE);
    ck_assert(keep[0] == 7 && keep[4] == 7);
    ck_close(r.max_total, 20, 0);
    cs_balance_workspace_destroy(ws);
}
END_TEST

START_TEST(int_brute_force)
{
    test_rng g;
    test_rng_seed(&g, 11);
    cs_balance_workspace *ws = new_ws();
    for (int rep = 0; rep < 600; rep++) {
        size_t n = 1 + test_rng_below(&g, 5);
        double w[5], t[5];
        int64_t l[5], u[5], y[5], yb[5], yg[5];
        int64_t sl = 0, su = 0;
        bool integral = rep % 2 == 0; /* integer data: many exact ties */
        for (size_t i = 0; i < n; i++) {
            w[i] = integral ? (double)(1 + test_rng_below(&g, 3)) : log_uniform(&g, 0.01, 100);
            t[i] = integral ? (double)test_rng_below(&g, 7) - 2 : 6 * test_rng_uniform(&g) - 2;
            l[i] = (int64_t)test_rng_below(&g, 4) - 2;
            u[i] = l[i] + (int64_t)test_rng_below(&g, 5);
            sl += l[i];
            su += u[i];
        }
        int64_t D = sl + (int64_t)test_rng_below(&g, (uint64_t)(su - sl + 1));
        cs_balance_int_problem p;
        ck_assert_int_eq(cs_balance_int_problem_init(&p, sizeof p), CS_OK);
        p.n = n;
        p.weight = w;
        p.target = t;
        p.lower = l;
        p.upper = u;
        p.total = D;
        cs_balance_result r = result();
        ck_assert_int_eq(cs_balance_solve_int(ws, &p, y, &r), CS_OK);
        int64_t s = 0;
        for (size_t i = 0; i < n; i++) {
            ck_assert(y[i] >= l[i] && y[i] <= u[i]);
            s += y[i];
        }
        ck_assert_int_eq(s, D);
        double best = brute_min(n, w, t, l, u, D, yb);
        double mine = int_objective(n, w, t, y);
        ck_assert_msg(mine <= best + 1e-9 * (1 + best), "rep %d: %.17g vs brute %.17g", rep,
                      mine, best);
        ck_assert(r.objective_continuous <= mine + 1e-9 * (1 + mine));
        /* and exactly the canonical tie-broken optimum */
        greedy_from_lower(n, w, t, l, u, D, yg);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(y[i] == yg[i], "rep %d i %zu: %lld vs greedy %lld", rep, i,
                          (long long)y[i], (long long)yg[i]);
    }
    cs_balance_workspace_destroy(ws);
}
END_TEST

START_TEST(int_larger_vs_greedy)
{
    /* Against the plain greedy on larger instances (n up to 300, totals up to
     * a few thousand units), including unbounded-above elements. */
    test_rng g;
    test_rng_seed(&g, 5);
    cs_balance_workspace *ws = new_ws();
    enum { N = 300 };
    static double w[N], t[N];
    static int64_t l[N], u[N], y[N], yg[N];
    for (int rep = 0; rep < 40; rep++) {
        size_t n = 1 + test_rng_below(&g, N);
        int64_t sl = 0, su = 0;
        for (size_t i = 0; i < n; i++) {
            w[i] = rep % 2 ? 1.0 : log_uniform(&g, 0.1, 10);
            t[i] = 20 * test_rng_uniform(&g);
            l[i] = (int64_t)test_rng_below(&g, 5);
            u[i] = l[i] + (int64_t)test_rng_below(&g, 30);
            sl += l[i];
            su += u[i];
        }
        int64_t D = sl + (int64_t)test_rng_below(&g, (uint64_t)(su - sl + 1));
        cs_balance_int_problem p;
        ck_assert_int_eq(cs_balance_int_problem_init(&p, sizeof p), CS_OK);
        p.n = n;
        p.weight = w;
        p.target = t;
        p.lower = l;
        p.upper = u;
        p.total = D;
        ck_assert_int_eq(cs_balance_solve_int(ws, &p, y, NULL), CS_OK);
        greedy_from_lower(n, w, t, l, u, D, yg);
        ck_assert(memcmp(y, yg, n * sizeof *y) == 0);
    }
    cs_balance_workspace_destroy(ws);
}
END_TEST

START_TEST(int_bad_input)
{
    cs_balance_workspace *ws = new_ws();
    cs_balance_int_problem p;
    ck_assert_int_eq(cs_balance_int_problem_init(&p, sizeof p), CS_OK);
    int64_t l[2] = {0, 0}, u[2] = {5, 5}, y[2] = {3, 3};
    p.n = 2;
    p.lower = l;
    p.upper = u;
    p.total = 4;
    ck_assert_int_eq(cs_balance_solve_int(NULL, &p, y, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_solve_int(ws, NULL, y, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_solve_int(ws, &p, NULL, NULL), CS_ERR_INVALID);
    cs_balance_int_problem q = p;
    int64_t big[2] = {0, CS_BALANCE_INT_MAX + 1};
    q.upper = big;
    ck_assert_int_eq(cs_balance_solve_int(ws, &q, y, NULL), CS_ERR_INVALID);
    int64_t inv[2] = {6, 0};
    q = p;
    q.lower = inv;
    ck_assert_int_eq(cs_balance_solve_int(ws, &q, y, NULL), CS_ERR_INVALID);
    q = p;
    q.total = -CS_BALANCE_INT_MAX - 1;
    ck_assert_int_eq(cs_balance_solve_int(ws, &q, y, NULL), CS_ERR_INVALID);
    const double w0[2] = {1, 0};
    q = p;
    q.weight = w0;
    ck_assert_int_eq(cs_balance_solve_int(ws, &q, y, NULL), CS_ERR_INVALID);
    const double tn[2] = {NaN, 0};
    q = p;
    q.target = tn;
    ck_assert_int_eq(cs_balance_solve_int(ws, &q, y, NULL), CS_ERR_INVALID);
    ck_assert(y[0] == 3 && y[1] == 3);
    /* unbounded elements whose optimum leaves the exact-integer range */
    const double far[2] = {1e17, -1e17};
    q = p;
    q.lower = NULL;
    q.upper = NULL;
    q.target = far;
    q.total = 0;
    ck_assert_int_eq(cs_balance_solve_int(ws, &q, y, NULL), CS_ERR_OVERFLOW);
    ck_assert(y[0] == 3 && y[1] == 3);
    /* sums of bounds that overflow int64 */
    enum { M = 2000 };
    static int64_t lb[M], ub[M], yy[M];
    for (int i = 0; i < M; i++) {
        lb[i] = 0;
        ub[i] = CS_BALANCE_INT_MAX;
    }
    q = p;
    q.n = M;
    q.lower = lb;
    q.upper = ub;
    q.total = 5;
    ck_assert_int_eq(cs_balance_solve_int(ws, &q, yy, NULL), CS_ERR_OVERFLOW);
    cs_balance_workspace_destroy(ws);
}
END_TEST

/* ---- max-min ---- */

START_TEST(max_min_hand)
{
    cs_balance_workspace *ws = new_ws();
    double x[3];
    cs_balance_result r = result();
    /* capacity 10, demands 2, 4, 10, equal weights: level 4 -> 2, 4, 4. */
    const double d1[3] = {2, 4, 10};
    ck_assert_int_eq(cs_balance_max_min(ws, 3, d1, NULL, 10, x, &r), CS_OK);
    ck_close(x[0], 2, 1e-14);
    ck_close(x[1], 4, 1e-14);
    ck_close(x[2], 4, 1e-14);
    ck_close(r.mu, 4, 1e-14);
    /* weights 1, 2, 3, capacity 12, large demands: L + 2L + 3L = 12, L = 2. */
    const double d2[3] = {10, 10, 10}, wt[3] = {1, 2, 3};
    ck_assert_int_eq(cs_balance_max_min(ws, 3, d2, wt, 12, x, &r), CS_OK);
    ck_close(x[0], 2, 1e-14);
    ck_close(x[1], 4, 1e-14);
    ck_close(x[2], 6, 1e-14);
    ck_close(r.mu, 2, 1e-14);
    /* demand 1 of the first is met at level 2; the rest refill:
     * 1 + 2L + 3L = 12 -> L = 2.2: (1, 4.4, 6.6). */
    const double d3[3] = {1, 10, 10};
    ck_assert_int_eq(cs_balance_max_min(ws, 3, d3, wt, 12, x, &r), CS_OK);
    ck_close(x[0], 1, 1e-14);
    ck_close(x[1], 4.4, 1e-13);
    ck_close(x[2], 6.6, 1e-13);
    ck_close(r.mu, 2.2, 1e-14);
    /* more capacity than demand: everyone is served, the level is the
     * smallest that serves all: max d_i / w_i = max(1, 5, 3.33) = 5. */
    ck_assert_int_eq(cs_balance_max_min(ws, 3, d3, wt, 100, x, &r), CS_OK);
    ck_assert(x[0] == 1 && x[1] == 10 && x[2] == 10);
    ck_close(r.mu, 5, 1e-14);
    ck_close(r.sum, 21, 0);
    /* zero capacity, zero demands */
    ck_assert_int_eq(cs_balance_max_min(ws, 3, d3, wt, 0, x, &r), CS_OK);
    ck_assert(x[0] == 0 && x[1] == 0 && x[2] == 0);
    const double dz[3] = {0, 0, 0};
    ck_assert_int_eq(cs_balance_max_min(ws, 3, dz, NULL, 5, x, &r), CS_OK);
    ck_assert(x[0] == 0 && x[1] == 0 && x[2] == 0);
    /* bad input */
    const double dn[3] = {1, -1, 1}, wn[3] = {1, 0, 1};
    ck_assert_int_eq(cs_balance_max_min(ws, 3, dn, NULL, 5, x, &r), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_max_min(ws, 3, d1, wn, 5, x, &r), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_max_min(ws, 3, d1, NULL, -1, x, &r), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_max_min(ws, 3, d1, NULL, NaN, x, &r), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_max_min(ws, 3, NULL, NULL, 5, x, &r), CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_max_min(NULL, 3, d1, NULL, 5, x, &r), CS_ERR_INVALID);
    const double dinf[3] = {1, INF, 1};
    ck_assert_int_eq(cs_balance_max_min(ws, 3, dinf, NULL, 5, x, &r), CS_ERR_INVALID);
    cs_balance_workspace_destroy(ws);
}
END_TEST

/* Progressive filling, written here as the reference: raise all unsatisfied
 * demands' levels together until capacity runs out (O(n^2)). */
static void progressive_filling(size_t n, const double *d, const double *w, double C,
                                double *x)
{
    bool *done = calloc(n, sizeof *done);
    for (size_t i = 0; i < n; i++)
        x[i] = 0;
    double left = C, level = 0;
    for (;;) {
        double wsum = 0, next = INF;
        for (size_t i = 0; i < n; i++)
            if (!done[i]) {
                wsum += w[i];
                next = fmin(next, d[i] / w[i]);
            }
        if (wsum == 0)
            break;
        double need = (next - level) * wsum;
        if (need >= left) {
            level += left / wsum;
            for (size_t i = 0; i < n; i++)
                if (!done[i])
                    x[i] = w[i] * level;
            break;
        }
        left -= need;
        level = next;
        for (size_t i = 0; i < n; i++)
            if (!done[i]) {
                x[i] = w[i] * level;
                if (d[i] / w[i] <= level) {
                    done[i] = true;
                    x[i] = d[i];
                }
            }
    }
    free(done);
}

START_TEST(max_min_vs_progressive_filling)
{
    test_rng g;
    test_rng_seed(&g, 99);
    cs_balance_workspace *ws = new_ws();
    enum { N = 200 };
    double d[N], w[N], x[N], xr[N];
    for (int rep = 0; rep < 100; rep++) {
        size_t n = 1 + test_rng_below(&g, N);
        double sd = 0;
        for (size_t i = 0; i < n; i++) {
            d[i] = 10 * test_rng_uniform(&g);
            w[i] = log_uniform(&g, 0.1, 10);
            sd += d[i];
        }
        double C = sd * 1.2 * test_rng_uniform(&g);
        ck_assert_int_eq(cs_balance_max_min(ws, n, d, w, C, x, NULL), CS_OK);
        progressive_filling(n, d, w, C, xr);
        for (size_t i = 0; i < n; i++)
            ck_close(x[i], xr[i], 1e-9);
    }
    cs_balance_workspace_destroy(ws);
}
END_TEST

START_TEST(max_min_int)
{
    cs_balance_workspace *ws = new_ws();
    int64_t x[3];
    cs_balance_result r = result();
    /* 10 units, demands 10 each, equal weights: 4, 3, 3 (ties by index). */
    const int64_t d1[3] = {10, 10, 10};
    ck_assert_int_eq(cs_balance_max_min_int(ws, 3, d1, NULL, 10, x, &r), CS_OK);
    ck_assert(x[0] == 4 && x[1] == 3 && x[2] == 3);
    const int64_t d2[3] = {2, 4, 10};
    ck_assert_int_eq(cs_balance_max_min_int(ws, 3, d2, NULL, 10, x, &r), CS_OK);
    ck_assert(x[0] == 2 && x[1] == 4 && x[2] == 4);
    /* Sainte-Lague with weights (1, 2), 7 units: quotients (2v+1)/w are
     * A: 1, 3, 5, ...; B: 0.5, 1.5, 2.5, 3.5, 4.5, ...; the 7 smallest are
     * B.5 A1 B1.5 B2.5 A3 B3.5 B4.5 -> A 2, B 5. */
    const int64_t d3[2] = {100, 100};
    const double w3[2] = {1, 2};
    ck_assert_int_eq(cs_balance_max_min_int(ws, 2, d3, w3, 7, x, &r), CS_OK);
    ck_assert(x[0] == 2 && x[1] == 5);
    /* capacity above total demand: everyone gets the demand */
    ck_assert_int_eq(cs_balance_max_min_int(ws, 3, d2, NULL, 1000, x, &r), CS_OK);
    ck_assert(x[0] == 2 && x[1] == 4 && x[2] == 10);
    ck_assert_int_eq(cs_balance_max_min_int(ws, 3, d2, NULL, -1, x, &r), CS_ERR_INVALID);
    const int64_t dn[3] = {2, -4, 10};
    ck_assert_int_eq(cs_balance_max_min_int(ws, 3, dn, NULL, 5, x, &r), CS_ERR_INVALID);
    /* equal weights: every pair within one unit unless the smaller is met */
    test_rng g;
    test_rng_seed(&g, 17);
    int64_t d[50], y[50];
    for (int rep = 0; rep < 50; rep++) {
        int64_t sd = 0;
        for (int i = 0; i < 50; i++) {
            d[i] = (int64_t)test_rng_below(&g, 40);
            sd += d[i];
        }
        int64_t C = (int64_t)test_rng_below(&g, (uint64_t)sd + 1);
        ck_assert_int_eq(cs_balance_max_min_int(ws, 50, d, NULL, C, y, NULL), CS_OK);
        int64_t s = 0;
        for (int i = 0; i < 50; i++) {
            s += y[i];
            for (int j = 0; j < 50; j++)
                if (y[i] < d[i]) /* i unmet: nobody has more than y_i + 1 */
                    ck_assert(y[j] <= y[i] + 1);
        }
        ck_assert_int_eq(s, C);
    }
    cs_balance_workspace_destroy(ws);
}
END_TEST

/* ---- utilisation and multi-resource forms ---- */

START_TEST(utilisation_hand)
{
    cs_balance_workspace *ws = new_ws();
    double x[2];
    cs_balance_result r = result();
    /* loads (0, 50), capacities (100, 100), D = 50: rho = 0.5, targets
     * (50, 0): x = (50, 0), both at 50%. */
    const double L1[2] = {0, 50}, C1[2] = {100, 100};
    for (int mode = 0; mode < 2; mode++) {
        ck_assert_int_eq(cs_balance_utilisation(ws, 2, L1, C1, 50, (cs_balance_mode)mode, x, &r),
                         CS_OK);
        ck_close(x[0], 50, 1e-12);
        ck_close(x[1], 0, 1e-12);
    }
    /* capacities (100, 300), loads (80, 0), D = 200.
     * SQUARED: rho = 280/400 = 0.7, targets (-10, 210); with x_0 = 0,
     * x_1 = 200 = 210 + 90000 mu -> mu = -1/9000, and x_0 = -10 + 1e4 mu < 0
     * confirms x_0 at its bound: x = (0, 200).
     * LEVEL: x_0 = clamp(-80 + 100 mu, 0, 20), x_1 = 300 mu: x_0 = 0 while
     * mu <= 0.8, so 300 mu = 200 -> level 2/3: x = (0, 200). */
    const double L2[2] = {80, 0}, C2[2] = {100, 300};
    ck_assert_int_eq(cs_balance_utilisation(ws, 2, L2, C2, 200, CS_BALANCE_SQUARED, x, &r),
                     CS_OK);
    ck_close(x[0], 0, 1e-12);
    ck_close(x[1], 200, 1e-12);
    ck_close(r.mu, -1.0 / 9000, 1e-15);
    ck_assert_int_eq(cs_balance_utilisation(ws, 2, L2, C2, 200, CS_BALANCE_LEVEL, x, &r),
                     CS_OK);
    ck_close(x[0], 0, 1e-12);
    ck_close(x[1], 200, 1e-12);
    ck_close(r.mu, 2.0 / 3, 1e-14);
    /* D = 300: LEVEL gives 100 mu - 80 + 300 mu = 300 -> mu = 0.95:
     * x = (15, 285), both at 95%. */
    ck_assert_int_eq(cs_balance_utilisation(ws, 2, L2, C2, 300, CS_BALANCE_LEVEL, x, &r),
                     CS_OK);
    ck_close(x[0], 15, 1e-12);
    ck_close(x[1], 285, 1e-12);
    /* too much: free capacity is 20 + 300 */
    double keep[2] = {-1, -1};
    ck_assert_int_eq(cs_balance_utilisation(ws, 2, L2, C2, 321, CS_BALANCE_LEVEL, keep, &r),
                     CS_ERR_INFEASIBLE);
    ck_assert(keep[0] == -1 && keep[1] == -1);
    ck_close(r.max_total, 320, 1e-12);
    /* an overloaded node and a zero-capacity node receive nothing */
    const double L3[3] = {150, 0, 0}, C3[3] = {100, 0, 100};
    double x3[3];
    ck_assert_int_eq(cs_balance_utilisation(ws, 3, L3, C3, 30, CS_BALANCE_SQUARED, x3, &r),
                     CS_OK);
    ck_assert(x3[0] == 0 && x3[1] == 0);
    ck_close(x3[2], 30, 1e-12);
    /* bad input */
    const double Ln[2] = {-1, 0};
    ck_assert_int_eq(cs_balance_utilisation(ws, 2, Ln, C1, 5, CS_BALANCE_LEVEL, x, &r),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_utilisation(ws, 2, L1, C1, -5, CS_BALANCE_LEVEL, x, &r),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_utilisation(ws, 2, L1, C1, 5, (cs_balance_mode)7, x, &r),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_utilisation(ws, 2, NULL, C1, 5, CS_BALANCE_LEVEL, x, &r),
                     CS_ERR_INVALID);
    const double Cn[2] = {NaN, 1};
    ck_assert_int_eq(cs_balance_utilisation(ws, 2, L1, Cn, 5, CS_BALANCE_LEVEL, x, &r),
                     CS_ERR_INVALID);
    cs_balance_workspace_destroy(ws);
}
END_TEST

/* The multi-resource objective straight from its definition (not from the
 * reduction used by the library), and its derivative in x_i. */
static double multi_objective(size_t n, size_t p, const double *L, const double *C,
                              const double *d, const double *a, double units, int mode,
                              const double *x, size_t i_only, double *deriv)
{
    double total = 0;
    *deriv = 0;
    for (size_t r = 0; r < p; r++) {
        if (d[r] == 0)
            continue;
        double sl = 0, sc = 0;
        for (size_t i = 0; i < n; i++) {
            sl += L[i * p + r];
            sc += C[i * p + r];
        }
        double rho = (sl + units * d[r]) / sc;
        double ar = a ? a[r] : 1;
        for (size_t i = 0; i < n; i++) {
            double c = C[i * p + r], load = L[i * p + r] + x[i] * d[r];
            if (c == 0)
                continue;
            if (mode == CS_BALANCE_SQUARED) {
                double e = load / c - rho;
                total += ar * e * e;
                if (i == i_only)
                    *deriv += 2 * ar * e * d[r] / c;
            } else {
                total += ar * load * load / c;
                if (i == i_only)
                    *deriv += 2 * ar * load * d[r] / c;
            }
        }
    }
    return total;
}

START_TEST(multi_exchange_optimality)
{
    /* Continuous optimality of a separable convex problem with one sum
     * constraint: every element that can still grow has a derivative at
     * least that of every element that can still shrink. */
    test_rng g;
    test_rng_seed(&g, 23);
    cs_balance_workspace *ws = new_ws();
    enum { N = 60, P = 3 };
    double L[N * P], C[N * P], x[N], d[P], a[P], ub[N];
    for (int rep = 0; rep < 60; rep++) {
        size_t n = 2 + test_rng_below(&g, N - 1);
        int mode = rep % 2;
        for (size_t r = 0; r < P; r++) {
            d[r] = r == 2 && rep % 3 == 0 ? 0 : 1 + 4 * test_rng_uniform(&g);
            a[r] = 0.5 + test_rng_uniform(&g);
        }
        double room = 0;
        for (size_t i = 0; i < n; i++) {
            ub[i] = INF;
            for (size_t r = 0; r < P; r++) {
                C[i * P + r] = test_rng_below(&g, 10) == 0 ? 0 : 50 + 200 * test_rng_uniform(&g);
                L[i * P + r] = C[i * P + r] * 0.9 * test_rng_uniform(&g);
                if (d[r] > 0)
                    ub[i] = fmin(ub[i], (C[i * P + r] - L[i * P + r]) / d[r]);
            }
            room += ub[i];
        }
        double units = room * test_rng_uniform(&g);
        ck_assert_int_eq(cs_balance_multi(ws, n, P, L, C, d, a, units, (cs_balance_mode)mode, x,
                                          NULL),
                         CS_OK);
        double s = 0, grow_min = INF, shrink_max = -INF;
        for (size_t i = 0; i < n; i++) {
            ck_assert(x[i] >= -1e-12 && x[i] <= ub[i] + 1e-9 * (1 + ub[i]));
            s += x[i];
            double der;
            multi_objective(n, P, L, C, d, a, units, mode, x, i, &der);
            if (x[i] < ub[i] - 1e-9)
                grow_min = fmin(grow_min, der);
            if (x[i] > 1e-9)
                shrink_max = fmax(shrink_max, der);
        }
        ck_close(s, units, 1e-9 * (1 + units));
        if (grow_min < INF && shrink_max > -INF)
            ck_assert_msg(shrink_max <= grow_min + 1e-9 * (1 + fabs(grow_min)),
                          "rep %d: %.17g > %.17g", rep, shrink_max, grow_min);
    }
    cs_balance_workspace_destroy(ws);
}
END_TEST

START_TEST(multi_int_brute_force)
{
    test_rng g;
    test_rng_seed(&g, 29);
    cs_balance_workspace *ws = new_ws();
    enum { N = 4, P = 2 };
    int64_t L[N * P], C[N * P], d[P], x[N];
    double Ld[N * P], Cd[N * P], dd[P], a[P] = {1, 2};
    for (int rep = 0; rep < 150; rep++) {
        size_t n = 1 + test_rng_below(&g, N);
        int mode = rep % 2;
        for (size_t r = 0; r < P; r++) {
            d[r] = 1 + (int64_t)test_rng_below(&g, 3);
            dd[r] = (double)d[r];
        }
        int64_t ub[N], room = 0;
        for (size_t i = 0; i < n; i++) {
            ub[i] = INT64_MAX;
            for (size_t r = 0; r < P; r++) {
                C[i * P + r] = 1 + (int64_t)test_rng_below(&g, 12);
                L[i * P + r] = (int64_t)test_rng_below(&g, (uint64_t)C[i * P + r] + 1);
                Ld[i * P + r] = (double)L[i * P + r];
                Cd[i * P + r] = (double)C[i * P + r];
                int64_t q = (C[i * P + r] - L[i * P + r]) / d[r];
                ub[i] = q < ub[i] ? q : ub[i];
            }
            room += ub[i];
        }
        int64_t units = (int64_t)test_rng_below(&g, (uint64_t)room + 1);
        ck_assert_int_eq(cs_balance_multi_int(ws, n, P, L, C, d, a, units, (cs_balance_mode)mode,
                                              x, NULL),
                         CS_OK);
        /* brute force over 0 <= y_i <= ub_i, objective from the definition */
        int64_t y[N] = {0};
        double best = INF, der;
        for (;;) {
            int64_t s = 0;
            for (size_t i = 0; i < n; i++)
                s += y[i];
            if (s == units) {
                double yd[N];
                for (size_t i = 0; i < n; i++)
                    yd[i] = (double)y[i];
                best = fmin(best, multi_objective(n, P, Ld, Cd, dd, a, (double)units, mode, yd,
                                                  SIZE_MAX, &der));
            }
            size_t k = 0;
            while (k < n && y[k] == ub[k]) {
                y[k] = 0;
                k++;
            }
            if (k == n)
                break;
            y[k]++;
        }
        double xd[N];
        int64_t s = 0;
        for (size_t i = 0; i < n; i++) {
            ck_assert(x[i] >= 0 && x[i] <= ub[i]);
            xd[i] = (double)x[i];
            s += x[i];
        }
        ck_assert_int_eq(s, units);
        double mine = multi_objective(n, P, Ld, Cd, dd, a, (double)units, mode, xd, SIZE_MAX,
                                      &der);
        ck_assert_msg(mine <= best + 1e-9 * (1 + best), "rep %d mode %d: %.17g vs %.17g", rep,
                      mode, mine, best);
    }
    cs_balance_workspace_destroy(ws);
}
END_TEST

START_TEST(utilisation_int_and_per_dimension)
{
    cs_balance_workspace *ws = new_ws();
    /* LEVEL over the integers: the next unit goes where (L + v + 0.5) / C is
     * least. Loads (0, 0), capacities (1, 3) (node 0 holds at most 1 unit):
     * quotients node0: 0.5; node1: 1/6, 1/2, 5/6. Order: n1 (1/6), n0 (1/2,
     * ties with n1's 1/2 and has the lower index), n1 (1/2), n1 (5/6).
     * 4 units: (1, 3); 3 units: (1, 2). */
    const int64_t L[2] = {0, 0}, C[2] = {1, 3};
    int64_t x[2];
    ck_assert_int_eq(cs_balance_utilisation_int(ws, 2, L, C, 4, CS_BALANCE_LEVEL, x, NULL),
                     CS_OK);
    ck_assert(x[0] == 1 && x[1] == 3);
    ck_assert_int_eq(cs_balance_utilisation_int(ws, 2, L, C, 3, CS_BALANCE_LEVEL, x, NULL),
                     CS_OK);
    ck_assert(x[0] == 1 && x[1] == 2); /* n1, n0, n1 */
    ck_assert_int_eq(cs_balance_utilisation_int(ws, 2, L, C, 5, CS_BALANCE_LEVEL, x, NULL),
                     CS_ERR_INFEASIBLE);
    const int64_t Lneg[2] = {-1, 0};
    ck_assert_int_eq(cs_balance_utilisation_int(ws, 2, Lneg, C, 1, CS_BALANCE_LEVEL, x, NULL),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_utilisation_int(ws, 2, L, C, -1, CS_BALANCE_LEVEL, x, NULL),
                     CS_ERR_INVALID);
    /* per dimension: two columns solved independently equal two single solves */
    const double Lm[6] = {0, 10, 50, 0, 20, 30}, Cm[6] = {100, 50, 100, 50, 100, 50};
    const double dem[2] = {60, 40};
    double xm[6], xa[3], xb[3];
    cs_balance_result rs[2];
    rs[0] = result();
    rs[1] = result();
    ck_assert_int_eq(cs_balance_per_dimension(ws, 3, 2, Lm, Cm, dem, CS_BALANCE_SQUARED, xm, rs),
                     CS_OK);
    const double La[3] = {0, 50, 20}, Ca[3] = {100, 100, 100};
    const double Lb[3] = {10, 0, 30}, Cb[3] = {50, 50, 50};
    ck_assert_int_eq(cs_balance_utilisation(ws, 3, La, Ca, 60, CS_BALANCE_SQUARED, xa, NULL),
                     CS_OK);
    ck_assert_int_eq(cs_balance_utilisation(ws, 3, Lb, Cb, 40, CS_BALANCE_SQUARED, xb, NULL),
                     CS_OK);
    for (int i = 0; i < 3; i++) {
        ck_close(xm[i * 2], xa[i], 1e-12);
        ck_close(xm[i * 2 + 1], xb[i], 1e-12);
    }
    /* by hand, column a: rho = (70 + 60) / 300, targets 100 rho - L =
     * (43.33, -6.67, 23.33), node 1 stays at 0: the others split 60 as
     * 43.33 + d, 23.33 + d with equal weights: d = -3.33: (40, 0, 20). */
    ck_close(xa[0], 40, 1e-12);
    ck_close(xa[1], 0, 1e-12);
    ck_close(xa[2], 20, 1e-12);
    /* one infeasible column: nothing written */
    const double dem2[2] = {60, 1000};
    double keep[6] = {5, 5, 5, 5, 5, 5};
    ck_assert_int_eq(cs_balance_per_dimension(ws, 3, 2, Lm, Cm, dem2, CS_BALANCE_SQUARED, keep,
                                              rs),
                     CS_ERR_INFEASIBLE);
    for (int i = 0; i < 6; i++)
        ck_assert(keep[i] == 5);
    ck_assert(rs[1].max_total < 1000);
    ck_assert_int_eq(cs_balance_per_dimension(ws, 3, 0, Lm, Cm, dem, CS_BALANCE_SQUARED, xm, rs),
                     CS_ERR_INVALID);
    /* multi-resource bad input */
    const double unit0[2] = {0, 0}, unitn[2] = {1, -1}, wz[2] = {0, 0};
    const double unit1[2] = {1, 1};
    ck_assert_int_eq(cs_balance_multi(ws, 3, 2, Lm, Cm, unit0, NULL, 1, CS_BALANCE_LEVEL, xa, NULL),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_multi(ws, 3, 2, Lm, Cm, unitn, NULL, 1, CS_BALANCE_LEVEL, xa, NULL),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_multi(ws, 3, 2, Lm, Cm, unit1, wz, 1, CS_BALANCE_LEVEL, xa, NULL),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_multi(ws, 3, 2, Lm, Cm, unit1, NULL, -1, CS_BALANCE_LEVEL, xa, NULL),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_multi(ws, 3, 2, Lm, Cm, NULL, NULL, 1, CS_BALANCE_LEVEL, xa, NULL),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_balance_multi_int(ws, 2, 1, L, C, NULL, NULL, 1, CS_BALANCE_LEVEL, x, NULL),
                     CS_ERR_INVALID);
    cs_balance_workspace_destroy(ws);
}
END_TEST

/* ---- allocation failures ---- */

START_TEST(alloc_failures)
{
    const double w[4] = {1, 2, 3, 4}, t[4] = {1, 0, 2, 1}, l[4] = {0, 0, 0, 0},
                 u[4] = {3, 3, 3, 3};
    const int64_t il[4] = {0, 0, 0, 0}, iu[4] = {3, 3, 3, 3};
    const double Ld[4] = {1, 2, 0, 5}, Cd[4] = {10, 10, 20, 10}, dem[2] = {3, 4};
    const int64_t Li[4] = {1, 2, 0, 5}, Ci[4] = {10, 10, 20, 10}, di[4] = {5, 5, 5, 5};
    const double one[1] = {1};
    for (int call = 0; call < 9; call++) {
        bool done = false;
        for (long k = 1; !done; k++) {
            test_alloc ta = {0, 0, 0, 0};
            cs_allocator a = test_alloc_make(&ta);
            cs_balance_workspace *ws = NULL;
            test_alloc_fail_after(&ta, k);
            cs_status st = cs_balance_workspace_create(&a, &ws);
            double x[4] = {-1, -1, -1, -1};
            int64_t y[4] = {-1, -1, -1, -1};
            if (st == CS_OK) {
                cs_balance_problem p = problem(4, w, t, l, u, 6);
                cs_balance_int_problem ip;
                cs_balance_int_problem_init(&ip, sizeof ip);
                ip.n = 4;
                ip.weight = w;
                ip.target = t;
                ip.lower = il;
                ip.upper = iu;
                ip.total = 6;
                switch (call) {
                case 0: st = cs_balance_solve(ws, &p, x, NULL); break;
                case 1: st = cs_balance_solve_int(ws, &ip, y, NULL); break;
                case 2: st = cs_balance_utilisation(ws, 4, Ld, Cd, 5, CS_BALANCE_SQUARED, x, NULL); break;
                case 3: st = cs_balance_utilisation_int(ws, 4, Li, Ci, 5, CS_BALANCE_LEVEL, y, NULL); break;
                case 4: st = cs_balance_multi(ws, 4, 1, Ld, Cd, one, NULL, 1, CS_BALANCE_LEVEL, x, NULL); break;
                case 5: st = cs_balance_max_min(ws, 4, u, w, 5, x, NULL); break;
                case 6: st = cs_balance_max_min_int(ws, 4, di, w, 7, y, NULL); break;
                case 7: st = cs_balance_per_dimension(ws, 2, 2, Ld, Cd, dem, CS_BALANCE_LEVEL, x, NULL); break;
                default: st = cs_balance_workspace_reserve(ws, 100); break;
                }
            }
            if (st == CS_OK) {
                done = true;
            } else {
                ck_assert_int_eq(st, CS_ERR_NOMEM);
                for (int i = 0; i < 4; i++)
                    ck_assert(x[i] == -1 && y[i] == -1);
                /* the workspace still works once memory is available */
                test_alloc_fail_after(&ta, 0);
                if (ws != NULL) {
                    cs_balance_problem p = problem(4, w, t, l, u, 6);
                    ck_assert_int_eq(cs_balance_solve(ws, &p, x, NULL), CS_OK);
                }
            }
            cs_balance_workspace_destroy(ws);
            ck_assert_int_eq(ta.live, 0);
            ck_assert(k < 50);
        }
    }
}
END_TEST

START_TEST(reserve_then_no_allocation)
{
    test_alloc ta = {0, 0, 0, 0};
    cs_allocator a = test_alloc_make(&ta);
    cs_balance_workspace *ws = NULL;
    ck_assert_int_eq(cs_balance_workspace_create(&a, &ws), CS_OK);
    ck_assert_int_eq(cs_balance_workspace_reserve(ws, 1000), CS_OK);
    long before = ta.count;
    double w[1000], x[1000];
    int64_t y[1000], d[1000];
    for (int i = 0; i < 1000; i++) {
        w[i] = 1 + i % 7;
        d[i] = i % 13;
    }
    cs_balance_problem p = problem(1000, w, NULL, NULL, NULL, 17);
    ck_assert_int_eq(cs_balance_solve(ws, &p, x, NULL), CS_OK);
    ck_assert_int_eq(cs_balance_max_min_int(ws, 1000, d, w, 500, y, NULL), CS_OK);
    ck_assert_int_eq(ta.count, before); /* the hot path did not allocate */
    cs_balance_workspace_destroy(ws);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("balance");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, hand_equal_split);
    tcase_add_test(tc, hand_weighted);
    tcase_add_test(tc, hand_bounds_and_targets);
    tcase_add_test(tc, infeasible_and_empty);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, random_small_vs_reference);
    tcase_add_test(tc, random_large_vs_reference);
    tcase_add_test(tc, sampled_bracket_fallback);
    tcase_add_test(tc, deterministic_and_older_struct);
    tcase_add_test(tc, int_hand_cases);
    tcase_add_test(tc, int_brute_force);
    tcase_add_test(tc, int_larger_vs_greedy);
    tcase_add_test(tc, int_bad_input);
    tcase_add_test(tc, max_min_hand);
    tcase_add_test(tc, max_min_vs_progressive_filling);
    tcase_add_test(tc, max_min_int);
    tcase_add_test(tc, utilisation_hand);
    tcase_add_test(tc, multi_exchange_optimality);
    tcase_add_test(tc, multi_int_brute_force);
    tcase_add_test(tc, utilisation_int_and_per_dimension);
    tcase_add_test(tc, alloc_failures);
    tcase_add_test(tc, reserve_then_no_allocation);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
