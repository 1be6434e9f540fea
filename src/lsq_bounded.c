/* Bounded least squares: one Householder QR reduces the problem to
 * min ||R_s c - (Q'y)_top|| with box constraints, solved by an active-set
 * method (Lawson-Hanson NNLS generalised to two-sided bounds). */
#include "cloudsched/lsq.h"

#include <float.h>

#include "internal.h"
#include "lsq_internal.h"

enum { BV_FREE = 0, BV_LOWER = 1, BV_UPPER = 2 };

/* z = argmin || R_F z_F - (dv - R_B x_B) || over the free set F, z_B = x_B,
 * by a QR of the free columns of R (at most p' x p'). */
static cs_status bvls_subproblem(cs_lsq *ws, const double *dv)
{
    const size_t pp = ws->pp, lda = ws->lda;
    const double *R = ws->a;
    lapack_int *idx = ws->iwork;
    size_t nf = 0;
    for (size_t j = 0; j < pp; j++)
        if (ws->bv_state[j] == BV_FREE)
            idx[nf++] = (lapack_int)j;
    for (size_t i = 0; i < pp; i++)
        ws->bv_rhs[i] = dv[i];
    for (size_t j = 0; j < pp; j++) {
        ws->bv_z[j] = ws->bv_x[j];
        if (ws->bv_state[j] == BV_FREE || ws->bv_x[j] == 0.0)
            continue;
        for (size_t i = 0; i <= j; i++)
            ws->bv_rhs[i] -= R[i + j * lda] * ws->bv_x[j];
    }
    if (nf == 0)
        return CS_OK;
    for (size_t t = 0; t < nf; t++) {
        size_t j = (size_t)idx[t];
        double *col = ws->bv_r + t * pp;
        for (size_t i = 0; i < pp; i++)
            col[i] = i <= j ? R[i + j * lda] : 0.0;
    }
    lapack_int ipp = (lapack_int)pp, inf = (lapack_int)nf;
    lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, ipp, inf, ws->bv_r, ipp,
                                          ws->bv_tau, ws->work, ws->lwork);
    if (info == 0)
        info = LAPACKE_dormqr_work(LAPACK_COL_MAJOR, 'L', 'T', ipp, 1, inf, ws->bv_r, ipp,
                                   ws->bv_tau, ws->bv_rhs, ipp, ws->work, ws->lwork);
    if (info == 0)
        info = LAPACKE_dtrtrs_work(LAPACK_COL_MAJOR, 'U', 'N', 'N', inf, 1, ws->bv_r, ipp,
                                   ws->bv_rhs, ipp);
    if (info != 0)
        return CS_ERR_SINGULAR;
    for (size_t t = 0; t < nf; t++)
        ws->bv_z[idx[t]] = ws->bv_rhs[t];
    return CS_OK;
}

/* Bounded-variable least squares on the reduced triangular system
 * min ||R x - dv||, bv_lo <= x <= bv_hi (scaled coordinates). Lawson and
 * Hanson's NNLS active-set scheme with two-sided bounds (Stark and Parker,
 * "Bounded-variable least-squares", Comput. Stat. 1995): free the bound
 * variable whose gradient points most into the box, solve on the free set,
 * and step back to the box when that solution leaves it. A freed variable
 * whose subproblem value does not move into the box is put back and
 * blocked until x changes (the usual guard against cycling on rounding). */
static cs_status bvls(cs_lsq *ws, const double *dv, size_t *nfree_out)
{
    const size_t pp = ws->pp, lda = ws->lda;
    const double *R = ws->a;
    double *x = ws->bv_x, *z = ws->bv_z, *g = ws->bv_g;
    const double *lo = ws->bv_lo, *hi = ws->bv_hi;
    unsigned char *state = ws->bv_state, *blocked = ws->bv_blocked;
    const size_t none = (size_t)-1;
    size_t nfree = 0;

    for (size_t j = 0; j < pp; j++) {
        blocked[j] = 0;
        if (isfinite(lo[j])) {
            x[j] = lo[j];
            state[j] = BV_LOWER;
        } else if (isfinite(hi[j])) {
            x[j] = hi[j];
            state[j] = BV_UPPER;
        } else {
            x[j] = 0.0;
            state[j] = BV_FREE;
            nfree++;
        }
    }
    const double dnorm = sqrt(cs__lsq_sumsq(dv, pp));
    const size_t max_iter = 10 * pp + 50;
    bool need_solve = nfree > 0;
    size_t fresh = none;
    unsigned char fresh_origin = BV_LOWER;

    for (size_t iter = 0;;) {
        if (!need_solve) {
            /* g = R'(dv - R x): the descent direction of 1/2 ||R x - dv||^2 */
            double xnorm = sqrt(cs__lsq_sumsq(x, pp));
            for (size_t i = 0; i < pp; i++) {
                double acc = dv[i];
                for (size_t j = i; j < pp; j++)
                    acc -= R[i + j * lda] * x[j];
                ws->bv_rhs[i] = acc;
            }
            for (size_t j = 0; j < pp; j++) {
                double acc = 0.0;
                for (size_t i = 0; i <= j; i++)
                    acc += R[i + j * lda] * ws->bv_rhs[i];
                g[j] = acc;
            }
            double tol = 16.0 * (double)pp * DBL_EPSILON * (dnorm + xnorm);
            size_t best = none;
            double bestv = 0.0;
            for (size_t j = 0; j < pp; j++) {
                if (state[j] == BV_FREE || blocked[j])
                    continue;
                double v = state[j] == BV_LOWER ? g[j] : -g[j];
                if (v > tol && v > bestv) {
                    bestv = v;
                    best = j;
                }
            }
            if (best == none)
                break;
            fresh = best;
            fresh_origin = state[best];
            state[best] = BV_FREE;
        }
        if (++iter > max_iter)
            return CS_ERR_NOT_CONVERGED;
        cs_status st = bvls_subproblem(ws, dv);
        if (st != CS_OK)
            return st;
        if (fresh != none) {
            bool inward = fresh_origin == BV_LOWER ? z[fresh] > lo[fresh]
                                                    : z[fresh] < hi[fresh];
            if (!inward) {
                state[fresh] = fresh_origin;
                blocked[fresh] = 1;
                fresh = none;
                need_solve = false;
                continue;
            }
            fresh = none;
        }
        /* Largest step towards z that stays in the box. */
        double alpha = 1.0;
        size_t jmin = none;
        unsigned char jmin_state = BV_LOWER;
        for (size_t j = 0; j < pp; j++) {
            if (state[j] != BV_FREE)
                continue;
            if (z[j] < lo[j]) {
                double t = (lo[j] - x[j]) / (z[j] - x[j]);
                if (t < alpha) {
                    alpha = t;
                    jmin = j;
                    jmin_state = BV_LOWER;
                }
            } else if (z[j] > hi[j]) {
                double t = (hi[j] - x[j]) / (z[j] - x[j]);
                if (t < alpha) {
                    alpha = t;
                    jmin = j;
                    jmin_state = BV_UPPER;
                }
            }
        }
        for (size_t j = 0; j < pp; j++)
            blocked[j] = 0;
        if (jmin == none) {
            for (size_t j = 0; j < pp; j++)
                if (state[j] == BV_FREE)
                    x[j] = z[j];
            need_solve = false;
            continue;
        }
        if (alpha < 0.0)
            alpha = 0.0;
        for (size_t j = 0; j < pp; j++) {
            if (state[j] != BV_FREE)
                continue;
            x[j] += alpha * (z[j] - x[j]);
            if (j == jmin) {
                state[j] = jmin_state;
                x[j] = jmin_state == BV_LOWER ? lo[j] : hi[j];
            } else if (z[j] < lo[j] && x[j] <= lo[j]) {
                state[j] = BV_LOWER;
                x[j] = lo[j];
            } else if (z[j] > hi[j] && x[j] >= hi[j]) {
                state[j] = BV_UPPER;
                x[j] = hi[j];
            }
        }
        nfree = 0;
        for (size_t j = 0; j < pp; j++)
            nfree += state[j] == BV_FREE;
        need_solve = nfree > 0;
    }
    nfree = 0;
    for (size_t j = 0; j < pp; j++)
        nfree += state[j] == BV_FREE;
    *nfree_out = nfree;
    return CS_OK;
}

cs_status cs_lsq_fit_bounded(cs_lsq *ws, cs_lsq_layout layout, const double *x,
                             size_t ldx, const double *y, size_t ldy, const double *w,
                             const double *lower, const double *upper, double *coef,
                             size_t ldcoef, cs_lsq_stats *stats)
{
    fit_in in = {layout, x, ldx, y, ldy, w, ws != NULL && ws->opts.intercept, false, 0.0, 0.0};
    cs_status st = cs__lsq_validate_fit_call(ws, &in, coef, ldcoef, stats);
    if (st != CS_OK)
        return st;
    const size_t pp = ws->pp, nrhs = ws->nrhs;
    for (size_t j = 0; j < pp; j++) {
        double l = lower ? lower[j] : -CS__INF;
        double u = upper ? upper[j] : CS__INF;
        if (isnan(l) || isnan(u) || l == CS__INF || u == -CS__INF || l > u)
            return CS_ERR_INVALID;
    }
    if (ws->m < pp)
        return CS_ERR_DIMENSION;
    if (!cs__lsq_load_weights(ws, w))
        return CS_ERR_INVALID;
    if (!cs__lsq_fill_system(ws, &in, false))
        return CS_ERR_INVALID;
    lapack_int m = (lapack_int)ws->m, ipp = (lapack_int)pp;
    lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, m, ipp, ws->a,
                                          (lapack_int)ws->lda, ws->tau, ws->work, ws->lwork);
    if (info == 0)
        info = LAPACKE_dormqr_work(LAPACK_COL_MAJOR, 'L', 'T', m, (lapack_int)nrhs, ipp,
                                   ws->a, (lapack_int)ws->lda, ws->tau, ws->b,
                                   (lapack_int)ws->ldb, ws->work, ws->lwork);
    if (info != 0)
        return CS_ERR_NUMERIC;
    cs__lsq_scale_r(ws);
    st = cs__lsq_check_r(ws);
    if (st != CS_OK)
        return st;
    /* ws->sebuf is free here: it keeps the per-rhs count of free coefficients */
    for (size_t k = 0; k < nrhs; k++) {
        const double *dv = ws->b + k * ws->ldb;
        for (size_t j = 0; j < pp; j++) {
            double l = lower ? lower[j] : -CS__INF;
            double u = upper ? upper[j] : CS__INF;
            ws->bv_lo[j] = isfinite(l) ? l * ws->d[j] : l;
            ws->bv_hi[j] = isfinite(u) ? u * ws->d[j] : u;
        }
        size_t nfree = 0;
        st = bvls(ws, dv, &nfree);
        if (st != CS_OK)
            return st;
        for (size_t j = 0; j < pp; j++)
            ws->cbuf[j + k * pp] = ws->bv_x[j] / ws->d[j];
        ws->sebuf[k] = (double)nfree;
        if (stats != NULL && ws->m == ws->n) {
            /* ||R c - dv||^2 + tail^2: the residual of the reduced problem */
            double acc = 0.0;
            for (size_t i = 0; i < pp; i++) {
                double e = dv[i];
                for (size_t j = i; j < pp; j++)
                    e -= ws->a[i + j * ws->lda] * ws->bv_x[j];
                acc += e * e;
            }
            ws->rss[k] = acc + cs__lsq_sumsq(dv + pp, ws->m - pp);
        }
    }
    if (!cs__all_finite(ws->cbuf, pp * nrhs))
        return CS_ERR_NUMERIC;
    if (stats != NULL) {
        if (ws->m != ws->n)
            cs__lsq_rss_direct(ws, &in);
        cs__lsq_compute_tss(ws, &in);
    }
    cs__lsq_store_matrix(layout, coef, ldcoef, ws->cbuf, pp, nrhs);
    if (stats != NULL) {
        for (size_t k = 0; k < nrhs; k++) {
            cs_lsq_stats s;
            cs__lsq_make_stats(ws, k, in.centred, (double)ws->n_used - ws->sebuf[k], pp, &s);
            cs__lsq_stats_store(stats, k, &s);
        }
    }
    return CS_OK;
}

cs_status cs_lsq_fit_nnls(cs_lsq *ws, cs_lsq_layout layout, const double *x, size_t ldx,
                          const double *y, size_t ldy, const double *w, double *coef,
                          size_t ldcoef, cs_lsq_stats *stats)
{
    if (ws == NULL)
        return CS_ERR_INVALID;
    return cs_lsq_fit_bounded(ws, layout, x, ldx, y, ldy, w, ws->zeros, NULL, coef,
                              ldcoef, stats);
}
