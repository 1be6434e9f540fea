/* Dense QP: KKT conditions checked here, independently of the solver's own
 * residuals; closed-form solutions; the separable balance problem solved by
 * both solvers; a simplex projection by the sort-based formula; certificates
 * of infeasibility and unboundedness checked from their definitions;
 * degenerate and badly scaled problems; bad input; allocation failures. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cloudsched/cloudsched.h"
#include "testutil.h"

#define INF HUGE_VAL
#define NaN ((double)NAN)

#define ck_close(a, b, tol) ck_assert_msg(fabs((double)(a) - (double)(b)) <= (tol), \
    "%s = %.17g, expected %.17g (tol %g)", #a, (double)(a), (double)(b), (double)(tol))

/* ---- a problem with its own storage and a solve helper ---- */

typedef struct qp_case {
    size_t n, me, mi;
    double *P, *q, *A, *b, *G, *h, *l, *u;
    double *x, *y, *z, *zb;
    cs_qp_result r;
} qp_case;

static qp_case *case_new(size_t n, size_t me, size_t mi)
{
    qp_case *c = calloc(1, sizeof *c);
    c->n = n;
    c->me = me;
    c->mi = mi;
    c->P = calloc(n * n, sizeof(double));
    c->q = calloc(n, sizeof(double));
    c->A = calloc(me * n + 1, sizeof(double));
    c->b = calloc(me + 1, sizeof(double));
    c->G = calloc(mi * n + 1, sizeof(double));
    c->h = calloc(mi + 1, sizeof(double));
    c->l = malloc(n * sizeof(double));
    c->u = malloc(n * sizeof(double));
    for (size_t j = 0; j < n; j++) {
        c->l[j] = -INF;
        c->u[j] = INF;
    }
    c->x = calloc(n, sizeof(double));
    c->y = calloc(me + 1, sizeof(double));
    c->z = calloc(mi + 1, sizeof(double));
    c->zb = calloc(n, sizeof(double));
    return c;
}

static void case_free(qp_case *c)
{
    free(c->P);
    free(c->q);
    free(c->A);
    free(c->b);
    free(c->G);
    free(c->h);
    free(c->l);
    free(c->u);
    free(c->x);
    free(c->y);
    free(c->z);
    free(c->zb);
    free(c);
}

static cs_qp_problem case_problem(const qp_case *c)
{
    cs_qp_problem p;
    ck_assert_int_eq(cs_qp_problem_init(&p, sizeof p), CS_OK);
    p.n = c->n;
    p.m_eq = c->me;
    p.m_in = c->mi;
    p.P = c->P;
    p.q = c->q;
    p.A = c->A;
    p.b = c->b;
    p.G = c->G;
    p.h = c->h;
    p.lower = c->l;
    p.upper = c->u;
    return p;
}

static cs_status case_solve(qp_case *c, const cs_qp_settings *st)
{
    cs_qp_workspace *ws = NULL;
    ck_assert_int_eq(cs_qp_workspace_create(c->n, c->me, c->mi, NULL, &ws), CS_OK);
    cs_qp_problem p = case_problem(c);
    ck_assert_int_eq(cs_qp_result_init(&c->r, sizeof c->r), CS_OK);
    c->r.x = c->x;
    c->r.y = c->y;
    c->r.z = c->z;
    c->r.z_bound = c->zb;
    cs_status s = cs_qp_solve(ws, &p, st, &c->r);
    cs_qp_workspace_destroy(ws);
    return s;
}

/* P is symmetric in these tests; the solver reads the lower triangle only,
 * and the checks here use the full matrix. */
static double row_dot(const double *row, const double *v, size_t n)
{
    double s = 0;
    for (size_t j = 0; j < n; j++)
        s += row[j] * v[j];
    return s;
}

/* KKT conditions of (x, y, z, zb), from the definitions, with relative
 * tolerance tol: primal feasibility, z >= 0, bound multiplier signs,
 * stationarity, complementarity. Returns the objective. */
static double check_kkt(const qp_case *c, double tol)
{
    size_t n = c->n;
    double xs = 1, comp = 0;
    for (size_t j = 0; j < n; j++)
        xs = fmax(xs, fabs(c->x[j]));
    for (size_t k = 0; k < c->me; k++) {
        double ax = row_dot(c->A + k * n, c->x, n), sc = fabs(c->b[k]) + 1;
        for (size_t j = 0; j < n; j++)
            sc += fabs(c->A[k * n + j] * c->x[j]);
        ck_assert_msg(fabs(ax - c->b[k]) <= tol * sc, "equality %zu: %g vs %g", k, ax, c->b[k]);
    }
    for (size_t k = 0; k < c->mi; k++) {
        double gx = row_dot(c->G + k * n, c->x, n), sc = fabs(c->h[k]) + 1;
        for (size_t j = 0; j < n; j++)
            sc += fabs(c->G[k * n + j] * c->x[j]);
        ck_assert_msg(gx <= c->h[k] + tol * sc, "inequality %zu: %g > %g", k, gx, c->h[k]);
        ck_assert_msg(c->z[k] >= -tol, "z[%zu] = %g < 0", k, c->z[k]);
        comp += c->z[k] * (c->h[k] - gx);
    }
    for (size_t j = 0; j < n; j++) {
        double sc = 1 + fabs(c->x[j]);
        ck_assert_msg(c->x[j] >= c->l[j] - tol * sc && c->x[j] <= c->u[j] + tol * sc,
                      "bound %zu: %g not in [%g, %g]", j, c->x[j], c->l[j], c->u[j]);
        double zb = c->zb[j];
        /* a positive bound multiplier needs an upper bound, a negative one a lower */
        if (zb > 0) {
            ck_assert_msg(isfinite(c->u[j]), "zb[%zu] = %g without an upper bound", j, zb);
            comp += zb * (c->u[j] - c->x[j]);
        } else if (zb < 0) {
            ck_assert_msg(isfinite(c->l[j]), "zb[%zu] = %g without a lower bound", j, zb);
            comp += -zb * (c->x[j] - c->l[j]);
        }
    }
    /* stationarity P x + q + A'y + G'z + zb = 0 */
    double obj = 0;
    for (size_t i = 0; i < n; i++) {
        double r = c->q[i] + c->zb[i], sc = fabs(c->q[i]) + fabs(c->zb[i]) + 1;
        for (size_t j = 0; j < n; j++) {
            r += c->P[i * n + j] * c->x[j];
            sc += fabs(c->P[i * n + j] * c->x[j]);
        }
        for (size_t k = 0; k < c->me; k++) {
            r += c->A[k * n + i] * c->y[k];
            sc += fabs(c->A[k * n + i] * c->y[k]);
        }
        for (size_t k = 0; k < c->mi; k++) {
            r += c->G[k * n + i] * c->z[k];
            sc += fabs(c->G[k * n + i] * c->z[k]);
        }
        ck_assert_msg(fabs(r) <= tol * sc, "stationarity %zu: %g (scale %g)", i, r, sc);
        obj += c->x[i] * (0.5 * row_dot(c->P + i * n, c->x, n) + c->q[i]);
    }
    ck_close(c->r.objective, obj, 1e-9 * (1 + fabs(obj)));
    /* complementarity: the sum of z_k (h - Gx)_k and of the bound
     * multipliers times their slacks (each term >= 0 up to the residuals) is
     * the duality gap, which the tolerance bounds relative to the objective */
    ck_assert_msg(comp <= tol * (1 + fabs(obj)), "complementarity %g (objective %g)", comp, obj);
    return obj;
}

/* ---- closed forms ---- */

START_TEST(closed_forms)
{
    /* min 1/2 |x|^2 - x1 - x2, x1 + x2 = 1: by symmetry x = (1/2, 1/2), and
     * x - 1 + y = 0 gives y = 1/2; objective 1/4 - 1 = -3/4. */
    qp_case *c = case_new(2, 1, 0);
    c->P[0] = c->P[3] = 1;
    c->q[0] = c->q[1] = -1;
    c->A[0] = c->A[1] = 1;
    c->b[0] = 1;
    ck_assert_int_eq(case_solve(c, NULL), CS_OK);
    ck_close(c->x[0], 0.5, 1e-8);
    ck_close(c->x[1], 0.5, 1e-8);
    ck_close(c->y[0], 0.5, 1e-8);
    ck_close(c->r.objective, -0.75, 1e-8);
    check_kkt(c, 1e-7);
    case_free(c);

    /* Separable with a box, P = diag(1, 2, 4), q = (-5, 2, -0.5):
     * x_j = clamp(-q_j / P_jj, 0, 1) = clamp((5, -1, 0.125)) = (1, 0, 0.125);
     * multipliers z_b = -(P x + q) = -(1 - 5, 0 + 2, 0.5 - 0.5) = (4, -2, 0). */
    c = case_new(3, 0, 0);
    c->P[0] = 1;
    c->P[4] = 2;
    c->P[8] = 4;
    c->q[0] = -5;
    c->q[1] = 2;
    c->q[2] = -0.5;
    for (int j = 0; j < 3; j++) {
        c->l[j] = 0;
        c->u[j] = 1;
    }
    ck_assert_int_eq(case_solve(c, NULL), CS_OK);
    ck_close(c->x[0], 1, 1e-8);
    ck_close(c->x[1], 0, 1e-8);
    ck_close(c->x[2], 0.125, 1e-8);
    ck_close(c->zb[0], 4, 1e-7);
    ck_close(c->zb[1], -2, 1e-7);
    ck_close(c->zb[2], 0, 1e-7);
    check_kkt(c, 1e-7);
    case_free(c);

    /* LP: max x1 + x2 s.t. x1 + 2 x2 <= 4, 3 x1 + x2 <= 6, x >= 0. The vertex
     * x1 + 2x2 = 4, 3x1 + x2 = 6 is x = (8/5, 6/5), objective -14/5; duals
     * solve z1 + 3 z2 = 1, 2 z1 + z2 = 1: z = (2/5, 1/5). */
    c = case_new(2, 0, 2);
    c->q[0] = c->q[1] = -1;
    double G[4] = {1, 2, 3, 1}, h[2] = {4, 6};
    memcpy(c->G, G, sizeof G);
    memcpy(c->h, h, sizeof h);
    c->l[0] = c->l[1] = 0;
    ck_assert_int_eq(case_solve(c, NULL), CS_OK);
    ck_close(c->x[0], 1.6, 1e-7);
    ck_close(c->x[1], 1.2, 1e-7);
    ck_close(c->z[0], 0.4, 1e-7);
    ck_close(c->z[1], 0.2, 1e-7);
    ck_close(c->r.objective, -2.8, 1e-7);
    check_kkt(c, 1e-7);
    case_free(c);
}
END_TEST

/* Projection onto the simplex {x >= 0, sum x = 1} by the sort-based formula
 * (Held, Wolfe, Crowder 1974): the reference for min 1/2 |x - v|^2. */
static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

START_TEST(simplex_projection)
{
    test_rng g;
    test_rng_seed(&g, 21);
    cs_qp_settings st;
    ck_assert_int_eq(cs_qp_settings_init(&st, sizeof st), CS_OK);
    st.eps_abs = st.eps_rel = 1e-11; /* x to about 1e-10: see closed_forms for defaults */
    for (int rep = 0; rep < 20; rep++) {
        size_t n = 2 + test_rng_below(&g, 40);
        qp_case *c = case_new(n, 1, 0);
        double *v = malloc(n * sizeof *v), *srt = malloc(n * sizeof *srt);
        for (size_t j = 0; j < n; j++) {
            v[j] = 2 * test_rng_normal(&g);
            c->P[j * n + j] = 1;
            c->q[j] = -v[j];
            c->A[j] = 1;
            c->l[j] = 0;
        }
        c->b[0] = 1;
        memcpy(srt, v, n * sizeof *v);
        qsort(srt, n, sizeof *srt, cmp_desc);
        double cum = 0, theta = 0;
        for (size_t k = 0; k < n; k++) {
            cum += srt[k];
            double t = (cum - 1) / (double)(k + 1);
            if (srt[k] - t > 0)
                theta = t;
        }
        ck_assert_int_eq(case_solve(c, &st), CS_OK);
        for (size_t j = 0; j < n; j++)
            ck_close(c->x[j], fmax(v[j] - theta, 0), 1e-9);
        check_kkt(c, 1e-7);
        free(v);
        free(srt);
        case_free(c);
    }
}
END_TEST

START_TEST(balance_agrees_with_qp)
{
    /* min sum w (x - t)^2, sum x = D, l <= x <= u as a QP: P = diag(2w),
     * q = -2 w t, one equality. The two solvers must agree to 1e-8. */
    test_rng g;
    test_rng_seed(&g, 31);
    cs_qp_settings st;
    ck_assert_int_eq(cs_qp_settings_init(&st, sizeof st), CS_OK);
    /* The objective of this QP carries the constant -sum w t^2 away from 0,
     * so a gap relative to it is loose in x: ask for tighter tolerances
     * (the gap's own rounding, about 1e-16 of the sum of the objective's
     * terms, is the floor). */
    st.eps_abs = 1e-12;
    st.eps_rel = 1e-13;
    cs_balance_workspace *bw = NULL;
    ck_assert_int_eq(cs_balance_workspace_create(NULL, &bw), CS_OK);
    for (int rep = 0; rep < 12; rep++) {
        size_t n = 5 + test_rng_below(&g, 120);
        qp_case *c = case_new(n, 1, 0);
        double *w = malloc(n * sizeof *w), *t = malloc(n * sizeof *t), *xb = malloc(n * sizeof *xb);
        double sl = 0, su = 0;
        for (size_t j = 0; j < n; j++) {
            w[j] = exp(2 * test_rng_normal(&g));
            t[j] = 10 * test_rng_normal(&g);
            c->l[j] = t[j] - 20 * test_rng_uniform(&g);
            c->u[j] = c->l[j] + 30 * test_rng_uniform(&g);
            c->P[j * n + j] = 2 * w[j];
            c->q[j] = -2 * w[j] * t[j];
            c->A[j] = 1;
            sl += c->l[j];
            su += c->u[j];
        }
        c->b[0] = sl + (su - sl) * test_rng_uniform(&g);
        ck_assert_int_eq(case_solve(c, &st), CS_OK);
        cs_balance_problem bp;
        ck_assert_int_eq(cs_balance_problem_init(&bp, sizeof bp), CS_OK);
        bp.n = n;
        bp.weight = w;
        bp.target = t;
        bp.lower = c->l;
        bp.upper = c->u;
        bp.total = c->b[0];
        cs_balance_result br;
        ck_assert_int_eq(cs_balance_result_init(&br, sizeof br), CS_OK);
        ck_assert_int_eq(cs_balance_solve(bw, &bp, xb, &br), CS_OK);
        for (size_t j = 0; j < n; j++)
            ck_close(c->x[j], xb[j], 1e-8 * (1 + fabs(xb[j])));
        /* the multiplier of sum x = D is -2 mu in the QP's sign convention:
         * 2 w (x - t) + y = 0 for a free x, and x - t = mu / w. */
        ck_close(c->y[0], -2 * br.mu, 1e-7 * (1 + fabs(br.mu)));
        free(w);
        free(t);
        free(xb);
        case_free(c);
    }
    cs_balance_workspace_destroy(bw);
}
END_TEST

/* ---- random problems ---- */

/* A feasible random problem around x0: some inequalities and bounds active
 * at x0, P = R R' of the given rank (0: an LP, bounded by the box). */
static qp_case *random_case(test_rng *g, size_t n, size_t me, size_t mi, size_t rank,
                            double badscale)
{
    qp_case *c = case_new(n, me, mi);
    double *x0 = malloc(n * sizeof *x0), *R = malloc((n * rank + 1) * sizeof *R);
    for (size_t k = 0; k < n * rank; k++)
        R[k] = test_rng_normal(g);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < rank; k++)
                s += R[i * rank + k] * R[j * rank + k];
            c->P[i * n + j] = s;
        }
    for (size_t j = 0; j < n; j++) {
        x0[j] = test_rng_normal(g);
        c->q[j] = test_rng_normal(g);
        c->l[j] = x0[j] - (test_rng_uniform(g) < 0.3 ? 0 : 2 * test_rng_uniform(g));
        c->u[j] = x0[j] + (test_rng_uniform(g) < 0.3 ? 0 : 2 * test_rng_uniform(g));
    }
    for (size_t k = 0; k < me; k++) {
        for (size_t j = 0; j < n; j++)
            c->A[k * n + j] = test_rng_normal(g);
        c->b[k] = row_dot(c->A + k * n, x0, n);
    }
    for (size_t k = 0; k < mi; k++) {
        for (size_t j = 0; j < n; j++)
            c->G[k * n + j] = test_rng_normal(g);
        c->h[k] = row_dot(c->G + k * n, x0, n) + (test_rng_uniform(g) < 0.3 ? 0 : test_rng_uniform(g));
    }
    if (badscale > 0) { /* columns and rows by 10^U(-s, s) */
        for (size_t j = 0; j < n; j++) {
            double f = pow(10, badscale * (2 * test_rng_uniform(g) - 1));
            for (size_t i = 0; i < n; i++) {
                c->P[i * n + j] *= f;
                c->P[j * n + i] *= f;
            }
            c->q[j] *= f;
            for (size_t k = 0; k < me; k++)
                c->A[k * n + j] *= f;
            for (size_t k = 0; k < mi; k++)
                c->G[k * n + j] *= f;
            c->l[j] /= f;
            c->u[j] /= f;
        }
        for (size_t k = 0; k < me; k++) {
            double f = pow(10, badscale * (2 * test_rng_uniform(g) - 1));
            for (size_t j = 0; j < n; j++)
                c->A[k * n + j] *= f;
            c->b[k] *= f;
        }
        for (size_t k = 0; k < mi; k++) {
            double f = pow(10, badscale * (2 * test_rng_uniform(g) - 1));
            for (size_t j = 0; j < n; j++)
                c->G[k * n + j] *= f;
            c->h[k] *= f;
        }
    }
    free(x0);
    free(R);
    return c;
}

/* rank: -1 full (strictly convex), -2 alternately 0 (an LP) and a random
 * rank below n / 2 (merely semidefinite). */
static void solve_random(uint64_t seed, int reps, size_t maxn, int rank, double badscale,
                         double tol)
{
    test_rng g;
    test_rng_seed(&g, seed);
    for (int rep = 0; rep < reps; rep++) {
        size_t n = 2 + test_rng_below(&g, maxn);
        size_t rk = rank == -1 ? n : (rep % 2 ? 0 : test_rng_below(&g, n / 2 + 1));
        size_t me = test_rng_below(&g, n / (badscale > 0 ? 3 : 2) + 1);
        size_t mi = test_rng_below(&g, badscale > 0 ? n : 2 * n);
        qp_case *c = random_case(&g, n, me, mi, rk, badscale);
        ck_assert_int_eq(case_solve(c, NULL), CS_OK);
        check_kkt(c, tol);
        ck_assert(c->r.iterations > 0);
        case_free(c);
    }
}

START_TEST(random_strictly_convex)
{
    solve_random(1, 40, 40, -1, 0, 1e-7);
}
END_TEST

START_TEST(random_semidefinite_and_lp)
{
    solve_random(2, 40, 40, -2, 0, 1e-7);
}
END_TEST

START_TEST(badly_scaled)
{
    /* rows and columns scaled by up to 10^+-6: the solver equilibrates */
    solve_random(3, 20, 26, -1, 6, 1e-6);
}
END_TEST

START_TEST(degenerate)
{
    test_rng g;
    test_rng_seed(&g, 4);
    /* redundant equalities: every row appears twice, one copy scaled */
    for (int rep = 0; rep < 10; rep++) {
        size_t n = 6 + test_rng_below(&g, 20), me = 2 + test_rng_below(&g, 3);
        qp_case *base = random_case(&g, n, me, n / 2, n / 2, 0);
        qp_case *c = case_new(n, 2 * me, base->mi);
        memcpy(c->P, base->P, n * n * sizeof(double));
        memcpy(c->q, base->q, n * sizeof(double));
        memcpy(c->G, base->G, base->mi * n * sizeof(double));
        memcpy(c->h, base->h, base->mi * sizeof(double));
        memcpy(c->l, base->l, n * sizeof(double));
        memcpy(c->u, base->u, n * sizeof(double));
        for (size_t k = 0; k < me; k++) {
            for (size_t j = 0; j < n; j++) {
                c->A[k * n + j] = base->A[k * n + j];
                c->A[(me + k) * n + j] = 3 * base->A[k * n + j];
            }
            c->b[k] = base->b[k];
            c->b[me + k] = 3 * base->b[k];
        }
        ck_assert_int_eq(case_solve(c, NULL), CS_OK);
        double o1 = check_kkt(c, 1e-7);
        ck_assert_int_eq(case_solve(base, NULL), CS_OK);
        double o2 = check_kkt(base, 1e-7);
        ck_close(o1, o2, 1e-7 * (1 + fabs(o2)));
        case_free(c);
        case_free(base);
    }
    /* many active bounds: targets far outside the box, and fixed variables */
    size_t n = 60;
    qp_case *c = case_new(n, 1, 0);
    for (size_t j = 0; j < n; j++) {
        c->P[j * n + j] = 1;
        c->q[j] = j % 3 == 0 ? -100 : (j % 3 == 1 ? 100 : -0.5);
        c->l[j] = 0;
        c->u[j] = j % 7 == 0 ? 0 : 1; /* every 7th variable fixed at 0 */
        c->A[j] = j % 3 == 2 ? 1 : 0; /* the free third shares a budget */
    }
    c->b[0] = 3; /* 20 variables with j % 3 == 2, of which 3 are fixed (j = 14, 35, 56) */
    ck_assert_int_eq(case_solve(c, NULL), CS_OK);
    check_kkt(c, 1e-7);
    /* by hand: the pushed-up ones sit at u, the pushed-down ones at 0, and
     * the 17 budget variables share 3 equally: 3/17 each. */
    for (size_t j = 0; j < n; j++) {
        double expect = j % 7 == 0 ? 0 : (j % 3 == 0 ? 1 : (j % 3 == 1 ? 0 : 3.0 / 17));
        ck_close(c->x[j], expect, 1e-7);
    }
    case_free(c);
    /* LP with a degenerate vertex: three constraints through the optimum */
    c = case_new(2, 0, 3);
    c->q[0] = c->q[1] = -1;
    double G[6] = {1, 0, 0, 1, 1, 1}, h[3] = {1, 1, 2};
    memcpy(c->G, G, sizeof G);
    memcpy(c->h, h, sizeof h);
    ck_assert_int_eq(case_solve(c, NULL), CS_OK);
    ck_close(c->x[0], 1, 1e-7);
    ck_close(c->x[1], 1, 1e-7);
    ck_close(c->r.objective, -2, 1e-7);
    check_kkt(c, 1e-7);
    case_free(c);
}
END_TEST

/* ---- certificates ---- */

/* Farkas: A'y + G'z + zb = 0, z >= 0, zb+ only where u finite, zb- only
 * where l finite, and b'y + h'z + sum(u zb+ - l zb-) = -1. */
static void check_infeasibility_certificate(const qp_case *c, double tol)
{
    size_t n = c->n;
    double t = 0;
    for (size_t k = 0; k < c->me; k++)
        t += c->b[k] * c->y[k];
    for (size_t k = 0; k < c->mi; k++) {
        ck_assert(c->z[k] >= -tol);
        t += c->h[k] * c->z[k];
    }
    for (size_t j = 0; j < n; j++) {
        double zb = c->zb[j];
        if (zb > 0) {
            ck_assert(isfinite(c->u[j]));
            t += c->u[j] * zb;
        } else if (zb < 0) {
            ck_assert(isfinite(c->l[j]));
            t -= c->l[j] * -zb;
        }
    }
    ck_close(t, -1, 1e-9);
    for (size_t j = 0; j < n; j++) {
        double r = c->zb[j], sc = fabs(c->zb[j]);
        for (size_t k = 0; k < c->me; k++) {
            r += c->A[k * n + j] * c->y[k];
            sc += fabs(c->A[k * n + j] * c->y[k]);
        }
        for (size_t k = 0; k < c->mi; k++) {
            r += c->G[k * n + j] * c->z[k];
            sc += fabs(c->G[k * n + j] * c->z[k]);
        }
        ck_assert_msg(fabs(r) <= tol * (sc + 1), "certificate column %zu: %g", j, r);
    }
}

/* Ray: q'd = -1, Pd = 0, Ad = 0, Gd <= 0, d >= 0 where l finite, d <= 0
 * where u finite. */
static void check_unbounded_direction(const qp_case *c, double tol)
{
    size_t n = c->n;
    const double *d = c->x;
    ck_close(row_dot(c->q, d, n), -1, 1e-9);
    double dn = 0;
    for (size_t j = 0; j < n; j++)
        dn = fmax(dn, fabs(d[j]));
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(row_dot(c->P + i * n, d, n)) <= tol * (1 + dn), "Pd[%zu]", i);
    for (size_t k = 0; k < c->me; k++)
        ck_assert(fabs(row_dot(c->A + k * n, d, n)) <= tol * (1 + dn));
    for (size_t k = 0; k < c->mi; k++)
        ck_assert(row_dot(c->G + k * n, d, n) <= tol * (1 + dn));
    for (size_t j = 0; j < n; j++) {
        if (isfinite(c->l[j]))
            ck_assert(d[j] >= -tol * (1 + dn));
        if (isfinite(c->u[j]))
            ck_assert(d[j] <= tol * (1 + dn));
    }
}

START_TEST(infeasible_problems)
{
    /* x >= 1 and x <= 0 */
    qp_case *c = case_new(1, 0, 1);
    c->q[0] = 1;
    c->G[0] = 1;
    c->h[0] = 0;
    c->l[0] = 1;
    double keep = 12345;
    c->x[0] = keep;
    ck_assert_int_eq(case_solve(c, NULL), CS_ERR_INFEASIBLE);
    ck_assert(c->x[0] == keep); /* x not written */
    check_infeasibility_certificate(c, 1e-7);
    case_free(c);
    /* x1 + x2 <= 1 and x1 + x2 >= 2, a PD objective */
    c = case_new(2, 0, 2);
    c->P[0] = c->P[3] = 1;
    double G[4] = {1, 1, -1, -1}, h[2] = {1, -2};
    memcpy(c->G, G, sizeof G);
    memcpy(c->h, h, sizeof h);
    ck_assert_int_eq(case_solve(c, NULL), CS_ERR_INFEASIBLE);
    check_infeasibility_certificate(c, 1e-7);
    case_free(c);
    /* inconsistent equalities and random extra structure */
    test_rng g;
    test_rng_seed(&g, 9);
    for (int rep = 0; rep < 10; rep++) {
        size_t n = 4 + test_rng_below(&g, 20);
        c = random_case(&g, n, 2, n / 2, rep % 2 ? n : 0, 0);
        /* the second equality repeats the first with another right-hand side */
        for (size_t j = 0; j < n; j++)
            c->A[n + j] = c->A[j];
        c->b[1] = c->b[0] + 1 + test_rng_uniform(&g);
        ck_assert_int_eq(case_solve(c, NULL), CS_ERR_INFEASIBLE);
        check_infeasibility_certificate(c, 1e-7);
        case_free(c);
    }
    /* a box that misses an equality: sum x = 10 with 0 <= x <= 1, n = 5 */
    c = case_new(5, 1, 0);
    for (size_t j = 0; j < 5; j++) {
        c->A[j] = 1;
        c->l[j] = 0;
        c->u[j] = 1;
        c->P[j * 5 + j] = 1;
    }
    c->b[0] = 10;
    ck_assert_int_eq(case_solve(c, NULL), CS_ERR_INFEASIBLE);
    check_infeasibility_certificate(c, 1e-7);
    case_free(c);
}
END_TEST

START_TEST(unbounded_problems)
{
    /* min -x1, x >= 0, x2 <= 1 */
    qp_case *c = case_new(2, 0, 0);
    c->q[0] = -1;
    c->l[0] = c->l[1] = 0;
    c->u[1] = 1;
    ck_assert_int_eq(case_solve(c, NULL), CS_ERR_UNBOUNDED);
    check_unbounded_direction(c, 1e-7);
    case_free(c);
    /* PSD with a flat direction: min 1/2 x1^2 - x2, x2 free above */
    c = case_new(2, 0, 1);
    c->P[0] = 1;
    c->q[1] = -1;
    c->G[0] = 1; /* x1 <= 3 */
    c->h[0] = 3;
    ck_assert_int_eq(case_solve(c, NULL), CS_ERR_UNBOUNDED);
    check_unbounded_direction(c, 1e-7);
    case_free(c);
    /* random LPs with a ray: x >= 0 only, an objective with a negative entry
     * on a column that no constraint limits from above */
    test_rng g;
    test_rng_seed(&g, 10);
    for (int rep = 0; rep < 10; rep++) {
        size_t n = 3 + test_rng_below(&g, 15), mi = 1 + test_rng_below(&g, 5);
        c = case_new(n, 0, mi);
        for (size_t j = 0; j < n; j++) {
            c->q[j] = test_rng_uniform(&g);
            c->l[j] = 0;
        }
        c->q[n - 1] = -1;
        for (size_t k = 0; k < mi; k++) {
            for (size_t j = 0; j < n; j++)
                c->G[k * n + j] = test_rng_uniform(&g);
            c->G[k * n + n - 1] = -test_rng_uniform(&g); /* never limits x_n-1 */
            c->h[k] = 1 + test_rng_uniform(&g);
        }
        ck_assert_int_eq(case_solve(c, NULL), CS_ERR_UNBOUNDED);
        check_unbounded_direction(c, 1e-7);
        case_free(c);
    }
}
END_TEST

/* ---- limits, bad input, memory ---- */

START_TEST(iteration_limit)
{
    test_rng g;
    test_rng_seed(&g, 5);
    qp_case *c = random_case(&g, 20, 3, 10, 20, 0);
    cs_qp_settings st;
    ck_assert_int_eq(cs_qp_settings_init(&st, sizeof st), CS_OK);
    ck_assert(st.eps_abs == 1e-8 && st.eps_rel == 1e-8 && st.max_iter == 100);
    st.max_iter = 1;
    ck_assert_int_eq(case_solve(c, &st), CS_ERR_NOT_CONVERGED);
    ck_assert_int_eq(c->r.iterations, 1);
    ck_assert(isfinite(c->x[0]) && c->r.dual_residual > 0); /* the iterate is reported */
    st.max_iter = 100;
    st.equilibrate_iter = 0; /* no scaling also works on this well scaled problem */
    ck_assert_int_eq(case_solve(c, &st), CS_OK);
    check_kkt(c, 1e-7);
    case_free(c);
}
END_TEST

START_TEST(bad_input)
{
    qp_case *c = case_new(2, 1, 1);
    c->P[0] = c->P[3] = 1;
    c->A[0] = c->A[1] = 1;
    c->b[0] = 1;
    c->G[0] = 1;
    c->h[0] = 5;
    cs_qp_workspace *ws = NULL;
    ck_assert_int_eq(cs_qp_workspace_create(2, 1, 1, NULL, &ws), CS_OK);
    cs_qp_problem p = case_problem(c);
    cs_qp_result r;
    ck_assert_int_eq(cs_qp_result_init(&r, sizeof r), CS_OK);
    double x[3] = {7, 7, 7};
    r.x = x;
    ck_assert_int_eq(cs_qp_solve(ws, &p, NULL, &r), CS_OK);
    x[0] = x[1] = 7;
    ck_assert_int_eq(cs_qp_solve(NULL, &p, NULL, &r), CS_ERR_INVALID);
    ck_assert_int_eq(cs_qp_solve(ws, NULL, NULL, &r), CS_ERR_INVALID);
    ck_assert_int_eq(cs_qp_solve(ws, &p, NULL, NULL), CS_ERR_INVALID);
    cs_qp_result r2 = r;
    r2.x = NULL;
    ck_assert_int_eq(cs_qp_solve(ws, &p, NULL, &r2), CS_ERR_INVALID);
    cs_qp_problem q = p;
    q.n = 3;
    ck_assert_int_eq(cs_qp_solve(ws, &q, NULL, &r), CS_ERR_DIMENSION);
    q = p;
    q.m_in = 0;
    ck_assert_int_eq(cs_qp_solve(ws, &q, NULL, &r), CS_ERR_DIMENSION);
    q = p;
    q.A = NULL;
    ck_assert_int_eq(cs_qp_solve(ws, &q, NULL, &r), CS_ERR_INVALID);
    q = p;
    q.h = NULL;
    ck_assert_int_eq(cs_qp_solve(ws, &q, NULL, &r), CS_ERR_INVALID);
    q = p;
    q.size = 5;
    ck_assert_int_eq(cs_qp_solve(ws, &q, NULL, &r), CS_ERR_INVALID);
    double Pn[4] = {1, 0, NaN, 1}, qi[2] = {INF, 0}, bn[1] = {NaN};
    q = p;
    q.P = Pn;
    ck_assert_int_eq(cs_qp_solve(ws, &q, NULL, &r), CS_ERR_INVALID);
    q = p;
    q.q = qi;
    ck_assert_int_eq(cs_qp_solve(ws, &q, NULL, &r), CS_ERR_INVALID);
    q = p;
    q.b = bn;
    ck_assert_int_eq(cs_qp_solve(ws, &q, NULL, &r), CS_ERR_INVALID);
    double lo[2] = {1, 0}, up[2] = {0, 1}, lnan[2] = {NaN, 0}, linf[2] = {INF, 0}, uinf[2] = {0, -INF};
    q = p;
    q.lower = lo;
    q.upper = up;
    ck_assert_int_eq(cs_qp_solve(ws, &q, NULL, &r), CS_ERR_INVALID); /* l > u */
    q = p;
    q.lower = lnan;
    ck_assert_int_eq(cs_qp_solve(ws, &q, NULL, &r), CS_ERR_INVALID);
    q = p;
    q.lower = linf;
    ck_assert_int_eq(cs_qp_solve(ws, &q, NULL, &r), CS_ERR_INVALID);
    q = p;
    q.upper = uinf;
    ck_assert_int_eq(cs_qp_solve(ws, &q, NULL, &r), CS_ERR_INVALID);
    cs_qp_settings st;
    ck_assert_int_eq(cs_qp_settings_init(&st, sizeof st), CS_OK);
    cs_qp_settings bad = st;
    bad.eps_abs = 0;
    ck_assert_int_eq(cs_qp_solve(ws, &p, &bad, &r), CS_ERR_INVALID);
    bad = st;
    bad.max_iter = 0;
    ck_assert_int_eq(cs_qp_solve(ws, &p, &bad, &r), CS_ERR_INVALID);
    bad = st;
    bad.eps_rel = NaN;
    ck_assert_int_eq(cs_qp_solve(ws, &p, &bad, &r), CS_ERR_INVALID);
    bad = st;
    bad.static_reg = -1;
    ck_assert_int_eq(cs_qp_solve(ws, &p, &bad, &r), CS_ERR_INVALID);
    bad = st;
    bad.size = 3;
    ck_assert_int_eq(cs_qp_solve(ws, &p, &bad, &r), CS_ERR_INVALID);
    ck_assert(x[0] == 7 && x[1] == 7); /* nothing written by the failures */
    ck_assert_int_eq(cs_qp_workspace_create(0, 1, 1, NULL, &ws), CS_ERR_INVALID);
    ck_assert_int_eq(cs_qp_workspace_create(2, 1, 1, NULL, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_qp_workspace_create(SIZE_MAX / 2, 1, 1, NULL, &ws), CS_ERR_INVALID);
    cs_allocator half = {NULL, NULL, NULL, NULL};
    cs_qp_workspace *w2 = NULL;
    ck_assert_int_eq(cs_qp_workspace_create(2, 1, 1, &half, &w2), CS_ERR_INVALID);
    ck_assert_int_eq(cs_qp_problem_init(NULL, sizeof p), CS_ERR_INVALID);
    ck_assert_int_eq(cs_qp_settings_init(&st, 1), CS_ERR_INVALID);
    ck_assert_int_eq(cs_qp_result_init(&r, sizeof r + 1), CS_ERR_INVALID);
    cs_qp_workspace_destroy(NULL);
    cs_qp_workspace_destroy(ws);
    case_free(c);
}
END_TEST

START_TEST(alloc_failures_and_no_allocation_in_solve)
{
    test_rng g;
    test_rng_seed(&g, 6);
    qp_case *c = random_case(&g, 8, 2, 5, 8, 0);
    bool done = false;
    for (long k = 1; !done; k++) {
        test_alloc ta = {0, 0, 0, 0};
        cs_allocator a = test_alloc_make(&ta);
        test_alloc_fail_after(&ta, k);
        cs_qp_workspace *ws = NULL;
        cs_status s = cs_qp_workspace_create(8, 2, 5, &a, &ws);
        if (s == CS_OK) {
            done = true;
            test_alloc_fail_after(&ta, 0);
            long before = ta.count;
            cs_qp_problem p = case_problem(c);
            cs_qp_result r;
            ck_assert_int_eq(cs_qp_result_init(&r, sizeof r), CS_OK);
            r.x = c->x;
            ck_assert_int_eq(cs_qp_solve(ws, &p, NULL, &r), CS_OK);
            ck_assert_int_eq(ta.count, before); /* solve allocates nothing */
            cs_qp_workspace_destroy(ws);
        } else {
            ck_assert_int_eq(s, CS_ERR_NOMEM);
            ck_assert(ws == NULL);
        }
        ck_assert_int_eq(ta.live, 0);
        ck_assert(k < 200);
    }
    case_free(c);
}
END_TEST

START_TEST(workspace_reuse)
{
    /* one workspace, many problems of the same dimensions, same answers as
     * fresh workspaces */
    test_rng g;
    test_rng_seed(&g, 8);
    cs_qp_workspace *ws = NULL;
    ck_assert_int_eq(cs_qp_workspace_create(12, 2, 6, NULL, &ws), CS_OK);
    for (int rep = 0; rep < 5; rep++) {
        qp_case *c = random_case(&g, 12, 2, 6, rep % 2 ? 12 : 3, 0);
        cs_qp_problem p = case_problem(c);
        cs_qp_result r;
        ck_assert_int_eq(cs_qp_result_init(&r, sizeof r), CS_OK);
        double x[12];
        r.x = x;
        ck_assert_int_eq(cs_qp_solve(ws, &p, NULL, &r), CS_OK);
        ck_assert_int_eq(case_solve(c, NULL), CS_OK);
        ck_assert(memcmp(x, c->x, sizeof x) == 0);
        case_free(c);
    }
    cs_qp_workspace_destroy(ws);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qp");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, closed_forms);
    tcase_add_test(tc, simplex_projection);
    tcase_add_test(tc, balance_agrees_with_qp);
    tcase_add_test(tc, random_strictly_convex);
    tcase_add_test(tc, random_semidefinite_and_lp);
    tcase_add_test(tc, badly_scaled);
    tcase_add_test(tc, degenerate);
    tcase_add_test(tc, infeasible_problems);
    tcase_add_test(tc, unbounded_problems);
    tcase_add_test(tc, iteration_limit);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, alloc_failures_and_no_allocation_in_solve);
    tcase_add_test(tc, workspace_reuse);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
