/* Dense convex QP: primal-dual interior point (Mehrotra predictor-corrector)
 * on the homogeneous embedding of Goulart and Chen ("Clarabel: an interior
 * point solver for conic programs with quadratic objectives", 2024), with
 * Ruiz equilibration, a reduced KKT system factorised by Cholesky, and
 * iterative refinement. See include/cloudsched/qp.h for the contract.
 *
 * Internal form. All constraints are stacked as A x + s = b with s in a
 * cone: the first m_eq rows are equalities (s = 0, multiplier free), then
 * the m_in rows of G (s >= 0), then one row -e_j' per finite lower bound
 * (s = x_j - l_j) and one row e_j' per finite upper bound (s = u_j - x_j).
 * The embedding's variables are (x, s, z, tau, kappa), with residuals
 *     r_x = P x + A'z + q tau
 *     r_z = A x + s - b tau
 *     r_t = q'x + b'z + x'Px / tau + kappa
 * all driven to zero with s o z -> 0 and tau kappa -> 0 along the central
 * path. tau > 0 at the limit gives the solution x / tau; tau -> 0 gives
 * certificates of infeasibility.
 *
 * Scaling (Ruiz). x = D x~, rows scaled by E, cost by c: P~ = c D P D,
 * q~ = c D q, A~ = E A D, b~ = E b; a bound row keeps the form +-e_j' with
 * bound l_j / D_j (its row scale is 1 / D_j). A scaled multiplier z~ of a
 * row with scale E_r is z = E_r z~ / c in the caller's units.
 */
#include "cloudsched/qp.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>

#include "internal.h"

/* ---- public structs ------------------------------------------------------- */

static const cs_qp_problem problem_defaults = {.size = sizeof(cs_qp_problem)};
static const cs_qp_settings settings_defaults = {
    .size = sizeof(cs_qp_settings),
    .eps_abs = 1e-8,
    .eps_rel = 1e-8,
    .eps_infeasible = 1e-8,
    .max_iter = 100,
    .equilibrate_iter = 10,
    .static_reg = 1e-8,
    .refine_iter = 8,
};
static const cs_qp_result result_defaults = {.size = sizeof(cs_qp_result)};

cs_status cs_qp_problem_init(cs_qp_problem *problem, size_t size)
{
    return cs__struct_init(problem, size, sizeof *problem, sizeof *problem,
                           &problem_defaults);
}

cs_status cs_qp_settings_init(cs_qp_settings *settings, size_t size)
{
    return cs__struct_init(settings, size, sizeof *settings, sizeof *settings,
                           &settings_defaults);
}

cs_status cs_qp_result_init(cs_qp_result *result, size_t size)
{
    return cs__struct_init(result, size, sizeof *result, sizeof *result, &result_defaults);
}

/* ---- workspace ---------------------------------------------------------------- */

struct cs_qp_workspace {
    cs_allocator alloc;
    size_t n, me, mi; /* dimensions */
    size_t ml, mu;    /* finite lower / upper bounds of the current problem */
    size_t m;         /* rows in use: me + mi + ml + mu */
    size_t mc;        /* cone rows (all but the equalities) */
    /* scaled data, column-major */
    double *P;  /* n x n, both triangles */
    double *A;  /* me x n */
    double *G;  /* mi x n */
    double *q;  /* n */
    double *bv; /* up to me + mi + 2n: [b; h; -l; u] scaled */
    double *D;  /* n: column scaling */
    double *E;  /* me + mi: row scaling */
    double c;   /* cost scaling */
    size_t *lidx, *uidx; /* variables with finite lower / upper bounds */
    /* factorisation */
    double *M;  /* n x n Cholesky factor (lower) */
    double *B;  /* mi x n: sqrt(z/s) G */
    double *W;  /* n x me: L^-1 A' */
    double *S;  /* me x me Cholesky factor of W'W + delta I */
    double delta; /* regularisation in use */
    /* iterate and steps (vectors of n or of m rows) */
    double *x, *s, *z;
    double *dx, *ds, *dz;
    double *dxa, *dsa, *dza;
    double *x1, *z1, *x2, *z2;
    double *rx, *rz;       /* residuals r_x, r_z */
    double *Px;            /* P~ x */
    double *hs;            /* s / z on cone rows (H) */
    double *wn1, *wn2, *wn3, *wm1, *wm2, *wm3; /* scratch */
    double *rhsx, *rhsz, *rcv; /* right-hand sides of the Newton steps */
    /* unscaled candidate solution and checks */
    double *ux, *uy, *uz, *uzb, *un1, *un2, *ume, *umi;
    double *ud; /* candidate unbounded direction */
    double *bx, *by, *bz, *bzb; /* best iterate so far (caller units) */
    /* norms of the scaled data for the certificate tests */
    double *rn1;  /* me + mi: row sums of |A~| and |G~| */
    double pnorm; /* largest row sum of |P~| */
};

static void ws_free_arrays(cs_qp_workspace *w)
{
    double **arrays[] = {&w->P,   &w->A,   &w->G,   &w->q,   &w->bv,  &w->D,   &w->E,
                         &w->M,   &w->B,   &w->W,   &w->S,   &w->x,   &w->s,   &w->z,
                         &w->dx,  &w->ds,  &w->dz,  &w->dxa, &w->dsa, &w->dza, &w->x1,
                         &w->z1,  &w->x2,  &w->z2,  &w->rx,  &w->rz,  &w->Px,  &w->hs,
                         &w->wn1, &w->wn2, &w->wn3, &w->wm1, &w->wm2, &w->wm3, &w->ux,
                         &w->uy,  &w->uz,  &w->uzb, &w->un1, &w->un2, &w->ume, &w->umi,
                         &w->rhsx, &w->rhsz, &w->rcv, &w->ud, &w->rn1, &w->bx,
                         &w->by, &w->bz, &w->bzb};
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++)
        cs__free(&w->alloc, *arrays[k]);
    cs__free(&w->alloc, w->lidx);
    cs__free(&w->alloc, w->uidx);
}

void cs_qp_workspace_destroy(cs_qp_workspace *ws)
{
    if (ws == NULL)
        return;
    ws_free_arrays(ws);
    cs__free(&ws->alloc, ws);
}

cs_status cs_qp_workspace_create(size_t n, size_t m_eq, size_t m_in,
                                 const cs_allocator *allocator, cs_qp_workspace **out)
{
    if (out == NULL || n == 0)
        return CS_ERR_INVALID;
    cs_allocator a;
    if (!cs__allocator_resolve(&a, allocator))
        return CS_ERR_INVALID;
    /* LAPACK and BLAS take int dimensions. */
    if (n > (size_t)INT_MAX / 2 || m_eq > (size_t)INT_MAX / 2 || m_in > (size_t)INT_MAX / 2)
        return CS_ERR_INVALID;
    size_t nn, men, min_, mm, mrows;
    if (!cs__mul_size(n, n, &nn) || !cs__mul_size(m_eq, n, &men) ||
        !cs__mul_size(m_in, n, &min_) || !cs__mul_size(m_eq, m_eq, &mm) ||
        !cs__add_size(m_eq + m_in, 2 * n, &mrows) || nn > SIZE_MAX / sizeof(double) / 2)
        return CS_ERR_OVERFLOW;
    cs_qp_workspace *w = cs__alloc(&a, sizeof *w);
    if (w == NULL)
        return CS_ERR_NOMEM;
    memset(w, 0, sizeof *w);
    w->alloc = a;
    w->n = n;
    w->me = m_eq;
    w->mi = m_in;
    bool ok = true;
#define QP_ALLOC(field, count)                                                  \
    do {                                                                        \
        size_t cnt_ = (count) > 0 ? (count) : 1;                                \
        w->field = cs__alloc_array(&a, cnt_, sizeof *w->field);                 \
        ok = ok && w->field != NULL;                                            \
    } while (0)
    QP_ALLOC(P, nn);
    QP_ALLOC(M, nn);
    QP_ALLOC(A, men);
    QP_ALLOC(W, men);
    QP_ALLOC(G, min_);
    QP_ALLOC(B, min_);
    QP_ALLOC(S, mm);
    QP_ALLOC(q, n);
    QP_ALLOC(D, n);
    QP_ALLOC(E, m_eq + m_in);
    QP_ALLOC(bv, mrows);
    QP_ALLOC(lidx, n);
    QP_ALLOC(uidx, n);
    QP_ALLOC(x, n);
    QP_ALLOC(dx, n);
    QP_ALLOC(dxa, n);
    QP_ALLOC(x1, n);
    QP_ALLOC(x2, n);
    QP_ALLOC(rx, n);
    QP_ALLOC(Px, n);
    QP_ALLOC(wn1, n);
    QP_ALLOC(wn2, n);
    QP_ALLOC(wn3, n);
    QP_ALLOC(ux, n);
    QP_ALLOC(uzb, n);
    QP_ALLOC(un1, n);
    QP_ALLOC(un2, n);
    QP_ALLOC(s, mrows);
    QP_ALLOC(z, mrows);
    QP_ALLOC(ds, mrows);
    QP_ALLOC(dz, mrows);
    QP_ALLOC(dsa, mrows);
    QP_ALLOC(dza, mrows);
    QP_ALLOC(z1, mrows);
    QP_ALLOC(z2, mrows);
    QP_ALLOC(rz, mrows);
    QP_ALLOC(hs, mrows);
    QP_ALLOC(wm1, mrows);
    QP_ALLOC(wm2, mrows);
    QP_ALLOC(wm3, mrows);
    QP_ALLOC(rhsx, n);
    QP_ALLOC(rhsz, mrows);
    QP_ALLOC(rcv, mrows);
    QP_ALLOC(ud, n);
    QP_ALLOC(bx, n);
    QP_ALLOC(bzb, n);
    QP_ALLOC(by, m_eq);
    QP_ALLOC(bz, m_in);
    QP_ALLOC(rn1, m_eq + m_in);
    QP_ALLOC(uy, m_eq);
    QP_ALLOC(uz, m_in);
    QP_ALLOC(ume, m_eq);
    QP_ALLOC(umi, m_in);
#undef QP_ALLOC
    if (!ok) {
        cs_qp_workspace_destroy(w);
        return CS_ERR_NOMEM;
    }
    *out = w;
    return CS_OK;
}

/* ---- small vector helpers --------------------------------------------------- */

/* max / min without the libm call (fmax is not inlined without fast-math);
 * NaN is not expected here (the data were validated). */
static inline double dmax(double a, double b)
{
    return a > b ? a : b;
}

static inline double dmin(double a, double b)
{
    return a < b ? a : b;
}

static double norm_inf(const double *v, size_t k)
{
    double r = 0;
    for (size_t i = 0; i < k; i++)
        r = dmax(r, fabs(v[i]));
    return r;
}

static double dot(const double *a, const double *b, size_t k)
{
    double r = 0;
    for (size_t i = 0; i < k; i++)
        r += a[i] * b[i];
    return r;
}

/* ---- the stacked constraint matrix (scaled) ------------------------------------ */

/* out (m rows) = A x over all rows: A~ x, G~ x, -x_j (lower), x_j (upper). */
static void stack_mul(const cs_qp_workspace *w, const double *x, double *out)
{
    size_t me = w->me, mi = w->mi, n = w->n;
    if (me > 0)
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)me, (int)n, 1.0, w->A, (int)me, x, 1,
                    0.0, out, 1);
    if (mi > 0)
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)mi, (int)n, 1.0, w->G, (int)mi, x, 1,
                    0.0, out + me, 1);
    double *ol = out + me + mi, *ou = ol + w->ml;
    for (size_t k = 0; k < w->ml; k++)
        ol[k] = -x[w->lidx[k]];
    for (size_t k = 0; k < w->mu; k++)
        ou[k] = x[w->uidx[k]];
}

/* out (n) = beta out + A'z over all rows. */
static void stack_tmul(const cs_qp_workspace *w, const double *z, double beta, double *out)
{
    size_t me = w->me, mi = w->mi, n = w->n;
    if (beta == 0)
        memset(out, 0, n * sizeof *out);
    else if (beta != 1)
        for (size_t j = 0; j < n; j++)
            out[j] *= beta;
    if (me > 0)
        cblas_dgemv(CblasColMajor, CblasTrans, (int)me, (int)n, 1.0, w->A, (int)me, z, 1, 1.0,
                    out, 1);
    if (mi > 0)
        cblas_dgemv(CblasColMajor, CblasTrans, (int)mi, (int)n, 1.0, w->G, (int)mi, z + me, 1,
                    1.0, out, 1);
    const double *zl = z + me + mi, *zu = zl + w->ml;
    for (size_t k = 0; k < w->ml; k++)
        out[w->lidx[k]] -= zl[k];
    for (size_t k = 0; k < w->mu; k++)
        out[w->uidx[k]] += zu[k];
}

static void pmul(const cs_qp_workspace *w, const double *x, double *out)
{
    cblas_dsymv(CblasColMajor, CblasLower, (int)w->n, 1.0, w->P, (int)w->n, x, 1, 0.0, out, 1);
}

/* ---- setup: copy, validate, equilibrate ----------------------------------------- */

static bool all_finite(const double *v, size_t k)
{
    for (size_t i = 0; i < k; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

static double clamp_scale(double v)
{
    return v < 1e-4 ? 1e-4 : (v > 1e4 ? 1e4 : v);
}

/* Copy the problem into the workspace (column-major) and scale it. */
static void setup(cs_qp_workspace *w, const cs_qp_problem *p, const cs_qp_settings *st)
{
    size_t n = w->n, me = w->me, mi = w->mi;
    /* P: the lower triangle of the row-major input, mirrored; A and G
     * transposed to column-major. */
    for (size_t j = 0; j < n; j++)
        for (size_t i = j; i < n; i++) {
            double v = p->P != NULL ? p->P[i * n + j] : 0.0;
            w->P[i + j * n] = v;
            w->P[j + i * n] = v;
        }
    for (size_t r = 0; r < me; r++)
        for (size_t j = 0; j < n; j++)
            w->A[r + j * me] = p->A[r * n + j];
    for (size_t r = 0; r < mi; r++)
        for (size_t j = 0; j < n; j++)
            w->G[r + j * mi] = p->G[r * n + j];
    for (size_t j = 0; j < n; j++) {
        w->q[j] = p->q != NULL ? p->q[j] : 0.0;
        w->D[j] = 1.0;
    }
    for (size_t r = 0; r < me + mi; r++)
        w->E[r] = 1.0;
    w->c = 1.0;

    /* Ruiz: divide every column of the KKT matrix [P A'; A 0] and every
     * constraint row by the square root of its infinity norm, repeatedly,
     * until all those norms are within a factor 2 of 1. The norms of the
     * scaled matrix are read from the unscaled entries and the factors so
     * far; the matrices are scaled once at the end. */
    double *cs = w->wn1, *rs = w->wm1, *D = w->D, *E = w->E;
    for (int it = 0; it < st->equilibrate_iter; it++) {
        for (size_t r = 0; r < me + mi; r++)
            rs[r] = 0;
        double worst = 1;
        for (size_t j = 0; j < n; j++) { /* column and row norms in one pass */
            double c = 0;
            const double *Pj = w->P + j * n, *Aj = w->A + j * me, *Gj = w->G + j * mi;
            for (size_t i = 0; i < n; i++)
                c = dmax(c, fabs(Pj[i]) * D[i]);
            c *= D[j] * w->c;
            for (size_t r = 0; r < me; r++) {
                double v = fabs(Aj[r]) * E[r] * D[j];
                c = dmax(c, v);
                rs[r] = dmax(rs[r], v);
            }
            for (size_t r = 0; r < mi; r++) {
                double v = fabs(Gj[r]) * E[me + r] * D[j];
                c = dmax(c, v);
                rs[me + r] = dmax(rs[me + r], v);
            }
            worst = dmax(worst, c > 0 ? dmax(c, 1 / c) : 1);
            cs[j] = c > 0 ? clamp_scale(1.0 / sqrt(c)) : 1.0;
        }
        for (size_t r = 0; r < me + mi; r++) {
            worst = dmax(worst, rs[r] > 0 ? dmax(rs[r], 1 / rs[r]) : 1);
            rs[r] = rs[r] > 0 ? clamp_scale(1.0 / sqrt(rs[r])) : 1.0;
        }
        if (worst <= 2.0)
            break;
        for (size_t j = 0; j < n; j++)
            D[j] *= cs[j];
        for (size_t r = 0; r < me + mi; r++)
            E[r] *= rs[r];
    }
    for (size_t j = 0; j < n; j++) {
        double *Pj = w->P + j * n, *Aj = w->A + j * me, *Gj = w->G + j * mi;
        for (size_t i = 0; i < n; i++)
            Pj[i] *= D[i] * D[j];
        for (size_t r = 0; r < me; r++)
            Aj[r] *= E[r] * D[j];
        for (size_t r = 0; r < mi; r++)
            Gj[r] *= E[me + r] * D[j];
        w->q[j] *= D[j];
    }
    /* Cost scaling: the objective's columns and q to about unit size. */
    double pc = 0;
    for (size_t j = 0; j < n; j++) {
        double c = 0;
        for (size_t i = 0; i < n; i++)
            c = dmax(c, fabs(w->P[i + j * n]));
        pc += c;
    }
    pc /= (double)n;
    double qn = norm_inf(w->q, n), big = dmax(pc, qn);
    w->c = st->equilibrate_iter > 0 && big > 0 ? clamp_scale(1.0 / big) : 1.0;
    if (w->c != 1.0) {
        for (size_t k = 0; k < n * n; k++)
            w->P[k] *= w->c;
        for (size_t j = 0; j < n; j++)
            w->q[j] *= w->c;
    }
    /* Norms of the scaled data, for the certificate tests. */
    w->pnorm = 0;
    for (size_t j = 0; j < n; j++) {
        double c = 0;
        for (size_t i = 0; i < n; i++)
            c += fabs(w->P[i + j * n]);
        w->pnorm = dmax(w->pnorm, c); /* column sums = row sums: P~ is symmetric */
    }
    for (size_t r = 0; r < me + mi; r++)
        w->rn1[r] = 0;
    for (size_t j = 0; j < n; j++) {
        for (size_t r = 0; r < me; r++)
            w->rn1[r] += fabs(w->A[r + j * me]);
        for (size_t r = 0; r < mi; r++)
            w->rn1[me + r] += fabs(w->G[r + j * mi]);
    }
    /* Right-hand sides and bound rows. */
    for (size_t r = 0; r < me; r++)
        w->bv[r] = w->E[r] * p->b[r];
    for (size_t r = 0; r < mi; r++)
        w->bv[me + r] = w->E[me + r] * p->h[r];
    w->ml = w->mu = 0;
    for (size_t j = 0; j < n; j++)
        if (p->lower != NULL && p->lower[j] > -HUGE_VAL)
            w->lidx[w->ml++] = j;
    for (size_t j = 0; j < n; j++)
        if (p->upper != NULL && p->upper[j] < HUGE_VAL)
            w->uidx[w->mu++] = j;
    double *bl = w->bv + me + mi, *bu = bl + w->ml;
    for (size_t k = 0; k < w->ml; k++)
        bl[k] = -p->lower[w->lidx[k]] / w->D[w->lidx[k]];
    for (size_t k = 0; k < w->mu; k++)
        bu[k] = p->upper[w->uidx[k]] / w->D[w->uidx[k]];
    w->m = me + mi + w->ml + w->mu;
    w->mc = w->m - me;
}

/* ---- the KKT system ------------------------------------------------------------
 *
 *   [ P + delta I   A_e'      A_c'  ] [dx ]   [rx  ]
 *   [ A_e           -delta I   0    ] [dze] = [rz_e]
 *   [ A_c           0         -H    ] [dzc]   [rz_c]
 *
 * with H = diag(s / z) on the cone rows. Eliminating dz_c = H^-1 (A_c dx - rz_c)
 * leaves M = P + delta I + A_c' H^-1 A_c = L L' and the Schur complement of
 * the equalities S = A_e M^-1 A_e' + delta I = L_S L_S'. */

/* Factorise for the current H (w->hs); false when not positive definite. */
static bool factor(cs_qp_workspace *w, double delta)
{
    size_t n = w->n, me = w->me, mi = w->mi;
    int ni = (int)n;
    for (size_t j = 0; j < n; j++)
        memcpy(w->M + j * n + j, w->P + j * n + j, (n - j) * sizeof(double));
    for (size_t j = 0; j < n; j++)
        w->M[j + j * n] += delta;
    const double *hl = w->hs + me + mi, *hu = hl + w->ml;
    for (size_t k = 0; k < w->ml; k++)
        w->M[w->lidx[k] * (n + 1)] += 1.0 / hl[k];
    for (size_t k = 0; k < w->mu; k++)
        w->M[w->uidx[k] * (n + 1)] += 1.0 / hu[k];
    if (mi > 0) {
        const double *hi = w->hs + me;
        for (size_t r = 0; r < mi; r++)
            w->wm3[r] = 1.0 / sqrt(hi[r]);
        for (size_t j = 0; j < n; j++)
            for (size_t r = 0; r < mi; r++)
                w->B[r + j * mi] = w->G[r + j * mi] * w->wm3[r];
        cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, ni, (int)mi, 1.0, w->B, (int)mi,
                    1.0, w->M, ni);
    }
    if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', ni, w->M, ni) != 0)
        return false;
    if (me > 0) {
        for (size_t k = 0; k < me; k++)
            for (size_t j = 0; j < n; j++)
                w->W[j + k * n] = w->A[k + j * me];
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, ni,
                    (int)me, 1.0, w->M, ni, w->W, ni);
        cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)me, ni, 1.0, w->W, ni, 0.0,
                    w->S, (int)me);
        for (size_t k = 0; k < me; k++)
            w->S[k * (me + 1)] += delta;
        if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', (int)me, w->S, (int)me) != 0)
            return false;
    }
    w->delta = delta;
    return true;
}

/* One solve with the factorisation (regularised system). */
static void solve_reduced(cs_qp_workspace *w, const double *rx, const double *rz, double *dx,
                          double *dz)
{
    size_t n = w->n, me = w->me, mi = w->mi, m = w->m;
    int ni = (int)n;
    double *t = w->wm2; /* H^-1 rz on cone rows */
    for (size_t r = me; r < m; r++)
        t[r] = rz[r] / w->hs[r];
    /* rhat = rx + A_c' H^-1 rz_c */
    memcpy(dx, rx, n * sizeof *dx);
    if (mi > 0)
        cblas_dgemv(CblasColMajor, CblasTrans, (int)mi, ni, 1.0, w->G, (int)mi, t + me, 1, 1.0,
                    dx, 1);
    const double *tl = t + me + mi, *tu = tl + w->ml;
    for (size_t k = 0; k < w->ml; k++)
        dx[w->lidx[k]] -= tl[k];
    for (size_t k = 0; k < w->mu; k++)
        dx[w->uidx[k]] += tu[k];
    cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, ni, w->M, ni, dx, 1);
    if (me > 0) {
        /* dz_e = S^-1 (W'u - rz_e); u -= W dz_e */
        cblas_dgemv(CblasColMajor, CblasTrans, ni, (int)me, 1.0, w->W, ni, dx, 1, 0.0, dz, 1);
        for (size_t k = 0; k < me; k++)
            dz[k] -= rz[k];
        cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)me, w->S,
                    (int)me, dz, 1);
        cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, (int)me, w->S,
                    (int)me, dz, 1);
        cblas_dgemv(CblasColMajor, CblasNoTrans, ni, (int)me, -1.0, w->W, ni, dz, 1, 1.0, dx,
                    1);
    }
    cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, ni, w->M, ni, dx, 1);
    /* dz_c = H^-1 (A_c dx - rz_c) */
    if (mi > 0)
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)mi, ni, 1.0, w->G, (int)mi, dx, 1, 0.0,
                    dz + me, 1);
    double *zl = dz + me + mi, *zu = zl + w->ml;
    for (size_t k = 0; k < w->ml; k++)
        zl[k] = -dx[w->lidx[k]];
    for (size_t k = 0; k < w->mu; k++)
        zu[k] = dx[w->uidx[k]];
    for (size_t r = me; r < m; r++)
        dz[r] = (dz[r] - rz[r]) / w->hs[r];
}

/* Residual of the unregularised system at (dx, dz): e = r - K0 (dx, dz). */
static double kkt_residual(cs_qp_workspace *w, const double *rx, const double *rz,
                           const double *dx, const double *dz, double *ex, double *ez)
{
    size_t n = w->n, me = w->me, m = w->m;
    pmul(w, dx, ex);
    stack_tmul(w, dz, 1.0, ex);
    for (size_t j = 0; j < n; j++)
        ex[j] = rx[j] - ex[j];
    stack_mul(w, dx, ez);
    for (size_t r = 0; r < me; r++)
        ez[r] = rz[r] - ez[r];
    for (size_t r = me; r < m; r++)
        ez[r] = rz[r] - (ez[r] - w->hs[r] * dz[r]);
    return dmax(norm_inf(ex, n), norm_inf(ez, m));
}

/* Solve K0 (dx, dz) = (rx, rz) with the regularised factorisation and
 * iterative refinement against the unregularised K0. */
static void solve_kkt(cs_qp_workspace *w, const cs_qp_settings *st, const double *rx,
                      const double *rz, double *dx, double *dz)
{
    size_t n = w->n, m = w->m;
    solve_reduced(w, rx, rz, dx, dz);
    if (st->refine_iter <= 0)
        return;
    double *ex = w->wn2, *ez = w->wm1, *cx = w->wn3, *cz = w->wm3;
    double rnorm = dmax(norm_inf(rx, n), norm_inf(rz, m));
    double err = kkt_residual(w, rx, rz, dx, dz, ex, ez);
    for (int it = 0; it < st->refine_iter && err > 1e-14 * (1 + rnorm); it++) {
        solve_reduced(w, ex, ez, cx, cz);
        /* try the corrected solution; keep it only if it is better */
        for (size_t j = 0; j < n; j++)
            cx[j] += dx[j];
        for (size_t r = 0; r < m; r++)
            cz[r] += dz[r];
        double *fx = w->un1, *fz = w->wm2;
        double err2 = kkt_residual(w, rx, rz, cx, cz, fx, fz);
        if (!(err2 < 0.9 * err)) {
            if (err2 < err) {
                memcpy(dx, cx, n * sizeof *dx);
                memcpy(dz, cz, m * sizeof *dz);
            }
            break;
        }
        memcpy(dx, cx, n * sizeof *dx);
        memcpy(dz, cz, m * sizeof *dz);
        memcpy(ex, fx, n * sizeof *ex);
        memcpy(ez, fz, m * sizeof *ez);
        err = err2;
    }
}

/* ---- unscaled checks ---------------------------------------------------------- */

typedef struct qp_eval {
    double pobj, dobj, pres, dres, gap;
    double pscale, dscale;
} qp_eval;

/* The caller-unit solution from the scaled iterate: x = D x~ / tau, etc. */
static void unscale_iterate(cs_qp_workspace *w, double tau)
{
    size_t n = w->n, me = w->me, mi = w->mi;
    const double *zl = w->z + me + mi, *zu = zl + w->ml;
    for (size_t j = 0; j < n; j++) {
        w->ux[j] = w->D[j] * w->x[j] / tau;
        w->uzb[j] = 0;
    }
    for (size_t r = 0; r < me; r++)
        w->uy[r] = w->E[r] * w->z[r] / (w->c * tau);
    for (size_t r = 0; r < mi; r++)
        w->uz[r] = w->E[me + r] * w->z[me + r] / (w->c * tau);
    for (size_t k = 0; k < w->ml; k++) {
        size_t j = w->lidx[k];
        w->uzb[j] -= zl[k] / (w->c * w->D[j] * tau);
    }
    for (size_t k = 0; k < w->mu; k++) {
        size_t j = w->uidx[k];
        w->uzb[j] += zu[k] / (w->c * w->D[j] * tau);
    }
}

/* KKT residuals of (ux, uy, uz, uzb) on the caller's data. */
static void evaluate(cs_qp_workspace *w, const cs_qp_problem *p, qp_eval *ev)
{
    size_t n = w->n, me = w->me, mi = w->mi;
    int ni = (int)n;
    const double *x = w->ux;
    double *px = w->un1, *r = w->un2;
    if (p->P != NULL)
        cblas_dsymv(CblasRowMajor, CblasLower, ni, 1.0, p->P, ni, x, 1, 0.0, px, 1);
    else
        memset(px, 0, n * sizeof *px);
    double xpx = dot(x, px, n), qx = p->q != NULL ? dot(p->q, x, n) : 0.0;
    ev->pobj = 0.5 * xpx + qx;
    double pres = 0, pscale = norm_inf(x, n);
    /* equalities */
    if (me > 0) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)me, ni, 1.0, p->A, ni, x, 1, 0.0, w->ume,
                    1);
        pscale = dmax(pscale, dmax(norm_inf(w->ume, me), norm_inf(p->b, me)));
        for (size_t k = 0; k < me; k++)
            pres = dmax(pres, fabs(w->ume[k] - p->b[k]));
    }
    if (mi > 0) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)mi, ni, 1.0, p->G, ni, x, 1, 0.0, w->umi,
                    1);
        pscale = dmax(pscale, dmax(norm_inf(w->umi, mi), norm_inf(p->h, mi)));
        for (size_t k = 0; k < mi; k++)
            pres = dmax(pres, w->umi[k] - p->h[k]);
    }
    for (size_t j = 0; j < n; j++) {
        if (p->lower != NULL && p->lower[j] > -HUGE_VAL) {
            pres = dmax(pres, p->lower[j] - x[j]);
            pscale = dmax(pscale, fabs(p->lower[j]));
        }
        if (p->upper != NULL && p->upper[j] < HUGE_VAL) {
            pres = dmax(pres, x[j] - p->upper[j]);
            pscale = dmax(pscale, fabs(p->upper[j]));
        }
    }
    /* stationarity: P x + q + A'y + G'z + z_bound */
    double dscale = dmax(norm_inf(px, n), p->q != NULL ? norm_inf(p->q, n) : 0.0);
    dscale = dmax(dscale, norm_inf(w->uzb, n));
    memcpy(r, px, n * sizeof *r);
    if (p->q != NULL)
        for (size_t j = 0; j < n; j++)
            r[j] += p->q[j];
    double *t = w->wn3;
    if (me > 0) {
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)me, ni, 1.0, p->A, ni, w->uy, 1, 0.0, t, 1);
        dscale = dmax(dscale, norm_inf(t, n));
        for (size_t j = 0; j < n; j++)
            r[j] += t[j];
    }
    if (mi > 0) {
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)mi, ni, 1.0, p->G, ni, w->uz, 1, 0.0, t, 1);
        dscale = dmax(dscale, norm_inf(t, n));
        for (size_t j = 0; j < n; j++)
            r[j] += t[j];
    }
    for (size_t j = 0; j < n; j++)
        r[j] += w->uzb[j];
    ev->dres = norm_inf(r, n);
    ev->pres = pres;
    ev->pscale = pscale;
    ev->dscale = dscale;
    /* dual objective */
    double d = -0.5 * xpx;
    if (me > 0)
        d -= dot(p->b, w->uy, me);
    if (mi > 0)
        d -= dot(p->h, w->uz, mi);
    for (size_t j = 0; j < n; j++) {
        double zb = w->uzb[j];
        if (zb > 0)
            d -= p->upper[j] * zb; /* a positive z_bound exists only with a finite upper */
        else if (zb < 0)
            d += p->lower[j] * -zb;
    }
    ev->dobj = d;
    ev->gap = fabs(ev->pobj - ev->dobj);
}

/* The largest of the three residuals over its tolerance: <= 1 is solved. */
static double merit(const qp_eval *ev, const cs_qp_settings *st)
{
    double ea = st->eps_abs, er = st->eps_rel;
    double a = ev->pres / (ea + er * ev->pscale), b = ev->dres / (ea + er * ev->dscale);
    double c = ev->gap / (ea + er * dmax(fabs(ev->pobj), fabs(ev->dobj)));
    double r = dmax(a, dmax(b, c));
    return isnan(r) ? HUGE_VAL : r;
}

/* Primal infeasibility. The scaled z~ is a certificate when b~'z~ < 0 and
 * A~'z~ = 0 (z~ >= 0 on the cone rows holds by construction); the test is
 * made on the equilibrated data, where a normwise tolerance is meaningful,
 * relative to the size of the terms of A~'z~. The certificate is then given
 * in caller units, (y, z, z_bound) = (E z~_e, E z~_i, bound rows / D),
 * normalised so that b'y + h'z + sum (u z+ - l z-) = -1. Leaves it in uy,
 * uz, uzb when true. */
static bool primal_certificate(cs_qp_workspace *w, const cs_qp_problem *p, double eps)
{
    size_t n = w->n, me = w->me, mi = w->mi, m = w->m;
    double bz = dot(w->bv, w->z, m);
    if (!(bz < 0) || !isfinite(bz))
        return false;
    double *r = w->un1, *sc = w->un2;
    stack_tmul(w, w->z, 0.0, r);
    /* |A~|'|z~|, the size of the terms that must cancel */
    const double *zl = w->z + me + mi, *zu = zl + w->ml;
    for (size_t j = 0; j < n; j++) {
        double a = 0;
        for (size_t k = 0; k < me; k++)
            a += fabs(w->A[k + j * me] * w->z[k]);
        for (size_t k = 0; k < mi; k++)
            a += fabs(w->G[k + j * mi] * w->z[me + k]);
        sc[j] = a;
    }
    for (size_t k = 0; k < w->ml; k++)
        sc[w->lidx[k]] += fabs(zl[k]);
    for (size_t k = 0; k < w->mu; k++)
        sc[w->uidx[k]] += fabs(zu[k]);
    if (!(norm_inf(r, n) <= eps * norm_inf(sc, n)))
        return false;
    /* in caller units */
    for (size_t k = 0; k < me; k++)
        w->uy[k] = w->E[k] * w->z[k];
    for (size_t k = 0; k < mi; k++)
        w->uz[k] = w->E[me + k] * w->z[me + k];
    for (size_t j = 0; j < n; j++)
        w->uzb[j] = 0;
    for (size_t k = 0; k < w->ml; k++)
        w->uzb[w->lidx[k]] -= zl[k] / w->D[w->lidx[k]];
    for (size_t k = 0; k < w->mu; k++)
        w->uzb[w->uidx[k]] += zu[k] / w->D[w->uidx[k]];
    double t = 0;
    if (me > 0)
        t += dot(p->b, w->uy, me);
    if (mi > 0)
        t += dot(p->h, w->uz, mi);
    for (size_t j = 0; j < n; j++) {
        double zb = w->uzb[j];
        if (zb > 0)
            t += p->upper[j] * zb;
        else if (zb < 0)
            t -= p->lower[j] * -zb;
    }
    if (!(t < 0) || !isfinite(t))
        return false;
    double f = -1.0 / t;
    for (size_t k = 0; k < me; k++)
        w->uy[k] *= f;
    for (size_t k = 0; k < mi; k++)
        w->uz[k] *= f;
    for (size_t j = 0; j < n; j++)
        w->uzb[j] *= f;
    return true;
}

/* Dual infeasibility. The scaled x~ is a direction of unbounded descent when
 * q~'x~ < 0, P~x~ = 0, A~_e x~ = 0 and A~_c x~ <= 0 (cone rows, bounds
 * included); tested on the equilibrated data relative to the norms of its
 * rows and of x~. Given in caller units d = D x~ normalised to q'd = -1, in
 * ud, when true. */
static bool dual_certificate(cs_qp_workspace *w, const cs_qp_problem *p, double eps)
{
    size_t n = w->n, me = w->me, mi = w->mi, m = w->m;
    const double *x = w->x;
    double qx = dot(w->q, x, n);
    if (!(qx < 0) || !isfinite(qx) || p->q == NULL)
        return false;
    double xn = norm_inf(x, n) / -qx; /* |d~| after normalising q~'d~ = -1 */
    double *px = w->un1, *ax = w->wm3;
    pmul(w, x, px);
    if (!(norm_inf(px, n) / -qx <= eps * w->pnorm * xn))
        return false;
    stack_mul(w, x, ax);
    for (size_t k = 0; k < m; k++) {
        double v = ax[k] / -qx;
        double rn = k < me + mi ? w->rn1[k] : 1.0; /* bound rows are unit rows */
        double tol = eps * rn * xn;
        if (k < me ? !(fabs(v) <= tol) : !(v <= tol))
            return false;
    }
    double *d = w->ud;
    for (size_t j = 0; j < n; j++)
        d[j] = w->D[j] * x[j];
    double qd = dot(p->q, d, n);
    if (!(qd < 0) || !isfinite(qd))
        return false;
    for (size_t j = 0; j < n; j++)
        d[j] /= -qd;
    (void)mi;
    return true;
}

/* ---- the interior point method ---------------------------------------------------- */

/* Largest alpha in (0, 1] keeping the cone parts of s, z and tau, kappa >= 0. */
static double step_length(const cs_qp_workspace *w, const double *ds, const double *dz,
                          double dtau, double dkappa, double tau, double kappa)
{
    double a = 1.0;
    for (size_t r = w->me; r < w->m; r++) {
        if (ds[r] < 0)
            a = dmin(a, -w->s[r] / ds[r]);
        if (dz[r] < 0)
            a = dmin(a, -w->z[r] / dz[r]);
    }
    if (dtau < 0)
        a = dmin(a, -tau / dtau);
    if (dkappa < 0)
        a = dmin(a, -kappa / dkappa);
    return a;
}

/* Remember the current candidate (ux, uy, uz, uzb) as the best one. */
static void save_best(cs_qp_workspace *w)
{
    memcpy(w->bx, w->ux, w->n * sizeof(double));
    memcpy(w->bzb, w->uzb, w->n * sizeof(double));
    if (w->me > 0)
        memcpy(w->by, w->uy, w->me * sizeof(double));
    if (w->mi > 0)
        memcpy(w->bz, w->uz, w->mi * sizeof(double));
}

static void restore_best(cs_qp_workspace *w)
{
    memcpy(w->ux, w->bx, w->n * sizeof(double));
    memcpy(w->uzb, w->bzb, w->n * sizeof(double));
    if (w->me > 0)
        memcpy(w->uy, w->by, w->me * sizeof(double));
    if (w->mi > 0)
        memcpy(w->uz, w->bz, w->mi * sizeof(double));
}

/* Copy the unscaled candidate (ux, uy, uz, uzb) and its evaluation out. */
static void write_solution(const cs_qp_workspace *w, const qp_eval *ev, int iters,
                           cs_qp_result *res)
{
    memcpy(res->x, w->ux, w->n * sizeof(double));
    if (res->y != NULL && w->me > 0)
        memcpy(res->y, w->uy, w->me * sizeof(double));
    if (res->z != NULL && w->mi > 0)
        memcpy(res->z, w->uz, w->mi * sizeof(double));
    if (res->z_bound != NULL)
        memcpy(res->z_bound, w->uzb, w->n * sizeof(double));
    res->objective = ev->pobj;
    res->dual_objective = ev->dobj;
    res->primal_residual = ev->pres;
    res->dual_residual = ev->dres;
    res->gap = ev->gap;
    res->iterations = iters;
}

static cs_status validate(const cs_qp_workspace *w, const cs_qp_problem *p,
                          const cs_qp_settings *st)
{
    size_t n = p->n, me = p->m_eq, mi = p->m_in;
    if (n != w->n || me != w->me || mi != w->mi)
        return CS_ERR_DIMENSION;
    if ((me > 0 && (p->A == NULL || p->b == NULL)) || (mi > 0 && (p->G == NULL || p->h == NULL)))
        return CS_ERR_INVALID;
    if ((p->P != NULL && !all_finite(p->P, n * n)) || (p->q != NULL && !all_finite(p->q, n)) ||
        (me > 0 && (!all_finite(p->A, me * n) || !all_finite(p->b, me))) ||
        (mi > 0 && (!all_finite(p->G, mi * n) || !all_finite(p->h, mi))))
        return CS_ERR_INVALID;
    for (size_t j = 0; j < n; j++) {
        double l = p->lower != NULL ? p->lower[j] : -HUGE_VAL;
        double u = p->upper != NULL ? p->upper[j] : HUGE_VAL;
        if (!(l <= u) || l == HUGE_VAL || u == -HUGE_VAL)
            return CS_ERR_INVALID;
    }
    if (!(st->eps_abs > 0 && st->eps_abs < 1) || !(st->eps_rel > 0 && st->eps_rel < 1) ||
        !(st->eps_infeasible > 0 && st->eps_infeasible < 1) || st->max_iter < 1 ||
        st->equilibrate_iter < 0 || st->refine_iter < 0 ||
        !(st->static_reg >= 0 && st->static_reg < 1))
        return CS_ERR_INVALID;
    return CS_OK;
}

cs_status cs_qp_solve(cs_qp_workspace *ws, const cs_qp_problem *problem,
                      const cs_qp_settings *settings, cs_qp_result *result)
{
    cs_qp_problem p;
    cs_qp_settings st;
    cs_qp_result res;
    if (ws == NULL || result == NULL ||
        !cs__struct_import(&p, problem, sizeof p, sizeof p, &problem_defaults) ||
        !cs__struct_import(&res, result, sizeof res, sizeof res, &result_defaults))
        return CS_ERR_INVALID;
    if (settings == NULL)
        st = settings_defaults;
    else if (!cs__struct_import(&st, settings, sizeof st, sizeof st, &settings_defaults))
        return CS_ERR_INVALID;
    if (res.x == NULL)
        return CS_ERR_INVALID;
    cs_status status = validate(ws, &p, &st);
    if (status != CS_OK)
        return status;

    cs_qp_workspace *w = ws;
    setup(w, &p, &st);
    size_t n = w->n, me = w->me, m = w->m, mc = w->mc;
    double *x = w->x, *s = w->s, *z = w->z;

    /* Initial point: solve with H = I, s = -z on the cone rows, then shift
     * both into the interior (as CVXOPT and Clarabel do). */
    for (size_t r = 0; r < m; r++)
        w->hs[r] = 1.0;
    double delta = st.static_reg;
    int tries = 0;
    while (!factor(w, delta)) {
        delta = delta > 0 ? delta * 100 : 1e-10;
        if (++tries > 8)
            return CS_ERR_NUMERIC;
    }
    for (size_t j = 0; j < n; j++)
        w->rhsx[j] = -w->q[j];
    solve_kkt(w, &st, w->rhsx, w->bv, x, z);
    for (size_t r = 0; r < me; r++)
        s[r] = 0;
    double smin = HUGE_VAL, zmin = HUGE_VAL;
    for (size_t r = me; r < m; r++) {
        s[r] = -z[r];
        smin = dmin(smin, s[r]);
        zmin = dmin(zmin, z[r]);
    }
    for (size_t r = me; r < m; r++) {
        if (smin <= 0)
            s[r] += 1.0 - smin;
        if (zmin <= 0)
            z[r] += 1.0 - zmin;
    }
    double tau = 1.0, kappa = 1.0;

    qp_eval ev, best_ev;
    double best = HUGE_VAL;
    int iter = 0, stalls = 0, best_iter = 0;
    cs_status final = CS_ERR_NOT_CONVERGED;
    for (;; iter++) {
        /* residuals (scaled) */
        pmul(w, x, w->Px);
        stack_tmul(w, z, 0.0, w->rx);
        for (size_t j = 0; j < n; j++)
            w->rx[j] += w->Px[j] + w->q[j] * tau;
        stack_mul(w, x, w->rz);
        for (size_t r = 0; r < m; r++)
            w->rz[r] += s[r] - w->bv[r] * tau;
        double xpx = dot(x, w->Px, n), qx = dot(w->q, x, n), bz = dot(w->bv, z, m);
        double rt = qx + bz + xpx / tau + kappa;
        double sz = 0;
        for (size_t r = me; r < m; r++)
            sz += s[r] * z[r];
        double mu = (sz + tau * kappa) / (double)(mc + 1);

        /* solved? decided on the caller's data */
        unscale_iterate(w, tau);
        evaluate(w, &p, &ev);
        double mr = merit(&ev, &st);
        if (mr <= 1) {
            final = CS_OK;
            break;
        }
        if (mr < 0.5 * best) { /* the best candidate, should the method stall */
            best = mr;
            best_ev = ev;
            best_iter = iter;
            save_best(w);
        } else if (iter - best_iter >= (tau > kappa ? 10 : 30)) {
            /* stalled: no halving of the residuals in 10 iterations while the
             * problem looks solvable (tau > kappa), or in 30 otherwise (an
             * infeasibility certificate may still be forming) */
            break;
        }
        /* Infeasible or unbounded? Certificates, also checked on the caller's
         * data. The embedding leans that way when tau falls below kappa; a
         * solvable problem keeps tau > kappa -> 0 near its solution. */
        bool suspect = tau < kappa;
        if (suspect && primal_certificate(w, &p, st.eps_infeasible)) {
            if (res.y != NULL && me > 0)
                memcpy(res.y, w->uy, me * sizeof(double));
            if (res.z != NULL && w->mi > 0)
                memcpy(res.z, w->uz, w->mi * sizeof(double));
            if (res.z_bound != NULL)
                memcpy(res.z_bound, w->uzb, n * sizeof(double));
            res.iterations = iter;
            res.objective = res.dual_objective = HUGE_VAL;
            res.primal_residual = res.dual_residual = res.gap = HUGE_VAL;
            memcpy(result, &res, sizeof res);
            return CS_ERR_INFEASIBLE;
        }
        if (suspect && dual_certificate(w, &p, st.eps_infeasible)) {
            memcpy(res.x, w->ud, n * sizeof(double));
            res.iterations = iter;
            res.objective = res.dual_objective = -HUGE_VAL;
            res.primal_residual = res.dual_residual = res.gap = HUGE_VAL;
            memcpy(result, &res, sizeof res);
            return CS_ERR_UNBOUNDED;
        }
        if (iter >= st.max_iter)
            break;

        /* factorise for H = s / z */
        for (size_t r = me; r < m; r++)
            w->hs[r] = s[r] / z[r];
        delta = st.static_reg;
        tries = 0;
        while (!factor(w, delta)) {
            delta = delta > 0 ? delta * 100 : 1e-10;
            if (++tries > 8)
                break;
        }
        if (tries > 8) {
            final = CS_ERR_NUMERIC;
            break;
        }

        /* constant part: K (x2, z2) = (-q, b) */
        for (size_t j = 0; j < n; j++)
            w->rhsx[j] = -w->q[j];
        solve_kkt(w, &st, w->rhsx, w->bv, w->x2, w->z2);
        /* Denominator of dtau: (q + 2 P xi)'x2 + b'z2 - xi'P xi - kappa / tau,
         * xi = x / tau. For the exact K it equals
         * -[(x2 - xi)'P(x2 - xi) + z2'H z2 + kappa / tau] < 0, but it must be
         * computed from the x2, z2 actually obtained: along directions that
         * only the regularisation makes non-singular (a free variable with no
         * curvature), x2 is of order 1 / delta and the omitted delta |x2|^2
         * term dominates. Should rounding make it non-negative, fall back on
         * the exact-K form. */
        double den = dot(w->q, w->x2, n) + 2.0 / tau * dot(w->Px, w->x2, n) +
                     dot(w->bv, w->z2, m) - dot(x, w->Px, n) / (tau * tau) - kappa / tau;
        if (!(den < 0)) {
            for (size_t j = 0; j < n; j++)
                w->wn1[j] = w->x2[j] - x[j] / tau;
            pmul(w, w->wn1, w->wn2);
            den = dot(w->wn1, w->wn2, n) + kappa / tau;
            for (size_t r = me; r < m; r++)
                den += w->hs[r] * w->z2[r] * w->z2[r];
            den = -den;
        }

        /* predictor (sigma = 0) then corrector: two passes of the same solve */
        double dtau = 0, dkappa = 0, dtau_a = 0, dkappa_a = 0, alpha = 0, sigma = 0;
        for (int pass = 0; pass < 2; pass++) {
            double eta = pass == 0 ? 1.0 : 1.0 - sigma;
            double smu = pass == 0 ? 0.0 : sigma * mu;
            double *rc = w->rcv; /* complementarity right-hand side on cone rows */
            for (size_t r = me; r < m; r++) {
                rc[r] = smu - s[r] * z[r];
                if (pass == 1)
                    rc[r] -= w->dsa[r] * w->dza[r];
            }
            double rk = smu - tau * kappa - (pass == 1 ? dtau_a * dkappa_a : 0.0);
            for (size_t j = 0; j < n; j++)
                w->rhsx[j] = -eta * w->rx[j];
            for (size_t r = 0; r < me; r++)
                w->rhsz[r] = -eta * w->rz[r];
            for (size_t r = me; r < m; r++)
                w->rhsz[r] = -eta * w->rz[r] - rc[r] / z[r];
            solve_kkt(w, &st, w->rhsx, w->rhsz, w->x1, w->z1);
            /* dtau from the tau equation */
            double num = -eta * rt - rk / tau - dot(w->q, w->x1, n) -
                         2.0 / tau * dot(w->Px, w->x1, n) - dot(w->bv, w->z1, m);
            double dt = num / den;
            double *ddx = pass == 0 ? w->dxa : w->dx, *ddz = pass == 0 ? w->dza : w->dz;
            double *dds = pass == 0 ? w->dsa : w->ds;
            for (size_t j = 0; j < n; j++)
                ddx[j] = w->x1[j] + dt * w->x2[j];
            for (size_t r = 0; r < m; r++)
                ddz[r] = w->z1[r] + dt * w->z2[r];
            for (size_t r = 0; r < me; r++)
                dds[r] = 0;
            for (size_t r = me; r < m; r++)
                dds[r] = (rc[r] - s[r] * ddz[r]) / z[r];
            double dk = (rk - kappa * dt) / tau;
            double a = step_length(w, dds, ddz, dt, dk, tau, kappa);
            if (pass == 0) {
                dtau_a = dt;
                dkappa_a = dk;
                sigma = (1 - a) * (1 - a) * (1 - a);
            } else {
                dtau = dt;
                dkappa = dk;
                alpha = 0.99 * a;
            }
        }
        /* take the step */
        for (size_t j = 0; j < n; j++)
            x[j] += alpha * w->dx[j];
        for (size_t r = 0; r < m; r++) {
            z[r] += alpha * w->dz[r];
            s[r] += alpha * w->ds[r];
        }
        tau += alpha * dtau;
        kappa += alpha * dkappa;
        /* keep the homogeneous iterate at unit size: only the ray matters */
        double big = dmax(tau, kappa);
        if (big > 1e3 || big < 1e-3) {
            for (size_t j = 0; j < n; j++)
                x[j] /= big;
            for (size_t r = 0; r < m; r++) {
                z[r] /= big;
                s[r] /= big;
            }
            tau /= big;
            kappa /= big;
        }
        stalls = alpha < 1e-8 ? stalls + 1 : 0;
        if (stalls >= 5 || !isfinite(tau) || !isfinite(kappa) || !(tau > 0)) {
            final = CS_ERR_NUMERIC;
            break;
        }
    }
    if (final != CS_OK) {
        /* not solved: report the best candidate seen (the last ones may be
         * noise once rounding dominates) */
        if (best == HUGE_VAL)
            return final; /* nothing sensible to report */
        restore_best(w);
        ev = best_ev;
    }
    write_solution(w, &ev, iter, &res);
    memcpy(result, &res, sizeof res);
    return final;
}
