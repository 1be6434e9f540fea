/* Recursive least squares: agreement with batch QR (LAPACK dgels called
 * here, and modified Gram-Schmidt on the weighted rows for forgetting),
 * optimality conditions of the ridge variants, drift tracking against the
 * lag predicted by theory, the textbook P-matrix recursion as a foil, bad
 * input and allocation failure. */
#include <check.h>
#include <lapacke.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cloudsched/cloudsched.h"
#include "testutil.h"

#define INF ((double)INFINITY)
#define DNAN ((double)NAN)

static cs_rls_options ropts(double lambda, double ridge, size_t block)
{
    cs_rls_options o;
    ck_assert_int_eq(cs_rls_options_init(&o, sizeof o), CS_OK);
    o.forgetting = lambda;
    o.ridge = ridge;
    o.block_rows = block;
    return o;
}

static void gen(test_rng *r, size_t n, size_t p, double *X, double *y)
{
    for (size_t i = 0; i < n; i++) {
        double acc = 0.0;
        X[i * p] = 1.0;
        for (size_t j = 1; j < p; j++)
            X[i * p + j] = test_rng_normal(r) * (double)j;
        for (size_t j = 0; j < p; j++)
            acc += X[i * p + j] * (1.0 - 0.3 * (double)j);
        y[i] = acc + 0.5 * test_rng_normal(r);
    }
}

/* Batch solution by LAPACK's dgels (Householder QR), weights sqrt(w_i) on rows. */
static void batch_dgels(size_t n, size_t p, const double *X, const double *y, const double *w,
                        double *b)
{
    double *A = malloc(n * p * sizeof *A), *yy = malloc(n * sizeof *yy);
    for (size_t i = 0; i < n; i++) {
        double s = w ? sqrt(w[i]) : 1.0;
        for (size_t j = 0; j < p; j++)
            A[i * p + j] = s * X[i * p + j];
        yy[i] = s * y[i];
    }
    ck_assert_int_eq(LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', (lapack_int)n, (lapack_int)p, 1, A,
                                   (lapack_int)p, yy, 1),
                     0);
    memcpy(b, yy, p * sizeof *b);
    free(A);
    free(yy);
}

static double max_rel(const double *a, const double *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]) / fabs(b[i]);
        m = e > m ? e : m;
    }
    return m;
}

START_TEST(agrees_with_batch_qr_lambda_one)
{
    test_rng r;
    test_rng_seed(&r, 1);
    const size_t n = 500, p = 6;
    double *X = malloc(n * p * sizeof *X), *y = malloc(n * sizeof *y);
    double *Xc = malloc(n * p * sizeof *Xc);
    gen(&r, n, p, X, y);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++)
            Xc[i + j * n] = X[i * p + j];
    double ref[6];
    batch_dgels(n, p, X, y, NULL, ref);

    cs_rls_options o = ropts(1.0, 0.0, 7); /* 7-row pieces exercise the chunking */
    cs_rls *a, *b, *c;
    ck_assert_int_eq(cs_rls_create(p, &o, NULL, &a), CS_OK);
    ck_assert_int_eq(cs_rls_create(p, &o, NULL, &b), CS_OK);
    ck_assert_int_eq(cs_rls_create(p, &o, NULL, &c), CS_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(cs_rls_update(a, X + i * p, y[i]), CS_OK);
    ck_assert_int_eq(cs_rls_update_block(b, CS_LSQ_ROW_MAJOR, n, X, p, y), CS_OK);
    ck_assert_int_eq(cs_rls_update_block(c, CS_LSQ_COL_MAJOR, n, Xc, n, y), CS_OK);
    double ba[6], bb[6], bc[6];
    ck_assert_int_eq(cs_rls_coefficients(a, ba), CS_OK);
    ck_assert_int_eq(cs_rls_coefficients(b, bb), CS_OK);
    ck_assert_int_eq(cs_rls_coefficients(c, bc), CS_OK);
    ck_assert_msg(max_rel(ba, ref, p) < 1e-10, "givens %g", max_rel(ba, ref, p));
    ck_assert(max_rel(bb, ref, p) < 1e-10);
    ck_assert(max_rel(bc, ref, p) < 1e-10);

    /* rho^2 is the residual sum of squares of the batch solution */
    double rss = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = y[i];
        for (size_t j = 0; j < p; j++)
            e -= X[i * p + j] * ref[j];
        rss += e * e;
    }
    cs_rls_info info;
    ck_assert_int_eq(cs_rls_info_init(&info, sizeof info), CS_OK);
    ck_assert_int_eq(cs_rls_get_info(a, &info), CS_OK);
    ck_assert(fabs(info.rss - rss) < 1e-9 * rss);
    ck_assert_uint_eq(info.samples, n);
    ck_assert(info.weight == (double)n);
    ck_assert_uint_eq(info.dim, p);
    ck_assert_int_eq(cs_rls_get_info(b, &info), CS_OK);
    ck_assert(fabs(info.rss - rss) < 1e-9 * rss);

    /* prediction = x . b */
    double yhat;
    ck_assert_int_eq(cs_rls_predict(a, X, &yhat), CS_OK);
    double want = 0.0;
    for (size_t j = 0; j < p; j++)
        want += X[j] * ref[j];
    ck_assert(fabs(yhat - want) < 1e-10 * (1.0 + fabs(want)));

    /* reset returns to the empty model: refit on half the data = batch on it */
    ck_assert_int_eq(cs_rls_reset(a), CS_OK);
    ck_assert_int_eq(cs_rls_coefficients(a, ba), CS_ERR_SINGULAR);
    for (size_t i = 0; i < n / 2; i++)
        ck_assert_int_eq(cs_rls_update(a, X + i * p, y[i]), CS_OK);
    batch_dgels(n / 2, p, X, y, NULL, ref);
    ck_assert_int_eq(cs_rls_coefficients(a, ba), CS_OK);
    ck_assert(max_rel(ba, ref, p) < 1e-10);
    cs_rls_destroy(a);
    cs_rls_destroy(b);
    cs_rls_destroy(c);
    cs_rls_destroy(NULL);
    free(X);
    free(y);
    free(Xc);
}
END_TEST

START_TEST(forgetting_equals_exponentially_weighted_batch)
{
    /* With forgetting lambda the model is the batch fit with weights
     * lambda^(n-1-i): checked against dgels on the weighted rows, for single
     * and block updates (the block path scales rows by lambda^((k-1-i)/2)). */
    test_rng r;
    test_rng_seed(&r, 2);
    const size_t n = 300, p = 4;
    const double lam = 0.97;
    double X[300 * 4], y[300], w[300];
    gen(&r, n, p, X, y);
    for (size_t i = 0; i < n; i++)
        w[i] = pow(lam, (double)(n - 1 - i));
    double ref[4];
    batch_dgels(n, p, X, y, w, ref);
    cs_rls_options o = ropts(lam, 0.0, 16);
    cs_rls *a, *b;
    ck_assert_int_eq(cs_rls_create(p, &o, NULL, &a), CS_OK);
    ck_assert_int_eq(cs_rls_create(p, &o, NULL, &b), CS_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(cs_rls_update(a, X + i * p, y[i]), CS_OK);
    /* the block path in uneven pieces: 1 row, 50 rows, the rest */
    ck_assert_int_eq(cs_rls_update_block(b, CS_LSQ_ROW_MAJOR, 1, X, p, y), CS_OK);
    ck_assert_int_eq(cs_rls_update_block(b, CS_LSQ_ROW_MAJOR, 50, X + p, p, y + 1), CS_OK);
    ck_assert_int_eq(
        cs_rls_update_block(b, CS_LSQ_ROW_MAJOR, n - 51, X + 51 * p, p, y + 51), CS_OK);
    double ba[4], bb[4];
    ck_assert_int_eq(cs_rls_coefficients(a, ba), CS_OK);
    ck_assert_int_eq(cs_rls_coefficients(b, bb), CS_OK);
    ck_assert_msg(max_rel(ba, ref, p) < 1e-10, "%g", max_rel(ba, ref, p));
    ck_assert(max_rel(bb, ref, p) < 1e-10);
    cs_rls_info ia, ib;
    ck_assert_int_eq(cs_rls_info_init(&ia, sizeof ia), CS_OK);
    ck_assert_int_eq(cs_rls_info_init(&ib, sizeof ib), CS_OK);
    ck_assert_int_eq(cs_rls_get_info(a, &ia), CS_OK);
    ck_assert_int_eq(cs_rls_get_info(b, &ib), CS_OK);
    /* effective weight sum_{k<n} lambda^k = (1 - lambda^n) / (1 - lambda) */
    double weff = (1.0 - pow(lam, (double)n)) / (1.0 - lam);
    ck_assert(fabs(ia.weight - weff) < 1e-10 * weff);
    ck_assert(fabs(ib.weight - weff) < 1e-10 * weff);
    ck_assert(fabs(ia.rss - ib.rss) < 1e-10 * ia.rss);
    cs_rls_destroy(a);
    cs_rls_destroy(b);
}
END_TEST

START_TEST(tracks_a_drifting_model)
{
    /* y = a(t) x + 1 + noise, a(t) = 1 + t / 4000 for t = 0..3999. An
     * exponentially weighted fit estimates the model about
     * lag = lambda / (1 - lambda) samples ago: with lambda = 0.98, lag = 49,
     * bias = 49 / 4000 = 0.012. Without forgetting the estimate is the
     * average slope, about 1.5, far from the final a = 2. */
    test_rng r;
    test_rng_seed(&r, 3);
    const size_t n = 4000;
    cs_rls_options o98 = ropts(0.98, 1e-6, 64), o1 = ropts(1.0, 1e-6, 64);
    cs_rls *f, *g;
    ck_assert_int_eq(cs_rls_create(2, &o98, NULL, &f), CS_OK);
    ck_assert_int_eq(cs_rls_create(2, &o1, NULL, &g), CS_OK);
    double a = 1.0;
    for (size_t t = 0; t < n; t++) {
        a = 1.0 + (double)t / 4000.0;
        double x[2] = {test_rng_normal(&r), 1.0};
        double y = a * x[0] + 1.0 + 0.01 * test_rng_normal(&r);
        ck_assert_int_eq(cs_rls_update(f, x, y), CS_OK);
        ck_assert_int_eq(cs_rls_update(g, x, y), CS_OK);
    }
    double bf[2], bg[2];
    ck_assert_int_eq(cs_rls_coefficients(f, bf), CS_OK);
    ck_assert_int_eq(cs_rls_coefficients(g, bg), CS_OK);
    double lagged = a - 49.0 / 4000.0;
    ck_assert_msg(fabs(bf[0] - lagged) < 0.01, "tracked %g, lagged model %g", bf[0], lagged);
    ck_assert(fabs(bf[1] - 1.0) < 0.01);
    ck_assert(fabs(bg[0] - a) > 0.3);
    cs_rls_destroy(f);
    cs_rls_destroy(g);
}
END_TEST

START_TEST(ridge_prior_and_query_ridge_optimality)
{
    /* Initial ridge delta with lambda: the minimiser of
     * sum lambda^(n-1-i) e_i^2 + delta lambda^n ||b||^2 satisfies
     * sum lambda^(n-1-i) x_i e_i = delta lambda^n b. Fewer samples (3) than
     * coefficients (5): only the prior makes it solvable. */
    test_rng r;
    test_rng_seed(&r, 4);
    const size_t n = 3, p = 5;
    const double lam = 0.9, delta = 0.7;
    double X[15], y[3];
    for (size_t i = 0; i < n * p; i++)
        X[i] = test_rng_normal(&r);
    for (size_t i = 0; i < n; i++)
        y[i] = test_rng_normal(&r);
    cs_rls_options o = ropts(lam, delta, 64);
    cs_rls *m;
    ck_assert_int_eq(cs_rls_create(p, &o, NULL, &m), CS_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(cs_rls_update(m, X + i * p, y[i]), CS_OK);
    double b[5];
    ck_assert_int_eq(cs_rls_coefficients(m, b), CS_OK);
    double grad[5] = {0};
    for (size_t i = 0; i < n; i++) {
        double wi = pow(lam, (double)(n - 1 - i)), e = y[i];
        for (size_t j = 0; j < p; j++)
            e -= X[i * p + j] * b[j];
        for (size_t j = 0; j < p; j++)
            grad[j] += wi * X[i * p + j] * e;
    }
    for (size_t j = 0; j < p; j++)
        ck_assert_msg(fabs(grad[j] - delta * pow(lam, 3.0) * b[j]) < 1e-12, "j %zu", j);

    /* The query ridge mu adds mu ||b||^2 on top: gradient = (delta lam^n + mu) b. */
    const double mu = 0.25;
    ck_assert_int_eq(cs_rls_coefficients_ridge(m, mu, b), CS_OK);
    memset(grad, 0, sizeof grad);
    for (size_t i = 0; i < n; i++) {
        double wi = pow(lam, (double)(n - 1 - i)), e = y[i];
        for (size_t j = 0; j < p; j++)
            e -= X[i * p + j] * b[j];
        for (size_t j = 0; j < p; j++)
            grad[j] += wi * X[i * p + j] * e;
    }
    for (size_t j = 0; j < p; j++)
        ck_assert(fabs(grad[j] - (delta * pow(lam, 3.0) + mu) * b[j]) < 1e-12);
    cs_rls_destroy(m);

    /* Without a prior, 3 samples cannot determine 5 coefficients... */
    cs_rls_options o0 = ropts(1.0, 0.0, 64);
    ck_assert_int_eq(cs_rls_create(p, &o0, NULL, &m), CS_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(cs_rls_update(m, X + i * p, y[i]), CS_OK);
    double keep[5] = {4, 4, 4, 4, 4};
    memcpy(b, keep, sizeof b);
    ck_assert_int_eq(cs_rls_coefficients(m, b), CS_ERR_SINGULAR);
    ck_assert_int_eq(cs_rls_coefficients_ridge(m, 0.0, b), CS_ERR_SINGULAR);
    double yhat = 4;
    ck_assert_int_eq(cs_rls_predict(m, X, &yhat), CS_ERR_SINGULAR);
    ck_assert(memcmp(b, keep, sizeof b) == 0 && yhat == 4);
    /* ...but the query ridge can: minimum of ||X b - y||^2 + mu ||b||^2 */
    ck_assert_int_eq(cs_rls_coefficients_ridge(m, mu, b), CS_OK);
    memset(grad, 0, sizeof grad);
    for (size_t i = 0; i < n; i++) {
        double e = y[i];
        for (size_t j = 0; j < p; j++)
            e -= X[i * p + j] * b[j];
        for (size_t j = 0; j < p; j++)
            grad[j] += X[i * p + j] * e;
    }
    for (size_t j = 0; j < p; j++)
        ck_assert(fabs(grad[j] - mu * b[j]) < 1e-12);
    cs_rls_destroy(m);
}
END_TEST

/* The textbook recursion (Haykin's RLS): k = P x / (lambda + x'P x),
 * b += k (y - x'b), P = (P - k x'P) / lambda, started from P = I / delta. */
static void p_matrix_rls(size_t n, size_t p, const double *X, const double *y, double delta,
                         double *b)
{
    double *P = calloc(p * p, sizeof *P), *Px = malloc(p * sizeof *Px);
    for (size_t j = 0; j < p; j++) {
        P[j * p + j] = 1.0 / delta;
        b[j] = 0.0;
    }
    for (size_t i = 0; i < n; i++) {
        const double *x = X + i * p;
        double den = 1.0, e = y[i];
        for (size_t a = 0; a < p; a++) {
            double acc = 0.0;
            for (size_t c = 0; c < p; c++)
                acc += P[a * p + c] * x[c];
            Px[a] = acc;
            den += x[a] * acc;
            e -= x[a] * b[a];
        }
        for (size_t a = 0; a < p; a++)
            b[a] += Px[a] / den * e;
        for (size_t a = 0; a < p; a++)
            for (size_t c = 0; c < p; c++)
                P[a * p + c] -= Px[a] * Px[c] / den;
    }
    free(P);
    free(Px);
}

START_TEST(stable_where_p_matrix_rls_is_not)
{
    /* A cubic in t on [10, 11]: cond(X) ~ 1e7, so cond(X'X) ~ 1e14 and the
     * P matrix (an inverse of X'X) is computed with almost no correct digit.
     * Both recursions start from the same tiny prior delta = 1e-10. */
    const size_t n = 400, p = 4;
    double X[400 * 4], y[400];
    test_rng r;
    test_rng_seed(&r, 5);
    for (size_t i = 0; i < n; i++) {
        double t = 10.0 + (double)i / (double)n;
        double v = 1.0;
        for (size_t j = 0; j < p; j++) {
            X[i * p + j] = v;
            v *= t;
        }
        y[i] = 1.0 - 0.5 * t + 0.02 * t * t * t + 1e-3 * test_rng_normal(&r);
    }
    /* the reference solves the same problem: data rows plus the prior rows
     * sqrt(delta) e_j with target 0 */
    const double delta = 1e-10;
    double Xa[404 * 4], ya[404], ref[4], bq[4], bp[4];
    memcpy(Xa, X, sizeof X);
    memcpy(ya, y, sizeof y);
    for (size_t j = 0; j < p; j++) {
        for (size_t c = 0; c < p; c++)
            Xa[(n + j) * p + c] = c == j ? sqrt(delta) : 0.0;
        ya[n + j] = 0.0;
    }
    batch_dgels(n + p, p, Xa, ya, NULL, ref);
    cs_rls_options o = ropts(1.0, delta, 64);
    cs_rls *m;
    ck_assert_int_eq(cs_rls_create(p, &o, NULL, &m), CS_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(cs_rls_update(m, X + i * p, y[i]), CS_OK);
    ck_assert_int_eq(cs_rls_coefficients(m, bq), CS_OK);
    p_matrix_rls(n, p, X, y, delta, bp);
    double eq = max_rel(bq, ref, p), ep = max_rel(bp, ref, p);
    ck_assert_msg(eq < 1e-7, "QR-RLS error %g", eq);
    ck_assert_msg(ep > 1e3 * eq, "P-matrix error %g vs QR-RLS %g", ep, eq);
    cs_rls_destroy(m);
}
END_TEST

START_TEST(bad_input_leaves_state_unchanged)
{
    cs_rls *m;
    cs_rls_options o = ropts(1.0, 0.0, 64);
    ck_assert_int_eq(cs_rls_create(3, &o, NULL, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_rls_create(0, &o, NULL, &m), CS_ERR_DIMENSION);
    ck_assert_int_eq(cs_rls_create(5000, &o, NULL, &m), CS_ERR_DIMENSION);
    cs_rls_options bad = ropts(0.0, 0.0, 64);
    ck_assert_int_eq(cs_rls_create(3, &bad, NULL, &m), CS_ERR_INVALID);
    bad = ropts(1.5, 0.0, 64);
    ck_assert_int_eq(cs_rls_create(3, &bad, NULL, &m), CS_ERR_INVALID);
    bad = ropts(DNAN, 0.0, 64);
    ck_assert_int_eq(cs_rls_create(3, &bad, NULL, &m), CS_ERR_INVALID);
    bad = ropts(1.0, -1.0, 64);
    ck_assert_int_eq(cs_rls_create(3, &bad, NULL, &m), CS_ERR_INVALID);
    bad = ropts(1.0, 0.0, 0);
    ck_assert_int_eq(cs_rls_create(3, &bad, NULL, &m), CS_ERR_INVALID);
    bad = ropts(1.0, 0.0, 64);
    bad.size = 1;
    ck_assert_int_eq(cs_rls_create(3, &bad, NULL, &m), CS_ERR_INVALID);

    ck_assert_int_eq(cs_rls_create(3, &o, NULL, &m), CS_OK);
    const double X[12] = {1, 0, 2, 1, 1, 3, 1, 2, 5, 1, 3, 4}, y[4] = {1, 2, 3, 5};
    ck_assert_int_eq(cs_rls_update_block(m, CS_LSQ_ROW_MAJOR, 4, X, 3, y), CS_OK);
    cs_rls_info before, after;
    ck_assert_int_eq(cs_rls_info_init(&before, sizeof before), CS_OK);
    ck_assert_int_eq(cs_rls_info_init(&after, sizeof after), CS_OK);
    ck_assert_int_eq(cs_rls_get_info(m, &before), CS_OK);
    double b0[3], b1[3];
    ck_assert_int_eq(cs_rls_coefficients(m, b0), CS_OK);

    const double xn[3] = {1, DNAN, 0}, Xbad[12] = {1, 0, 2, 1, 1, 3, 1, 2, INF, 1, 3, 4};
    ck_assert_int_eq(cs_rls_update(NULL, X, 1.0), CS_ERR_INVALID);
    ck_assert_int_eq(cs_rls_update(m, NULL, 1.0), CS_ERR_INVALID);
    ck_assert_int_eq(cs_rls_update(m, xn, 1.0), CS_ERR_INVALID);
    ck_assert_int_eq(cs_rls_update(m, X, DNAN), CS_ERR_INVALID);
    /* a block with a bad value in its 3rd row must not absorb rows 1-2 */
    ck_assert_int_eq(cs_rls_update_block(m, CS_LSQ_ROW_MAJOR, 4, Xbad, 3, y), CS_ERR_INVALID);
    ck_assert_int_eq(cs_rls_update_block(m, CS_LSQ_ROW_MAJOR, 4, X, 2, y), CS_ERR_INVALID);
    ck_assert_int_eq(cs_rls_update_block(m, CS_LSQ_COL_MAJOR, 4, X, 3, y), CS_ERR_INVALID);
    ck_assert_int_eq(cs_rls_update_block(m, (cs_lsq_layout)3, 4, X, 3, y), CS_ERR_INVALID);
    ck_assert_int_eq(cs_rls_update_block(m, CS_LSQ_ROW_MAJOR, 4, NULL, 3, y), CS_ERR_INVALID);
    ck_assert_int_eq(cs_rls_update_block(m, CS_LSQ_ROW_MAJOR, 0, NULL, 3, NULL), CS_OK);
    ck_assert_int_eq(cs_rls_coefficients(NULL, b1), CS_ERR_INVALID);
    ck_assert_int_eq(cs_rls_coefficients_ridge(m, -1.0, b1), CS_ERR_INVALID);
    ck_assert_int_eq(cs_rls_coefficients_ridge(m, DNAN, b1), CS_ERR_INVALID);
    double yh;
    ck_assert_int_eq(cs_rls_predict(m, xn, &yh), CS_ERR_INVALID);
    ck_assert_int_eq(cs_rls_reset(NULL), CS_ERR_INVALID);
    cs_rls_info small = before;
    small.size = 4;
    ck_assert_int_eq(cs_rls_get_info(m, &small), CS_ERR_INVALID);

    ck_assert_int_eq(cs_rls_get_info(m, &after), CS_OK);
    ck_assert(memcmp(&before, &after, sizeof before) == 0);
    ck_assert_int_eq(cs_rls_coefficients(m, b1), CS_OK);
    ck_assert(memcmp(b0, b1, sizeof b0) == 0);
    cs_rls_destroy(m);
}
END_TEST

START_TEST(alloc_failure_and_no_allocation_after_create)
{
    test_alloc ta = {0};
    cs_allocator a = test_alloc_make(&ta);
    cs_rls_options o = ropts(0.99, 1e-3, 16);
    cs_rls *m = NULL;
    for (long k = 1;; k++) {
        test_alloc_fail_after(&ta, k);
        cs_status st = cs_rls_create(4, &o, &a, &m);
        test_alloc_fail_after(&ta, 0);
        if (st == CS_OK)
            break;
        ck_assert_int_eq(st, CS_ERR_NOMEM);
        ck_assert(m == NULL);
        ck_assert_int_eq(ta.live, 0);
    }
    long count = ta.count;
    test_rng r;
    test_rng_seed(&r, 6);
    double X[100 * 4], y[100], b[4], yh;
    gen(&r, 100, 4, X, y);
    for (size_t i = 0; i < 50; i++)
        ck_assert_int_eq(cs_rls_update(m, X + i * 4, y[i]), CS_OK);
    ck_assert_int_eq(cs_rls_update_block(m, CS_LSQ_ROW_MAJOR, 50, X + 200, 4, y + 50), CS_OK);
    ck_assert_int_eq(cs_rls_coefficients(m, b), CS_OK);
    ck_assert_int_eq(cs_rls_coefficients_ridge(m, 0.5, b), CS_OK);
    ck_assert_int_eq(cs_rls_predict(m, X, &yh), CS_OK);
    ck_assert_int_eq(ta.count, count);
    cs_rls_destroy(m);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rls");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, agrees_with_batch_qr_lambda_one);
    tcase_add_test(tc, forgetting_equals_exponentially_weighted_batch);
    tcase_add_test(tc, tracks_a_drifting_model);
    tcase_add_test(tc, ridge_prior_and_query_ridge_optimality);
    tcase_add_test(tc, stable_where_p_matrix_rls_is_not);
    tcase_add_test(tc, bad_input_leaves_state_unchanged);
    tcase_add_test(tc, alloc_failure_and_no_allocation_after_create);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
