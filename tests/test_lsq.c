/* Least squares: NIST StRD certified values, independent reference
 * algorithms written here (modified Gram-Schmidt, normal equations to show
 * where they fail, brute-force active sets), hand-computed small cases, bad
 * input and allocation failure. */
#include <check.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cloudsched/cloudsched.h"
#include "data/nist_strd.h"
#include "data/reference_lsq.h"
#include "testutil.h"

#define INF ((double)INFINITY)
#define DNAN ((double)NAN)

static const cs_lsq_method all_methods[4] = {CS_LSQ_QR, CS_LSQ_TSQR, CS_LSQ_COD, CS_LSQ_SVD};

/* Number of correct significant digits of `got` against `want` (the LRE of
 * McCullough's StRD studies), capped at 16. */
static double lre(double got, double want)
{
    if (got == want)
        return 16.0;
    double e = want != 0.0 ? fabs(got - want) / fabs(want) : fabs(got - want);
    double d = -log10(e);
    return d > 16.0 ? 16.0 : d;
}

static double min_lre(const double *got, const double *want, size_t n)
{
    double m = 16.0;
    for (size_t i = 0; i < n; i++) {
        double d = lre(got[i], want[i]);
        m = d < m ? d : m;
    }
    return m;
}

static cs_lsq_options opts_of(cs_lsq_method m, int intercept, double ridge)
{
    cs_lsq_options o;
    ck_assert_int_eq(cs_lsq_options_init(&o, sizeof o), CS_OK);
    o.method = m;
    o.intercept = intercept;
    o.ridge = ridge;
    return o;
}

static cs_lsq_stats stats_new(void)
{
    cs_lsq_stats s;
    ck_assert_int_eq(cs_lsq_stats_init(&s, sizeof s), CS_OK);
    return s;
}

/* ---- independent references ------------------------------------------------ */

/* Plain least squares by the reference MGS of data/reference_lsq.h. */
static void mgs_lstsq(size_t n, size_t p, const double *A, const double *y, double *b)
{
    ref_ridge_lstsq(n, p, A, y, 0.0, b);
}

/* Solve the p x p system M z = r in place by Gaussian elimination with
 * partial pivoting (M row-major, destroyed). Returns false if singular. */
static bool gauss_solve(size_t p, double *M, double *r)
{
    for (size_t c = 0; c < p; c++) {
        size_t piv = c;
        for (size_t i = c + 1; i < p; i++)
            if (fabs(M[i * p + c]) > fabs(M[piv * p + c]))
                piv = i;
        if (M[piv * p + c] == 0.0)
            return false;
        if (piv != c) {
            for (size_t k = 0; k < p; k++) {
                double t = M[c * p + k];
                M[c * p + k] = M[piv * p + k];
                M[piv * p + k] = t;
            }
            double t = r[c];
            r[c] = r[piv];
            r[piv] = t;
        }
        for (size_t i = c + 1; i < p; i++) {
            double f = M[i * p + c] / M[c * p + c];
            for (size_t k = c; k < p; k++)
                M[i * p + k] -= f * M[c * p + k];
            r[i] -= f * r[c];
        }
    }
    for (size_t c = p; c-- > 0;) {
        double acc = r[c];
        for (size_t k = c + 1; k < p; k++)
            acc -= M[c * p + k] * r[k];
        r[c] = acc / M[c * p + c];
    }
    return true;
}

/* The normal equations X'X b = X'y (what this library never does). */
static bool normal_equations(size_t n, size_t p, const double *A, const double *y, double *b)
{
    double *M = calloc(p * p, sizeof *M);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) {
            for (size_t k = 0; k < p; k++)
                M[j * p + k] += A[i * p + j] * A[i * p + k];
        }
    for (size_t j = 0; j < p; j++) {
        double acc = 0.0;
        for (size_t i = 0; i < n; i++)
            acc += A[i * p + j] * y[i];
        b[j] = acc;
    }
    bool ok = gauss_solve(p, M, b);
    free(M);
    return ok;
}

/* Row-major raw polynomial design matrix [1 x x^2 ... x^d]. */
static double *vandermonde(size_t n, const double *x, size_t d)
{
    double *V = malloc(n * (d + 1) * sizeof *V);
    for (size_t i = 0; i < n; i++) {
        double t = 1.0;
        for (size_t k = 0; k <= d; k++) {
            V[i * (d + 1) + k] = t;
            t *= x[i];
        }
    }
    return V;
}

static void wampler(int which, double *x, double *y)
{
    for (int i = 0; i < WAMPLER_N; i++) {
        double w1 = 0.0, w2 = 0.0, t = 1.0, c = 1.0;
        for (int k = 0; k <= 5; k++) {
            w1 += t;
            w2 += c * t;
            t *= i;
            c *= 0.1;
        }
        x[i] = i;
        double scale = which == 3 ? 1.0 : which == 4 ? 100.0 : 10000.0;
        y[i] = which == 1 ? w1 : which == 2 ? w2 : w1 + scale * (WAMPLER3_Y[i] - w1);
    }
}

/* ---- NIST StRD ----------------------------------------------------------------- */

START_TEST(nist_norris_all_methods)
{
    for (int mi = 0; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 1, 0.0);
        double b[2], se[2];
        cs_lsq_stats s = stats_new();
        /* a vector x as an n x 1 column-major matrix, ldx = n */
        ck_assert_int_eq(cs_lsq_solve(NORRIS_N, 1, &o, CS_LSQ_COL_MAJOR, NORRIS_X, NORRIS_N,
                                      NORRIS_Y, NORRIS_N, NULL, b, 2, se, &s, NULL),
                         CS_OK);
        ck_assert_msg(min_lre(b, NORRIS_B, 2) >= 9.0, "method %d coef %.2f digits", mi,
                      min_lre(b, NORRIS_B, 2));
        ck_assert_msg(min_lre(se, NORRIS_SE, 2) >= 9.0, "method %d se", mi);
        ck_assert(lre(s.sigma, NORRIS_SIGMA) >= 9.0);
        ck_assert(lre(s.r2, NORRIS_R2) >= 9.0);
        ck_assert_uint_eq(s.rank, 2);
        ck_assert_uint_eq(s.n_used, 36);
        ck_assert(s.dof == 34.0);
    }
}
END_TEST

START_TEST(nist_norris_line)
{
    double c[2], se[2];
    cs_lsq_stats s = stats_new();
    ck_assert_int_eq(cs_lsq_line(NORRIS_N, NORRIS_X, NORRIS_Y, NULL, c, se, &s), CS_OK);
    ck_assert(min_lre(c, NORRIS_B, 2) >= 9.0);
    ck_assert(min_lre(se, NORRIS_SE, 2) >= 9.0);
    ck_assert(lre(s.sigma, NORRIS_SIGMA) >= 9.0);
    ck_assert(lre(s.r2, NORRIS_R2) >= 9.0);
}
END_TEST

START_TEST(nist_longley_layouts_and_methods)
{
    /* The numpy C-order case: X is LONGLEY's columns 1..6 seen through a
     * row-major pointer with ldx = 7, y its column 0 with ldy = 7: no copy. */
    const double *base = &LONGLEY[0][0];
    double colmajor[16 * 6], ycol[16];
    for (int i = 0; i < 16; i++) {
        ycol[i] = LONGLEY[i][0];
        for (int j = 0; j < 6; j++)
            colmajor[i + j * 16] = LONGLEY[i][j + 1];
    }
    for (int mi = 0; mi < 4; mi++) {
        for (int lay = 0; lay < 2; lay++) {
            cs_lsq_options o = opts_of(all_methods[mi], 1, 0.0);
            double b[7], se[7];
            cs_lsq_stats s = stats_new();
            cs_status st =
                lay == 0 ? cs_lsq_solve(16, 6, &o, CS_LSQ_ROW_MAJOR, base + 1, 7, base, 7,
                                        NULL, b, 1, se, &s, NULL)
                         : cs_lsq_solve(16, 6, &o, CS_LSQ_COL_MAJOR, colmajor, 16, ycol, 16,
                                        NULL, b, 7, se, &s, NULL);
            ck_assert_int_eq(st, CS_OK);
            ck_assert_msg(min_lre(b, LONGLEY_B, 7) >= 9.0, "method %d layout %d: %.2f", mi,
                          lay, min_lre(b, LONGLEY_B, 7));
            ck_assert_msg(min_lre(se, LONGLEY_SE, 7) >= 9.0, "se method %d", mi);
            ck_assert(lre(s.sigma, LONGLEY_SIGMA) >= 9.0);
            ck_assert(lre(s.r2, LONGLEY_R2) >= 9.0);
            ck_assert_uint_eq(s.rank, 7);
            ck_assert(s.dof == 9.0);
            /* adjusted R^2 = 1 - (1 - R^2)(n - 1)/(n - p') = 1 - (1 - R2) 15 / 9 */
            ck_assert(fabs(s.adj_r2 - (1.0 - (1.0 - LONGLEY_R2) * 15.0 / 9.0)) < 1e-10);
            ck_assert(s.cond > 1e3 && s.cond < 1e6);
        }
    }
}
END_TEST

START_TEST(nist_filip_poly_and_normal_equations_fail)
{
    cs_lsq_poly p;
    ck_assert_int_eq(cs_lsq_poly_init(&p, sizeof p), CS_OK);
    double se[11];
    cs_lsq_stats s = stats_new();
    ck_assert_int_eq(cs_lsq_polyfit(FILIP_N, FILIP_X, FILIP_Y, NULL, 10, &p, se, &s, NULL),
                     CS_OK);
    ck_assert_msg(min_lre(p.monomial, FILIP_B, 11) >= 7.0, "filip %.2f digits",
                  min_lre(p.monomial, FILIP_B, 11));
    ck_assert(min_lre(se, FILIP_SE, 11) >= 7.0);
    ck_assert(lre(s.sigma, FILIP_SIGMA) >= 7.0);
    ck_assert(lre(s.r2, FILIP_R2) >= 7.0);
    ck_assert_uint_eq(s.rank, 11);

    /* The generic API on the raw columns x, ..., x^10 (equilibrated QR). */
    double *V = vandermonde(FILIP_N, FILIP_X, 10);
    for (int mi = 0; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 0, 0.0);
        double b[11], se2[11];
        cs_lsq_stats s2 = stats_new();
        ck_assert_int_eq(cs_lsq_solve(FILIP_N, 11, &o, CS_LSQ_ROW_MAJOR, V, 11, FILIP_Y, 1,
                                      NULL, b, 1, se2, &s2, NULL),
                         CS_OK);
        ck_assert_uint_eq(s2.rank, 11);
        ck_assert_msg(min_lre(b, FILIP_B, 11) >= 7.0, "raw method %d %.2f", mi,
                      min_lre(b, FILIP_B, 11));
    }

    /* Normal equations: not one correct digit (or an outright failure). */
    double bn[11];
    bool ok = normal_equations(FILIP_N, 11, V, FILIP_Y, bn);
    ck_assert(!ok || min_lre(bn, FILIP_B, 11) < 1.0);

    /* An unscaled rank test truncates Filip: LAPACK's dgelss on the raw
     * matrix with the same default rcond (max(n,p) eps) finds rank < 11. */
    double A[82 * 11], yy[82], sv[11];
    memcpy(A, V, sizeof A);
    memcpy(yy, FILIP_Y, sizeof yy);
    lapack_int rank = 0;
    ck_assert_int_eq(LAPACKE_dgelss(LAPACK_ROW_MAJOR, 82, 11, 1, A, 11, yy, 1, sv,
                                    82 * DBL_EPSILON, &rank),
                     0);
    ck_assert_int_lt(rank, 11);
    free(V);
}
END_TEST

START_TEST(nist_wampler_poly_and_normal_equations)
{
    double x[WAMPLER_N], y[WAMPLER_N];
    const double *certse[6] = {NULL, NULL, NULL, WAMPLER3_SE, WAMPLER4_SE, WAMPLER5_SE};
    for (int w = 1; w <= 5; w++) {
        wampler(w, x, y);
        double cert[6];
        for (int k = 0; k < 6; k++)
            cert[k] = w == 2 ? pow(10.0, -k) : 1.0;
        cs_lsq_poly p;
        ck_assert_int_eq(cs_lsq_poly_init(&p, sizeof p), CS_OK);
        double se[6];
        cs_lsq_stats s = stats_new();
        ck_assert_int_eq(cs_lsq_polyfit(WAMPLER_N, x, y, NULL, 5, &p, se, &s, NULL), CS_OK);
        ck_assert_msg(min_lre(p.monomial, cert, 6) >= 7.0, "wampler%d %.2f", w,
                      min_lre(p.monomial, cert, 6));
        if (w >= 3) {
            ck_assert(min_lre(se, certse[w], 6) >= 9.0);
            ck_assert(lre(s.sigma, WAMPLER_SIGMA[w - 1]) >= 9.0);
            ck_assert(lre(s.r2, WAMPLER_R2[w - 1]) >= 9.0);
        } else {
            /* exact fits: certified residual SD 0, R^2 1 */
            ck_assert(s.sigma < 1e-6 * fabs(y[20]));
            ck_assert(fabs(s.r2 - 1.0) < 1e-12);
        }
        /* the raw design through the generic API, and the normal equations */
        double *V = vandermonde(WAMPLER_N, x, 5);
        cs_lsq_options o = opts_of(CS_LSQ_QR, 0, 0.0);
        double b[6];
        ck_assert_int_eq(cs_lsq_solve(WAMPLER_N, 6, &o, CS_LSQ_ROW_MAJOR, V, 6, y, 1, NULL, b,
                                      1, NULL, NULL, NULL),
                         CS_OK);
        /* Wampler5's residual is ~20 times its fitted values (R^2 = 0.002),
         * so the cond^2 ||r|| / ||A b|| term of the least-squares perturbation
         * bound (Golub and Van Loan, sec. 5.3) costs the raw basis about two
         * digits; the centred basis above keeps >= 7 even there. */
        double need = w == 5 ? 5.0 : 7.0;
        ck_assert_msg(min_lre(b, cert, 6) >= need, "raw wampler%d %.2f", w,
                      min_lre(b, cert, 6));
        if (w == 1) {
            /* cond(X'X) ~ 4e13 for x = 0..20, degree 5: the normal equations
             * keep at most a few digits where QR keeps ten. */
            double bn[6];
            bool ok = normal_equations(WAMPLER_N, 6, V, y, bn);
            ck_assert(!ok || min_lre(bn, cert, 6) < 7.0);
        }
        free(V);
    }
}
END_TEST

/* ---- small cases by hand --------------------------------------------------------- */

START_TEST(hand_line_and_stats)
{
    /* x = 1,2,3,4; y = 1,3,2,4. xbar = 2.5, ybar = 2.5,
     * Sxx = 2.25+0.25+0.25+2.25 = 5, Sxy = (-1.5)(-1.5)+(-0.5)(0.5)+(0.5)(-0.5)+(1.5)(1.5)
     *     = 2.25 - 0.25 - 0.25 + 2.25 = 4 -> slope 0.8, intercept 2.5 - 2 = 0.5.
     * Fitted 1.3, 2.1, 2.9, 3.7; residuals -0.3, 0.9, -0.9, 0.3: RSS = 0.09+0.81+0.81+0.09
     * = 1.8; TSS = 2.25+0.25+0.25+2.25 = 5; R^2 = 1 - 1.8/5 = 0.64; dof 2,
     * sigma = sqrt(0.9); adj R^2 = 1 - 0.36 * 3 / 2 = 0.46;
     * se(slope) = sigma / sqrt(5); se(intercept) = sigma sqrt(1/4 + 6.25/5). */
    const double x[4] = {1, 2, 3, 4}, y[4] = {1, 3, 2, 4};
    double c[2], se[2];
    cs_lsq_stats s = stats_new();
    ck_assert_int_eq(cs_lsq_line(4, x, y, NULL, c, se, &s), CS_OK);
    ck_assert(fabs(c[1] - 0.8) < 1e-15 && fabs(c[0] - 0.5) < 1e-15);
    ck_assert(fabs(s.rss - 1.8) < 1e-14 && fabs(s.tss - 5.0) < 1e-14);
    ck_assert(fabs(s.r2 - 0.64) < 1e-14 && fabs(s.adj_r2 - 0.46) < 1e-14);
    ck_assert(fabs(s.sigma - sqrt(0.9)) < 1e-14);
    ck_assert(fabs(se[1] - sqrt(0.9) / sqrt(5.0)) < 1e-14);
    ck_assert(fabs(se[0] - sqrt(0.9) * sqrt(0.25 + 6.25 / 5.0)) < 1e-14);
    /* the same through the general fit, every method */
    for (int mi = 0; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 1, 0.0);
        double b[2], se2[2];
        cs_lsq_stats s2 = stats_new();
        ck_assert_int_eq(
            cs_lsq_solve(4, 1, &o, CS_LSQ_ROW_MAJOR, x, 1, y, 1, NULL, b, 1, se2, &s2, NULL),
            CS_OK);
        ck_assert(fabs(b[1] - 0.8) < 1e-13 && fabs(b[0] - 0.5) < 1e-13);
        ck_assert(fabs(s2.rss - 1.8) < 1e-13 && fabs(s2.r2 - 0.64) < 1e-13);
        ck_assert(fabs(se2[1] - se[1]) < 1e-13 && fabs(se2[0] - se[0]) < 1e-13);
    }
    /* Without an intercept R^2 is uncentred: b = sum xy / sum x^2 = 29/30,
     * TSS = sum y^2 = 30, RSS = 30 - 29^2/30 = 59/30. */
    cs_lsq_options o = opts_of(CS_LSQ_QR, 0, 0.0);
    double b1;
    cs_lsq_stats s3 = stats_new();
    ck_assert_int_eq(
        cs_lsq_solve(4, 1, &o, CS_LSQ_ROW_MAJOR, x, 1, y, 1, NULL, &b1, 1, NULL, &s3, NULL),
        CS_OK);
    ck_assert(fabs(b1 - 29.0 / 30.0) < 1e-15);
    ck_assert(fabs(s3.tss - 30.0) < 1e-13 && fabs(s3.rss - 59.0 / 30.0) < 1e-13);
    ck_assert(fabs(s3.r2 - (1.0 - 59.0 / 900.0)) < 1e-14);
    /* adjusted, uncentred: 1 - (1 - R^2) n / dof = 1 - (59/900) 4 / 3 */
    ck_assert(fabs(s3.adj_r2 - (1.0 - 59.0 / 900.0 * 4.0 / 3.0)) < 1e-14);
}
END_TEST

START_TEST(hand_exact_quadratic_poly)
{
    /* y = 2 - 3x + x^2 on x = 1..5 is fitted exactly. */
    double x[5], y[5];
    for (int i = 0; i < 5; i++) {
        x[i] = i + 1;
        y[i] = 2.0 - 3.0 * x[i] + x[i] * x[i];
    }
    cs_lsq_poly p;
    ck_assert_int_eq(cs_lsq_poly_init(&p, sizeof p), CS_OK);
    ck_assert_int_eq(cs_lsq_polyfit(5, x, y, NULL, 2, &p, NULL, NULL, NULL), CS_OK);
    ck_assert_uint_eq(p.degree, 2);
    /* centre (1+5)/2 = 3, scale (5-1)/2 = 2 */
    ck_assert(p.center == 3.0 && p.scale == 2.0);
    ck_assert(fabs(p.monomial[0] - 2.0) < 1e-12 && fabs(p.monomial[1] + 3.0) < 1e-12 &&
              fabs(p.monomial[2] - 1.0) < 1e-12);
    /* in t = (x - 3)/2: x = 2t + 3, y = 2 - 6t - 9 + 4t^2 + 12t + 9 = 2 + 6t + 4t^2 */
    ck_assert(fabs(p.coef[0] - 2.0) < 1e-12 && fabs(p.coef[1] - 6.0) < 1e-12 &&
              fabs(p.coef[2] - 4.0) < 1e-12);
    double xs[3] = {0.0, 2.5, 10.0}, out[3];
    ck_assert_int_eq(cs_lsq_poly_eval(&p, 3, xs, out), CS_OK);
    for (int i = 0; i < 3; i++)
        ck_assert(fabs(out[i] - (2.0 - 3.0 * xs[i] + xs[i] * xs[i])) < 1e-11);
    /* eval in place (out aliases x) */
    ck_assert_int_eq(cs_lsq_poly_eval(&p, 3, xs, xs), CS_OK);
    ck_assert(fabs(xs[2] - 72.0) < 1e-11);
}
END_TEST

/* ---- random problems against MGS ------------------------------------------------- */

static void random_problem(test_rng *r, size_t n, size_t p, double *X, double *y)
{
    for (size_t i = 0; i < n; i++) {
        double acc = 0.0;
        for (size_t j = 0; j < p; j++) {
            X[i * p + j] = test_rng_normal(r) * (1.0 + (double)j);
            acc += X[i * p + j] * (0.5 - (double)j * 0.1);
        }
        y[i] = acc + 0.1 * test_rng_normal(r);
    }
}

START_TEST(random_vs_mgs_all_methods_layouts)
{
    test_rng r;
    test_rng_seed(&r, 11);
    const size_t n = 200, p = 6;
    double *X = malloc(n * p * sizeof *X), *y = malloc(n * sizeof *y);
    double *Xc = malloc(n * 2 * p * sizeof *Xc); /* column-major, ld = 2n (padded) */
    double *Xi = malloc(n * (p + 1) * sizeof *Xi); /* explicit column of ones */
    random_problem(&r, n, p, X, y);
    for (size_t i = 0; i < n; i++) {
        Xi[i * (p + 1)] = 1.0;
        for (size_t j = 0; j < p; j++) {
            Xc[i + j * 2 * n] = X[i * p + j];
            Xi[i * (p + 1) + j + 1] = X[i * p + j];
        }
    }
    double ref[7];
    mgs_lstsq(n, p + 1, Xi, y, ref);
    for (int mi = 0; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 1, 0.0);
        cs_lsq *ws;
        ck_assert_int_eq(cs_lsq_create(n, p, &o, NULL, &ws), CS_OK);
        double b1[7], b2[7];
        ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, X, p, y, 1, NULL, b1, 1, NULL, NULL),
                         CS_OK);
        ck_assert_int_eq(
            cs_lsq_fit(ws, CS_LSQ_COL_MAJOR, Xc, 2 * n, y, n, NULL, b2, 7, NULL, NULL), CS_OK);
        for (int j = 0; j < 7; j++) {
            ck_assert_msg(fabs(b1[j] - ref[j]) <= 1e-12 * (1.0 + fabs(ref[j])), "m%d j%d", mi,
                          j);
            ck_assert(fabs(b2[j] - b1[j]) <= 1e-14 * (1.0 + fabs(b1[j])));
        }
        cs_lsq_destroy(ws);
    }
    /* intercept option == explicit column of ones */
    cs_lsq_options o0 = opts_of(CS_LSQ_QR, 0, 0.0);
    double b3[7];
    ck_assert_int_eq(cs_lsq_solve(n, p + 1, &o0, CS_LSQ_ROW_MAJOR, Xi, p + 1, y, 1, NULL, b3,
                                  1, NULL, NULL, NULL),
                     CS_OK);
    for (int j = 0; j < 7; j++)
        ck_assert(fabs(b3[j] - ref[j]) <= 1e-12 * (1.0 + fabs(ref[j])));
    free(X);
    free(y);
    free(Xc);
    free(Xi);
}
END_TEST

START_TEST(weights_equal_duplicated_rows)
{
    /* Integer weights are row multiplicities: weight 0 drops a row, weight 2
     * duplicates it. The expanded unweighted problem is solved by MGS. */
    test_rng r;
    test_rng_seed(&r, 5);
    const size_t n = 40, p = 3;
    double X[40 * 3], y[40], w[40];
    random_problem(&r, n, p, X, y);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = (double)(i % 4); /* 0, 1, 2, 3 */
        total += i % 4;
    }
    double *Xe = malloc(total * (p + 1) * sizeof *Xe), *ye = malloc(total * sizeof *ye);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < i % 4; c++, k++) {
            Xe[k * (p + 1)] = 1.0;
            for (size_t j = 0; j < p; j++)
                Xe[k * (p + 1) + 1 + j] = X[i * p + j];
            ye[k] = y[i];
        }
    double ref[4];
    mgs_lstsq(total, p + 1, Xe, ye, ref);
    for (int mi = 0; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 1, 0.0);
        double b[4];
        cs_lsq_stats s = stats_new();
        ck_assert_int_eq(
            cs_lsq_solve(n, p, &o, CS_LSQ_ROW_MAJOR, X, p, y, 1, w, b, 1, NULL, &s, NULL),
            CS_OK);
        for (int j = 0; j < 4; j++)
            ck_assert(fabs(b[j] - ref[j]) <= 1e-12 * (1.0 + fabs(ref[j])));
        ck_assert_uint_eq(s.n_used, 30); /* weight 0 for i % 4 == 0: 10 rows */
        /* the weighted RSS equals the RSS of the expanded problem */
        double rss = 0.0;
        for (size_t i = 0; i < total; i++) {
            double e = ye[i];
            for (size_t j = 0; j < p + 1; j++)
                e -= Xe[i * (p + 1) + j] * ref[j];
            rss += e * e;
        }
        ck_assert(fabs(s.rss - rss) <= 1e-10 * rss);
    }
    free(Xe);
    free(ye);
}
END_TEST

START_TEST(multiple_rhs)
{
    test_rng r;
    test_rng_seed(&r, 9);
    const size_t n = 50, p = 4, m = 3;
    double X[50 * 4], Y[50 * 3], y1[50];
    random_problem(&r, n, p, X, y1);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < m; k++)
            Y[i * m + k] = y1[i] * (double)(k + 1) + test_rng_normal(&r);
    for (int mi = 0; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 1, 0.0);
        o.nrhs = m;
        double B[5 * 3], SE[5 * 3];
        cs_lsq_stats s[3];
        for (int k = 0; k < 3; k++)
            s[k] = stats_new();
        ck_assert_int_eq(
            cs_lsq_solve(n, p, &o, CS_LSQ_ROW_MAJOR, X, p, Y, m, NULL, B, m, SE, s, NULL),
            CS_OK);
        for (size_t k = 0; k < m; k++) {
            cs_lsq_options o1 = opts_of(all_methods[mi], 1, 0.0);
            double yk[50], b[5], se[5];
            cs_lsq_stats s1 = stats_new();
            for (size_t i = 0; i < n; i++)
                yk[i] = Y[i * m + k];
            ck_assert_int_eq(
                cs_lsq_solve(n, p, &o1, CS_LSQ_ROW_MAJOR, X, p, yk, 1, NULL, b, 1, se, &s1, NULL),
                CS_OK);
            for (size_t j = 0; j < 5; j++) {
                ck_assert(fabs(B[j * m + k] - b[j]) <= 1e-12 * (1.0 + fabs(b[j])));
                ck_assert(fabs(SE[j * m + k] - se[j]) <= 1e-10 * se[j]);
            }
            ck_assert(fabs(s[k].rss - s1.rss) <= 1e-10 * s1.rss);
        }
    }
}
END_TEST

/* ---- ridge ------------------------------------------------------------------------ */

START_TEST(ridge_optimality_and_sandwich)
{
    /* The ridge optimum satisfies X'W(y - Xb) = lambda b on the penalised
     * coefficients and 1'W(y - Xb) = 0 for the free intercept. The sandwich
     * covariance sigma^2 G^-1 X'X G^-1 (G = X'X + lambda P) and
     * dof = n - trace(G^-1 X'X) are computed here by Gaussian elimination on
     * the (well-conditioned) cross-products. */
    test_rng r;
    test_rng_seed(&r, 21);
    const size_t n = 30, p = 3, q = 4;
    const double lam = 2.5;
    double X[30 * 3], y[30];
    random_problem(&r, n, p, X, y);
    double Xi[30 * 4];
    for (size_t i = 0; i < n; i++) {
        Xi[i * q] = 1.0;
        for (size_t j = 0; j < p; j++)
            Xi[i * q + 1 + j] = X[i * p + j];
    }
    double XtX[16] = {0};
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < q; a++)
            for (size_t c = 0; c < q; c++)
                XtX[a * q + c] += Xi[i * q + a] * Xi[i * q + c];
    /* Ginv column by column */
    double Ginv[16];
    for (size_t c = 0; c < q; c++) {
        double G[16], e[4] = {0, 0, 0, 0};
        memcpy(G, XtX, sizeof G);
        for (size_t a = 1; a < q; a++)
            G[a * q + a] += lam;
        e[c] = 1.0;
        ck_assert(gauss_solve(q, G, e));
        for (size_t a = 0; a < q; a++)
            Ginv[a * q + c] = e[a];
    }
    double H[16] = {0}, C[16] = {0}; /* H = Ginv XtX, C = H Ginv */
    for (size_t a = 0; a < q; a++)
        for (size_t c = 0; c < q; c++)
            for (size_t k = 0; k < q; k++)
                H[a * q + c] += Ginv[a * q + k] * XtX[k * q + c];
    for (size_t a = 0; a < q; a++)
        for (size_t c = 0; c < q; c++)
            for (size_t k = 0; k < q; k++)
                C[a * q + c] += H[a * q + k] * Ginv[k * q + c];
    double trH = H[0] + H[5] + H[10] + H[15];

    for (int mi = 0; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 1, lam);
        double b[4], se[4];
        cs_lsq_stats s = stats_new();
        ck_assert_int_eq(
            cs_lsq_solve(n, p, &o, CS_LSQ_ROW_MAJOR, X, p, y, 1, NULL, b, 1, se, &s, NULL),
            CS_OK);
        double grad[4] = {0, 0, 0, 0}, rss = 0.0;
        for (size_t i = 0; i < n; i++) {
            double e = y[i];
            for (size_t j = 0; j < q; j++)
                e -= Xi[i * q + j] * b[j];
            rss += e * e;
            for (size_t j = 0; j < q; j++)
                grad[j] += Xi[i * q + j] * e;
        }
        ck_assert(fabs(grad[0]) < 1e-10);
        for (size_t j = 1; j < q; j++)
            ck_assert_msg(fabs(grad[j] - lam * b[j]) < 1e-10, "m%d grad %zu", mi, j);
        ck_assert(fabs(s.rss - rss) <= 1e-10 * rss);
        ck_assert_msg(fabs(s.dof - ((double)n - trH)) < 1e-10, "m%d dof %g vs %g", mi, s.dof,
                      (double)n - trH);
        double sigma = sqrt(rss / ((double)n - trH));
        for (size_t j = 0; j < q; j++)
            ck_assert_msg(fabs(se[j] - sigma * sqrt(C[j * q + j])) <= 1e-9 * se[j], "m%d se%zu",
                          mi, j);
    }
    /* Ridge makes n < p solvable by QR. */
    cs_lsq_options o = opts_of(CS_LSQ_QR, 0, 1.0);
    double b[3];
    ck_assert_int_eq(cs_lsq_solve(2, 3, &o, CS_LSQ_ROW_MAJOR, X, 3, y, 1, NULL, b, 1, NULL,
                                  NULL, NULL),
                     CS_OK);
}
END_TEST

/* ---- rank deficiency and scaling ---------------------------------------------------- */

START_TEST(rank_deficient_duplicate_and_zero_columns)
{
    /* Column 2 duplicates column 1: the minimum-norm solution splits the
     * coefficient c of the single-column fit equally, c/2 and c/2. */
    test_rng r;
    test_rng_seed(&r, 3);
    const size_t n = 25;
    double X[25 * 3], y[25], X1[25 * 2];
    for (size_t i = 0; i < n; i++) {
        double u = test_rng_normal(&r), v = test_rng_normal(&r);
        X[i * 3] = u;
        X[i * 3 + 1] = u;
        X[i * 3 + 2] = v;
        X1[i * 2] = u;
        X1[i * 2 + 1] = v;
        y[i] = 2.0 * u - v + 0.01 * test_rng_normal(&r);
    }
    double ref[2];
    mgs_lstsq(n, 2, X1, y, ref);
    for (int mi = 2; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 0, 0.0);
        double b[3], se[3];
        cs_lsq_stats s = stats_new();
        ck_assert_int_eq(
            cs_lsq_solve(n, 3, &o, CS_LSQ_ROW_MAJOR, X, 3, y, 1, NULL, b, 1, se, &s, NULL),
            CS_OK);
        ck_assert_uint_eq(s.rank, 2);
        ck_assert(fabs(b[0] - ref[0] / 2) < 1e-10 && fabs(b[1] - ref[0] / 2) < 1e-10);
        ck_assert(fabs(b[2] - ref[1]) < 1e-10);
        ck_assert(isnan(se[0]) && isnan(se[2]));
        ck_assert(s.dof == 23.0);
    }
    cs_lsq_options oq = opts_of(CS_LSQ_QR, 0, 0.0);
    double b[3] = {7, 7, 7};
    ck_assert_int_eq(
        cs_lsq_solve(n, 3, &oq, CS_LSQ_ROW_MAJOR, X, 3, y, 1, NULL, b, 1, NULL, NULL, NULL),
        CS_ERR_SINGULAR);
    ck_assert(b[0] == 7 && b[1] == 7 && b[2] == 7);
    oq.method = CS_LSQ_TSQR;
    ck_assert_int_eq(
        cs_lsq_solve(n, 3, &oq, CS_LSQ_ROW_MAJOR, X, 3, y, 1, NULL, b, 1, NULL, NULL, NULL),
        CS_ERR_SINGULAR);

    /* A zero column: QR refuses, SVD/COD give it coefficient 0. */
    for (size_t i = 0; i < n; i++)
        X[i * 3 + 1] = 0.0;
    oq.method = CS_LSQ_QR;
    ck_assert_int_eq(
        cs_lsq_solve(n, 3, &oq, CS_LSQ_ROW_MAJOR, X, 3, y, 1, NULL, b, 1, NULL, NULL, NULL),
        CS_ERR_SINGULAR);
    for (int mi = 2; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 0, 0.0);
        cs_lsq_stats s = stats_new();
        ck_assert_int_eq(
            cs_lsq_solve(n, 3, &o, CS_LSQ_ROW_MAJOR, X, 3, y, 1, NULL, b, 1, NULL, &s, NULL),
            CS_OK);
        ck_assert_uint_eq(s.rank, 2);
        ck_assert(b[1] == 0.0);
        ck_assert(fabs(b[0] - ref[0]) < 1e-10 && fabs(b[2] - ref[1]) < 1e-10);
    }
}
END_TEST

START_TEST(equilibration_prevents_false_truncation)
{
    /* Column 1 is scaled by 1e-12: the raw matrix has singular values 12
     * orders apart, so a rank test at rcond = 1e-10 on the unscaled matrix
     * truncates it, yet the problem is perfectly determined. */
    test_rng r;
    test_rng_seed(&r, 17);
    const size_t n = 30;
    double X[30 * 2], y[30];
    for (size_t i = 0; i < n; i++) {
        double u = test_rng_normal(&r), v = test_rng_normal(&r);
        X[i * 2] = 1e-12 * u;
        X[i * 2 + 1] = v;
        y[i] = 3.0 * u + 2.0 * v;
    }
    double A[60], s2[2], U[1], VT[1], sup[2];
    memcpy(A, X, sizeof A);
    ck_assert_int_eq(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', 30, 2, A, 2, s2, U, 1, VT, 1, sup),
                     0);
    ck_assert(s2[1] / s2[0] < 1e-10); /* an unscaled test would drop a column */
    for (int mi = 2; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 0, 0.0);
        o.rcond = 1e-10;
        double b[2];
        cs_lsq_stats s = stats_new();
        ck_assert_int_eq(
            cs_lsq_solve(n, 2, &o, CS_LSQ_ROW_MAJOR, X, 2, y, 1, NULL, b, 1, NULL, &s, NULL),
            CS_OK);
        ck_assert_uint_eq(s.rank, 2);
        ck_assert(fabs(b[0] - 3e12) < 1e-9 * 3e12 && fabs(b[1] - 2.0) < 1e-9);
        ck_assert(s.cond < 10.0); /* the equilibrated matrix is well conditioned */
    }
}
END_TEST

START_TEST(underdetermined_minimum_norm)
{
    /* X = [1 0 1; 0 1 1], y = (1, 2): minimum-norm b = X'(XX')^-1 y with
     * XX' = [2 1; 1 2], (XX')^-1 = [2 -1; -1 2] / 3, (XX')^-1 y = (0, 1),
     * b = X' (0, 1) = (0, 1, 1). */
    const double X[6] = {1, 0, 1, 0, 1, 1}, y[2] = {1, 2};
    for (int mi = 2; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 0, 0.0);
        double b[3];
        cs_lsq_stats s = stats_new();
        ck_assert_int_eq(
            cs_lsq_solve(2, 3, &o, CS_LSQ_ROW_MAJOR, X, 3, y, 1, NULL, b, 1, NULL, &s, NULL),
            CS_OK);
        ck_assert(fabs(b[0]) < 1e-14 && fabs(b[1] - 1.0) < 1e-14 && fabs(b[2] - 1.0) < 1e-14);
        ck_assert_uint_eq(s.rank, 2);
        ck_assert(s.dof == 0.0 && isnan(s.sigma));
    }
    cs_lsq *ws;
    cs_lsq_options o = opts_of(CS_LSQ_QR, 0, 0.0);
    ck_assert_int_eq(cs_lsq_create(2, 3, &o, NULL, &ws), CS_ERR_DIMENSION);
}
END_TEST

START_TEST(condition_estimates)
{
    /* Orthogonal columns of any lengths are perfectly conditioned once
     * equilibrated (power-of-two scales leave norms within [1/2, 1): cond <= 2).
     * X = [a e1 + ..., ] built from the 4 x 2 orthogonal pattern. */
    const double X[8] = {1e6, 3e-4, 1e6, -3e-4, -1e6, 3e-4, -1e6, -3e-4};
    const double y[4] = {1, 2, 3, 4};
    for (int mi = 0; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 0, 0.0);
        double b[2];
        cs_lsq_stats s = stats_new();
        ck_assert_int_eq(
            cs_lsq_solve(4, 2, &o, CS_LSQ_ROW_MAJOR, X, 2, y, 1, NULL, b, 1, NULL, &s, NULL),
            CS_OK);
        ck_assert_msg(s.cond >= 1.0 && s.cond <= 2.0, "cond %g", s.cond);
    }
    /* Two unit columns at angle theta: singular values sqrt(1 +- cos theta),
     * 2-norm condition sqrt((1 + c)/(1 - c)). With c = 0.99, cond = sqrt(199).
     * Columns (1, 0) and (c, sqrt(1 - c^2)) padded with zero rows. */
    double c = 0.99, sn = sqrt(1.0 - c * c);
    const double X2[8] = {1, c, 0, sn, 0, 0, 0, 0};
    cs_lsq_options o = opts_of(CS_LSQ_SVD, 0, 0.0);
    double b[2];
    cs_lsq_stats s = stats_new();
    ck_assert_int_eq(
        cs_lsq_solve(4, 2, &o, CS_LSQ_ROW_MAJOR, X2, 2, y, 1, NULL, b, 1, NULL, &s, NULL),
        CS_OK);
    ck_assert(fabs(s.cond - sqrt(199.0)) < 1e-10 * sqrt(199.0));
    /* the 1-norm estimate of QR is within a factor p of the 2-norm value */
    o.method = CS_LSQ_QR;
    ck_assert_int_eq(
        cs_lsq_solve(4, 2, &o, CS_LSQ_ROW_MAJOR, X2, 2, y, 1, NULL, b, 1, NULL, &s, NULL),
        CS_OK);
    ck_assert(s.cond >= sqrt(199.0) / 2.0 && s.cond <= 2.0 * sqrt(199.0));
}
END_TEST

/* ---- bounded and non-negative ---------------------------------------------------------- */

/* Brute force: every assignment of each coefficient to {lower, upper, free},
 * unconstrained least squares on the free ones, keep the best feasible. */
static double brute_bounded(size_t n, size_t p, const double *X, const double *y,
                            const double *lo, const double *hi, double *best)
{
    size_t combos = 1;
    for (size_t j = 0; j < p; j++)
        combos *= 3;
    double best_obj = INF;
    for (size_t code = 0; code < combos; code++) {
        size_t c = code, nf = 0, fidx[8];
        int st[8];
        double xb[8];
        bool skip = false;
        for (size_t j = 0; j < p; j++, c /= 3) {
            st[j] = (int)(c % 3);
            if (st[j] == 0) {
                fidx[nf++] = j;
                xb[j] = 0.0;
            } else {
                xb[j] = st[j] == 1 ? lo[j] : hi[j];
                if (!isfinite(xb[j]))
                    skip = true;
            }
        }
        if (skip)
            continue;
        double *A = malloc(n * (nf ? nf : 1) * sizeof *A), *rhs = malloc(n * sizeof *rhs);
        for (size_t i = 0; i < n; i++) {
            double e = y[i];
            for (size_t j = 0; j < p; j++)
                if (st[j] != 0)
                    e -= X[i * p + j] * xb[j];
            rhs[i] = e;
            for (size_t t = 0; t < nf; t++)
                A[i * nf + t] = X[i * p + fidx[t]];
        }
        double z[8];
        if (nf > 0)
            mgs_lstsq(n, nf, A, rhs, z);
        bool feasible = true;
        for (size_t t = 0; t < nf; t++) {
            xb[fidx[t]] = z[t];
            if (z[t] < lo[fidx[t]] - 1e-12 || z[t] > hi[fidx[t]] + 1e-12)
                feasible = false;
        }
        free(A);
        free(rhs);
        if (!feasible)
            continue;
        double obj = 0.0;
        for (size_t i = 0; i < n; i++) {
            double e = y[i];
            for (size_t j = 0; j < p; j++)
                e -= X[i * p + j] * xb[j];
            obj += e * e;
        }
        if (obj < best_obj) {
            best_obj = obj;
            memcpy(best, xb, p * sizeof *best);
        }
    }
    return best_obj;
}

START_TEST(nnls_hand_example)
{
    /* min ||b1 e1 + b2 e2 - (1, -1)||, b >= 0 on the identity: b = (1, 0),
     * RSS = 1 (the negative target cannot be met). */
    const double X[4] = {1, 0, 0, 1}, y[2] = {1, -1};
    cs_lsq_options o = opts_of(CS_LSQ_QR, 0, 0.0);
    cs_lsq *ws;
    ck_assert_int_eq(cs_lsq_create(2, 2, &o, NULL, &ws), CS_OK);
    double b[2];
    cs_lsq_stats s = stats_new();
    ck_assert_int_eq(cs_lsq_fit_nnls(ws, CS_LSQ_ROW_MAJOR, X, 2, y, 1, NULL, b, 1, &s), CS_OK);
    ck_assert(fabs(b[0] - 1.0) < 1e-15 && b[1] == 0.0);
    ck_assert(fabs(s.rss - 1.0) < 1e-14);
    ck_assert(s.dof == 1.0); /* n_used 2 - one free coefficient */
    cs_lsq_destroy(ws);
}
END_TEST

START_TEST(nnls_and_bounds_vs_brute_force)
{
    test_rng r;
    test_rng_seed(&r, 77);
    for (int trial = 0; trial < 60; trial++) {
        const size_t n = 12, p = 1 + (size_t)(trial % 5); /* 1..5 columns */
        double X[12 * 5], y[12], lo[5], hi[5], ref[5], b[5];
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < p; j++)
                X[i * p + j] = test_rng_normal(&r);
            y[i] = 2.0 * test_rng_normal(&r);
        }
        bool nn = trial % 2 == 0;
        for (size_t j = 0; j < p; j++) {
            if (nn) {
                lo[j] = 0.0;
                hi[j] = INF;
            } else {
                double u = test_rng_uniform(&r);
                lo[j] = u < 0.2 ? -INF : -0.5 * test_rng_uniform(&r);
                hi[j] = u > 0.8 ? INF : 0.5 * test_rng_uniform(&r);
            }
        }
        double best = brute_bounded(n, p, X, y, lo, hi, ref);
        cs_lsq_options o = opts_of(trial % 3 == 0 ? CS_LSQ_SVD : CS_LSQ_QR, 0, 0.0);
        cs_lsq *ws;
        ck_assert_int_eq(cs_lsq_create(n, p, &o, NULL, &ws), CS_OK);
        cs_lsq_stats s = stats_new();
        cs_status st = nn ? cs_lsq_fit_nnls(ws, CS_LSQ_ROW_MAJOR, X, p, y, 1, NULL, b, 1, &s)
                          : cs_lsq_fit_bounded(ws, CS_LSQ_ROW_MAJOR, X, p, y, 1, NULL, lo, hi,
                                               b, 1, &s);
        ck_assert_int_eq(st, CS_OK);
        for (size_t j = 0; j < p; j++) {
            ck_assert(b[j] >= lo[j] && b[j] <= hi[j]);
            ck_assert_msg(fabs(b[j] - ref[j]) < 1e-9, "trial %d j %zu: %g vs %g", trial, j,
                          b[j], ref[j]);
        }
        ck_assert(fabs(s.rss - best) <= 1e-10 * (1.0 + best));
        cs_lsq_destroy(ws);
    }
}
END_TEST

START_TEST(nnls_intercept_multi_rhs_and_weights)
{
    /* Performance-model style: t = a + b / workers with a, b >= 0; the
     * second right-hand side wants a negative slope and is clamped. Checked
     * against brute force on the weighted (row-scaled) problem. */
    const size_t n = 8;
    double X[8], Y[16], w[8];
    for (size_t i = 0; i < n; i++) {
        X[i] = 1.0 / (double)(i + 1);
        Y[i * 2] = 5.0 + 40.0 * X[i] + 0.1 * sin((double)i);
        Y[i * 2 + 1] = 5.0 - 3.0 * X[i];
        w[i] = 1.0 + (double)(i % 3);
    }
    cs_lsq_options o = opts_of(CS_LSQ_QR, 1, 0.0);
    o.nrhs = 2;
    cs_lsq *ws;
    ck_assert_int_eq(cs_lsq_create(n, 1, &o, NULL, &ws), CS_OK);
    double B[4];
    cs_lsq_stats s[2] = {stats_new(), stats_new()};
    ck_assert_int_eq(cs_lsq_fit_nnls(ws, CS_LSQ_ROW_MAJOR, X, 1, Y, 2, w, B, 2, s), CS_OK);
    for (int k = 0; k < 2; k++) {
        double Xs[16], ys[8], lo[2] = {0, 0}, hi[2] = {INF, INF}, ref[2];
        for (size_t i = 0; i < n; i++) {
            double sw = sqrt(w[i]);
            Xs[i * 2] = sw;
            Xs[i * 2 + 1] = sw * X[i];
            ys[i] = sw * Y[i * 2 + k];
        }
        double best = brute_bounded(n, 2, Xs, ys, lo, hi, ref);
        ck_assert(fabs(B[0 * 2 + k] - ref[0]) < 1e-10 && fabs(B[1 * 2 + k] - ref[1]) < 1e-10);
        ck_assert(fabs(s[k].rss - best) <= 1e-10 * (1.0 + best));
    }
    ck_assert(B[1 * 2 + 1] == 0.0); /* the clamped slope */
    cs_lsq_destroy(ws);
}
END_TEST

/* ---- workspace behaviour ---------------------------------------------------------------- */

START_TEST(workspace_reuse_does_not_allocate)
{
    test_alloc ta = {0};
    cs_allocator a = test_alloc_make(&ta);
    test_rng r;
    test_rng_seed(&r, 4);
    const size_t n = 60, p = 3;
    double X[60 * 3], y[60], X2[60 * 3], y2[60];
    random_problem(&r, n, p, X, y);
    random_problem(&r, n, p, X2, y2);
    for (int mi = 0; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 1, mi == 1 ? 0.3 : 0.0);
        cs_lsq *ws;
        ck_assert_int_eq(cs_lsq_create(n, p, &o, &a, &ws), CS_OK);
        long before = ta.count;
        double b1[4], b2[4], b1again[4], se[4];
        cs_lsq_stats s = stats_new();
        ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, X, p, y, 1, NULL, b1, 1, se, &s),
                         CS_OK);
        ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, X2, p, y2, 1, NULL, b2, 1, se, &s),
                         CS_OK);
        ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, X, p, y, 1, NULL, b1again, 1, se, &s),
                         CS_OK);
        ck_assert_int_eq(cs_lsq_fit_nnls(ws, CS_LSQ_ROW_MAJOR, X, p, y, 1, NULL, b2, 1, &s),
                         CS_OK);
        ck_assert_int_eq(ta.count, before);
        for (int j = 0; j < 4; j++)
            ck_assert(b1[j] == b1again[j]); /* no state leaks between fits */
        cs_lsq_destroy(ws);
    }
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(tsqr_matches_qr)
{
    test_rng r;
    test_rng_seed(&r, 8);
    const size_t n = 3000, p = 8;
    double *X = malloc(n * p * sizeof *X), *y = malloc(n * sizeof *y);
    random_problem(&r, n, p, X, y);
    double b1[9], b2[9], s1e[9], s2e[9];
    cs_lsq_options o = opts_of(CS_LSQ_QR, 1, 0.0);
    ck_assert_int_eq(cs_lsq_solve(n, p, &o, CS_LSQ_ROW_MAJOR, X, p, y, 1, NULL, b1, 1, s1e,
                                  NULL, NULL),
                     CS_OK);
    o.method = CS_LSQ_TSQR;
    ck_assert_int_eq(cs_lsq_solve(n, p, &o, CS_LSQ_ROW_MAJOR, X, p, y, 1, NULL, b2, 1, s2e,
                                  NULL, NULL),
                     CS_OK);
    for (int j = 0; j < 9; j++) {
        ck_assert(fabs(b1[j] - b2[j]) < 1e-12 * (1.0 + fabs(b1[j])));
        ck_assert(fabs(s1e[j] - s2e[j]) < 1e-10 * s1e[j]);
    }
    free(X);
    free(y);
}
END_TEST

/* ---- bad input and allocation failure ------------------------------------------------------ */

START_TEST(bad_input_writes_nothing)
{
    const double X[6] = {1, 2, 3, 4, 5, 7}, y[3] = {1, 2, 4};
    double w[3] = {1, 1, 1};
    cs_lsq *ws;
    cs_lsq_options o = opts_of(CS_LSQ_QR, 1, 0.0);
    ck_assert_int_eq(cs_lsq_create(3, 2, &o, NULL, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_lsq_create(0, 2, &o, NULL, &ws), CS_ERR_DIMENSION);
    cs_lsq_options o0 = opts_of(CS_LSQ_QR, 0, 0.0);
    ck_assert_int_eq(cs_lsq_create(3, 0, &o0, NULL, &ws), CS_ERR_DIMENSION);
    ck_assert_int_eq(cs_lsq_create(2, 2, &o, NULL, &ws), CS_ERR_DIMENSION); /* n < p' */
    cs_lsq_options bad = o;
    bad.method = (cs_lsq_method)9;
    ck_assert_int_eq(cs_lsq_create(3, 2, &bad, NULL, &ws), CS_ERR_INVALID);
    bad = o;
    bad.ridge = -1;
    ck_assert_int_eq(cs_lsq_create(3, 2, &bad, NULL, &ws), CS_ERR_INVALID);
    bad.ridge = DNAN;
    ck_assert_int_eq(cs_lsq_create(3, 2, &bad, NULL, &ws), CS_ERR_INVALID);
    bad = o;
    bad.rcond = 1.0;
    ck_assert_int_eq(cs_lsq_create(3, 2, &bad, NULL, &ws), CS_ERR_INVALID);
    bad = o;
    bad.nrhs = 0;
    ck_assert_int_eq(cs_lsq_create(3, 2, &bad, NULL, &ws), CS_ERR_INVALID);
    bad = o;
    bad.size = 3;
    ck_assert_int_eq(cs_lsq_create(3, 2, &bad, NULL, &ws), CS_ERR_INVALID);
    cs_allocator half = {NULL, NULL, NULL, NULL};
    ck_assert_int_eq(cs_lsq_create(3, 2, &o, &half, &ws), CS_ERR_INVALID);
    ck_assert_int_eq(cs_lsq_options_init(NULL, sizeof o), CS_ERR_INVALID);
    ck_assert_int_eq(cs_lsq_options_init(&o, 1), CS_ERR_INVALID);

    ck_assert_int_eq(cs_lsq_create(3, 2, &o, NULL, &ws), CS_OK);
    double b[3] = {9, 9, 9}, se[3] = {9, 9, 9};
    cs_lsq_stats s = stats_new();
    cs_lsq_stats s_before = s;
#define EXPECT_UNTOUCHED()                                                                    \
    do {                                                                                      \
        for (int j_ = 0; j_ < 3; j_++)                                                         \
            ck_assert(b[j_] == 9 && se[j_] == 9);                                              \
        ck_assert(memcmp(&s, &s_before, sizeof s) == 0);                                     \
    } while (0)
    ck_assert_int_eq(cs_lsq_fit(NULL, CS_LSQ_ROW_MAJOR, X, 2, y, 1, NULL, b, 1, se, &s),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, NULL, 2, y, 1, NULL, b, 1, se, &s),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, X, 2, NULL, 1, NULL, b, 1, se, &s),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, X, 2, y, 1, NULL, NULL, 1, se, &s),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_lsq_fit(ws, (cs_lsq_layout)7, X, 2, y, 1, NULL, b, 1, se, &s),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, X, 1, y, 1, NULL, b, 1, se, &s),
                     CS_ERR_INVALID); /* ldx < p */
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_COL_MAJOR, X, 2, y, 3, NULL, b, 3, se, &s),
                     CS_ERR_INVALID); /* ldx < n */
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_COL_MAJOR, X, 3, y, 2, NULL, b, 3, se, &s),
                     CS_ERR_INVALID); /* ldy < n */
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_COL_MAJOR, X, 3, y, 3, NULL, b, 2, se, &s),
                     CS_ERR_INVALID); /* ldcoef < p' */
    double Xn[6] = {1, 2, DNAN, 4, 5, 7}, yi[3] = {1, INF, 3};
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, Xn, 2, y, 1, NULL, b, 1, se, &s),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, X, 2, yi, 1, NULL, b, 1, se, &s),
                     CS_ERR_INVALID);
    w[1] = -1;
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, X, 2, y, 1, w, b, 1, se, &s),
                     CS_ERR_INVALID);
    w[1] = DNAN;
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, X, 2, y, 1, w, b, 1, se, &s),
                     CS_ERR_INVALID);
    w[1] = 1;
    cs_lsq_stats s_bad = s;
    s_bad.size = 2;
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, X, 2, y, 1, NULL, b, 1, se, &s_bad),
                     CS_ERR_INVALID);
    /* bounds */
    double lo[3] = {0, 1, 0}, hi[3] = {1, 0, 1};
    ck_assert_int_eq(
        cs_lsq_fit_bounded(ws, CS_LSQ_ROW_MAJOR, X, 2, y, 1, NULL, lo, hi, b, 1, &s),
        CS_ERR_INVALID); /* lower > upper */
    double lo2[3] = {DNAN, 0, 0};
    ck_assert_int_eq(
        cs_lsq_fit_bounded(ws, CS_LSQ_ROW_MAJOR, X, 2, y, 1, NULL, lo2, NULL, b, 1, &s),
        CS_ERR_INVALID);
    double lo3[3] = {INF, 0, 0};
    ck_assert_int_eq(
        cs_lsq_fit_bounded(ws, CS_LSQ_ROW_MAJOR, X, 2, y, 1, NULL, lo3, NULL, b, 1, &s),
        CS_ERR_INVALID);
    ck_assert_int_eq(cs_lsq_fit_nnls(NULL, CS_LSQ_ROW_MAJOR, X, 2, y, 1, NULL, b, 1, &s),
                     CS_ERR_INVALID);
    EXPECT_UNTOUCHED();
    /* a valid call still works afterwards */
    ck_assert_int_eq(cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, X, 2, y, 1, NULL, b, 1, se, &s), CS_OK);
    cs_lsq_destroy(ws);
    cs_lsq_destroy(NULL);

    /* line and polynomial */
    double c2[2] = {9, 9};
    const double xs[3] = {1, 1, 1};
    ck_assert_int_eq(cs_lsq_line(3, xs, y, NULL, c2, NULL, NULL), CS_ERR_SINGULAR);
    ck_assert_int_eq(cs_lsq_line(1, X, y, NULL, c2, NULL, NULL), CS_ERR_DIMENSION);
    double wz[3] = {1, 0, 0};
    ck_assert_int_eq(cs_lsq_line(3, X, y, wz, c2, NULL, NULL), CS_ERR_DIMENSION);
    ck_assert_int_eq(cs_lsq_line(3, Xn + 1, y, NULL, c2, NULL, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_lsq_line(3, NULL, y, NULL, c2, NULL, NULL), CS_ERR_INVALID);
    ck_assert(c2[0] == 9 && c2[1] == 9);
    cs_lsq_poly p, p_before;
    ck_assert_int_eq(cs_lsq_poly_init(&p, sizeof p), CS_OK);
    p_before = p;
    ck_assert_int_eq(cs_lsq_polyfit(3, X, y, NULL, 3, &p, NULL, NULL, NULL), CS_ERR_DIMENSION);
    ck_assert_int_eq(cs_lsq_polyfit(3, X, y, NULL, CS_LSQ_POLY_MAX_DEGREE + 1, &p, NULL, NULL,
                                    NULL),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_lsq_polyfit(3, xs, y, NULL, 1, &p, NULL, NULL, NULL), CS_ERR_SINGULAR);
    ck_assert_int_eq(cs_lsq_polyfit(3, Xn, y, NULL, 1, &p, NULL, NULL, NULL), CS_ERR_INVALID);
    /* three points, two distinct x: a quadratic is not determined */
    const double x2[3] = {1, 1, 2};
    ck_assert_int_eq(cs_lsq_polyfit(3, x2, y, NULL, 2, &p, NULL, NULL, NULL), CS_ERR_SINGULAR);
    ck_assert(memcmp(&p, &p_before, sizeof p) == 0);
    double out[2] = {5, 5}, xin[2] = {1, DNAN};
    ck_assert_int_eq(cs_lsq_poly_eval(&p, 2, xin, out), CS_ERR_INVALID); /* scale 0 */
    ck_assert_int_eq(cs_lsq_polyfit(3, X, y, NULL, 1, &p, NULL, NULL, NULL), CS_OK);
    ck_assert_int_eq(cs_lsq_poly_eval(&p, 2, xin, out), CS_ERR_INVALID); /* NaN x */
    ck_assert_int_eq(cs_lsq_poly_eval(NULL, 2, xin, out), CS_ERR_INVALID);
    ck_assert(out[0] == 5 && out[1] == 5);
    ck_assert_int_eq(cs_lsq_poly_eval(&p, 0, NULL, NULL), CS_OK);
}
END_TEST

START_TEST(alloc_failure_create_solve_polyfit)
{
    test_alloc ta = {0};
    cs_allocator a = test_alloc_make(&ta);
    const double *base = &LONGLEY[0][0];
    for (int mi = 0; mi < 4; mi++) {
        cs_lsq_options o = opts_of(all_methods[mi], 1, mi == 3 ? 1.0 : 0.0);
        for (long k = 1;; k++) {
            test_alloc_fail_after(&ta, k);
            cs_lsq *ws = (cs_lsq *)&ta; /* must stay untouched on failure */
            cs_status st = cs_lsq_create(16, 6, &o, &a, &ws);
            test_alloc_fail_after(&ta, 0);
            if (st == CS_OK) {
                cs_lsq_destroy(ws);
                ck_assert_int_gt(k, 1);
                break;
            }
            ck_assert_int_eq(st, CS_ERR_NOMEM);
            ck_assert(ws == (cs_lsq *)&ta);
            ck_assert_int_eq(ta.live, 0);
        }
        for (long k = 1;; k++) {
            double b[7] = {0}, se[7] = {0};
            cs_lsq_stats s = stats_new(), s0 = s;
            test_alloc_fail_after(&ta, k);
            cs_status st = cs_lsq_solve(16, 6, &o, CS_LSQ_ROW_MAJOR, base + 1, 7, base, 7, NULL,
                                        b, 1, se, &s, &a);
            test_alloc_fail_after(&ta, 0);
            ck_assert_int_eq(ta.live, 0);
            if (st == CS_OK)
                break;
            ck_assert_int_eq(st, CS_ERR_NOMEM);
            for (int j = 0; j < 7; j++)
                ck_assert(b[j] == 0 && se[j] == 0);
            ck_assert(memcmp(&s, &s0, sizeof s) == 0);
        }
    }
    for (long k = 1;; k++) {
        cs_lsq_poly p, p0;
        ck_assert_int_eq(cs_lsq_poly_init(&p, sizeof p), CS_OK);
        p0 = p;
        double se[11] = {0};
        test_alloc_fail_after(&ta, k);
        cs_status st = cs_lsq_polyfit(FILIP_N, FILIP_X, FILIP_Y, NULL, 10, &p, se, NULL, &a);
        test_alloc_fail_after(&ta, 0);
        ck_assert_int_eq(ta.live, 0);
        if (st == CS_OK) {
            ck_assert(min_lre(p.monomial, FILIP_B, 11) >= 7.0);
            break;
        }
        ck_assert_int_eq(st, CS_ERR_NOMEM);
        ck_assert(memcmp(&p, &p0, sizeof p) == 0);
        for (int j = 0; j < 11; j++)
            ck_assert(se[j] == 0);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lsq");
    TCase *nist = tcase_create("nist");
    tcase_add_test(nist, nist_norris_all_methods);
    tcase_add_test(nist, nist_norris_line);
    tcase_add_test(nist, nist_longley_layouts_and_methods);
    tcase_add_test(nist, nist_filip_poly_and_normal_equations_fail);
    tcase_add_test(nist, nist_wampler_poly_and_normal_equations);
    suite_add_tcase(s, nist);
    TCase *core = tcase_create("core");
    tcase_add_test(core, hand_line_and_stats);
    tcase_add_test(core, hand_exact_quadratic_poly);
    tcase_add_test(core, random_vs_mgs_all_methods_layouts);
    tcase_add_test(core, weights_equal_duplicated_rows);
    tcase_add_test(core, multiple_rhs);
    tcase_add_test(core, ridge_optimality_and_sandwich);
    tcase_add_test(core, rank_deficient_duplicate_and_zero_columns);
    tcase_add_test(core, equilibration_prevents_false_truncation);
    tcase_add_test(core, underdetermined_minimum_norm);
    tcase_add_test(core, condition_estimates);
    tcase_add_test(core, workspace_reuse_does_not_allocate);
    tcase_add_test(core, tsqr_matches_qr);
    suite_add_tcase(s, core);
    TCase *bounded = tcase_create("bounded");
    tcase_add_test(bounded, nnls_hand_example);
    tcase_add_test(bounded, nnls_and_bounds_vs_brute_force);
    tcase_add_test(bounded, nnls_intercept_multi_rhs_and_weights);
    suite_add_tcase(s, bounded);
    TCase *robust = tcase_create("robustness");
    tcase_add_test(robust, bad_input_writes_nothing);
    tcase_add_test(robust, alloc_failure_create_solve_polyfit);
    suite_add_tcase(s, robust);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
