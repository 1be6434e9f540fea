/* Square-root (QR) recursive least squares with a forgetting factor. */
#include "cloudsched/rls.h"

#include <float.h>
#include <lapacke.h>

#include "internal.h"
#include "lsq_internal.h"
#include "rls_internal.h"

/* ---- kernels (shared with predict.c) ------------------------------------- */

void cs__rls_absorb_row(double *restrict T, size_t ld, size_t q, double *restrict v, double f)
{
    for (size_t j = 0; j < q; j++) {
        double *row = T + j * ld;
        double bj = v[j];
        double a = row[j] * f;
        /* r = hypot(a, b) without the libm call in the common case */
        double r2 = a * a + bj * bj;
        double r = (r2 > DBL_MIN && r2 < DBL_MAX) ? sqrt(r2) : hypot(a, bj);
        if (bj == 0.0 || r == 0.0) {
            if (f != 1.0)
                for (size_t k = j; k < q; k++)
                    row[k] *= f;
            continue;
        }
        double inv = 1.0 / r;
        double c = a * inv, s = bj * inv;
        row[j] = r;
        for (size_t k = j + 1; k < q; k++) {
            double t = row[k] * f, u = v[k];
            row[k] = c * t + s * u;
            v[k] = c * u - s * t;
        }
        v[j] = 0.0;
    }
}

bool cs__rls_back_substitute(const double *T, size_t ld, size_t p, double *b)
{
    for (size_t i = p; i-- > 0;) {
        const double *row = T + i * ld;
        double acc = row[p];
        for (size_t k = i + 1; k < p; k++)
            acc -= row[k] * b[k];
        double d = row[i];
        if (d == 0.0)
            return false;
        b[i] = acc / d;
        if (!isfinite(b[i]))
            return false;
    }
    return true;
}

bool cs__rls_solve_ridge(const double *T, size_t ld, size_t p, double mu, double *S,
                         double *v, double *b)
{
    const size_t q = p + 1;
    for (size_t i = 0; i < q; i++)
        for (size_t k = 0; k < q; k++)
            S[i * q + k] = k >= i ? T[i * ld + k] : 0.0;
    if (mu > 0.0) {
        double sm = sqrt(mu);
        for (size_t j = 0; j < p; j++) {
            for (size_t k = 0; k < q; k++)
                v[k] = 0.0;
            v[j] = sm;
            cs__rls_absorb_row(S, q, q, v, 1.0);
        }
    }
    return cs__rls_back_substitute(S, q, p, b);
}

/* ---- the handle ------------------------------------------------------------ */

#define RLS_MAX_DIM 4096

static const cs_rls_options rls_options_defaults = {
    .size = sizeof(cs_rls_options),
    .forgetting = 1.0,
    .ridge = 0.0,
    .block_rows = 64,
};
#define RLS_OPTIONS_MIN_SIZE sizeof(cs_rls_options)

static const cs_rls_info rls_info_defaults = {.size = sizeof(cs_rls_info)};
#define RLS_INFO_MIN_SIZE sizeof(cs_rls_info)

struct cs_rls {
    cs_allocator alloc;
    cs_rls_options opts;
    size_t p, q;       /* q = p + 1 */
    size_t nb;         /* dtpqrt block size, 1 <= nb <= q */
    double sqrt_lambda;
    uint64_t samples;
    double weight;
    bool coef_valid;
    double *T;    /* q x q factor [R z; 0 rho] */
    double *coef; /* p cached coefficients */
    double *S;    /* q x q scratch */
    double *v;    /* max(q, 3p) scratch */
    double *blk;  /* block_rows x q rows for dtpqrt */
    double *tf;   /* nb x q block reflector factor */
    double *work; /* nb x q dtpqrt work */
    lapack_int *iwork; /* p, for dtrcon */
};

cs_status cs_rls_options_init(cs_rls_options *opts, size_t size)
{
    return cs__struct_init(opts, size, sizeof(cs_rls_options), RLS_OPTIONS_MIN_SIZE,
                           &rls_options_defaults);
}

cs_status cs_rls_info_init(cs_rls_info *info, size_t size)
{
    return cs__struct_init(info, size, sizeof(cs_rls_info), RLS_INFO_MIN_SIZE,
                           &rls_info_defaults);
}

static void rls_clear(cs_rls *r)
{
    const size_t q = r->q;
    double s = sqrt(r->opts.ridge);
    for (size_t k = 0; k < q; k++)
        for (size_t i = 0; i < q; i++)
            r->T[i * q + k] = (i == k && k < r->p) ? s : 0.0;
    r->samples = 0;
    r->weight = 0.0;
    r->coef_valid = false;
}

void cs_rls_destroy(cs_rls *r)
{
    if (r == NULL)
        return;
    cs_allocator a = r->alloc;
    cs__free(&a, r->T);
    cs__free(&a, r->iwork);
    a.free(a.ctx, r);
}

cs_status cs_rls_create(size_t p, const cs_rls_options *opts, const cs_allocator *alloc,
                        cs_rls **out)
{
    if (out == NULL)
        return CS_ERR_INVALID;
    cs_allocator al;
    if (!cs__allocator_resolve(&al, alloc))
        return CS_ERR_INVALID;
    cs_rls_options o = rls_options_defaults;
    if (opts != NULL && !cs__struct_import(&o, opts, sizeof o, RLS_OPTIONS_MIN_SIZE,
                                           &rls_options_defaults))
        return CS_ERR_INVALID;
    if (!(o.forgetting > 0.0 && o.forgetting <= 1.0) || !isfinite(o.ridge) ||
        o.ridge < 0.0 || o.block_rows == 0)
        return CS_ERR_INVALID;
    if (p == 0 || p > RLS_MAX_DIM)
        return CS_ERR_DIMENSION;
    const size_t q = p + 1;
    size_t nb = q < 32 ? q : 32;
    size_t blk;
    if (o.block_rows > (size_t)INT32_MAX || !cs__mul_size(o.block_rows, q, &blk))
        return CS_ERR_OVERFLOW;
    size_t total = 0;
    size_t vlen = 3 * p > q ? 3 * p : q;
    bool ok = cs__add_size(total, q * q, &total) && cs__add_size(total, p, &total) &&
              cs__add_size(total, q * q, &total) && cs__add_size(total, vlen, &total) &&
              cs__add_size(total, blk, &total) && cs__add_size(total, nb * q, &total) &&
              cs__add_size(total, nb * q, &total);
    if (!ok)
        return CS_ERR_OVERFLOW;
    cs_rls *r = cs__alloc(&al, sizeof *r);
    if (r == NULL)
        return CS_ERR_NOMEM;
    memset(r, 0, sizeof *r);
    r->alloc = al;
    r->T = cs__alloc_array(&al, total, sizeof(double));
    r->iwork = cs__alloc_array(&al, p, sizeof(lapack_int));
    if (r->T == NULL || r->iwork == NULL) {
        cs_rls_destroy(r);
        return CS_ERR_NOMEM;
    }
    r->opts = o;
    r->p = p;
    r->q = q;
    r->nb = nb;
    r->sqrt_lambda = sqrt(o.forgetting);
    double *m = r->T + q * q;
    r->coef = m; m += p;
    r->S = m; m += q * q;
    r->v = m; m += vlen;
    r->blk = m; m += blk;
    r->tf = m; m += nb * q;
    r->work = m;
    rls_clear(r);
    *out = r;
    return CS_OK;
}

cs_status cs_rls_reset(cs_rls *r)
{
    if (r == NULL)
        return CS_ERR_INVALID;
    rls_clear(r);
    return CS_OK;
}

cs_status cs_rls_update(cs_rls *r, const double *x, double y)
{
    if (r == NULL || x == NULL || !isfinite(y) || !cs__all_finite(x, r->p))
        return CS_ERR_INVALID;
    memcpy(r->v, x, r->p * sizeof(double));
    r->v[r->p] = y;
    cs__rls_absorb_row(r->T, r->q, r->q, r->v, r->sqrt_lambda);
    r->samples++;
    r->weight = r->weight * r->opts.forgetting + 1.0;
    r->coef_valid = false;
    return CS_OK;
}

cs_status cs_rls_update_block(cs_rls *r, cs_lsq_layout layout, size_t n, const double *x,
                              size_t ldx, const double *y)
{
    if (r == NULL || (layout != CS_LSQ_ROW_MAJOR && layout != CS_LSQ_COL_MAJOR))
        return CS_ERR_INVALID;
    if (n == 0)
        return CS_OK;
    const size_t p = r->p, q = r->q;
    if (x == NULL || y == NULL || ldx < (layout == CS_LSQ_ROW_MAJOR ? p : n))
        return CS_ERR_INVALID;
    /* Check the whole block before touching the state. */
    if (!cs__all_finite(y, n))
        return CS_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) {
            double v = layout == CS_LSQ_ROW_MAJOR ? x[i * ldx + j] : x[i + j * ldx];
            if (!isfinite(v))
                return CS_ERR_INVALID;
        }
    const size_t cap = r->opts.block_rows;
    const double lam = r->opts.forgetting;
    for (size_t start = 0; start < n; start += cap) {
        size_t k = n - start < cap ? n - start : cap;
        /* Row i of the piece gets weight lambda^((k-1-i)/2) and T gets
         * lambda^(k/2): the same as k single updates. dtpqrt wants T
         * column-major: transpose it into S (scaled on the way) and back. */
        double tf = lam != 1.0 ? pow(lam, 0.5 * (double)k) : 1.0;
        for (size_t i = 0; i < q; i++)
            for (size_t c = 0; c < q; c++)
                r->S[i + c * q] = c >= i ? r->T[i * q + c] * tf : 0.0;
        double f = 1.0;
        for (size_t ii = k; ii-- > 0;) {
            size_t i = start + ii;
            for (size_t j = 0; j < p; j++) {
                double v = layout == CS_LSQ_ROW_MAJOR ? x[i * ldx + j] : x[i + j * ldx];
                r->blk[ii + j * cap] = f * v;
            }
            r->blk[ii + p * cap] = f * y[i];
            f *= r->sqrt_lambda;
        }
        lapack_int info = LAPACKE_dtpqrt_work(
            LAPACK_COL_MAJOR, (lapack_int)k, (lapack_int)q, 0, (lapack_int)r->nb, r->S,
            (lapack_int)q, r->blk, (lapack_int)cap, r->tf, (lapack_int)r->nb, r->work);
        if (info != 0)
            return CS_ERR_NUMERIC; /* not reachable: the arguments are valid */
        for (size_t i = 0; i < q; i++)
            for (size_t c = i; c < q; c++)
                r->T[i * q + c] = r->S[i + c * q];
        for (size_t ii = 0; ii < k; ii++)
            r->weight = r->weight * lam + 1.0;
        r->samples += k;
    }
    r->coef_valid = false;
    return CS_OK;
}

/* Reciprocal condition of the column-equilibrated R (1-norm estimate). */
static double rls_rcond(cs_rls *r)
{
    const size_t p = r->p, q = r->q;
    for (size_t k = 0; k < p; k++) {
        double ss = 0.0;
        for (size_t i = 0; i <= k; i++)
            ss += r->T[i * q + k] * r->T[i * q + k];
        double s = ss > 0.0 ? 1.0 / sqrt(ss) : 1.0;
        for (size_t i = 0; i < p; i++)
            r->S[i + k * p] = i <= k ? r->T[i * q + k] * s : 0.0;
    }
    double rc = 0.0;
    lapack_int info = LAPACKE_dtrcon_work(LAPACK_COL_MAJOR, '1', 'U', 'N', (lapack_int)p,
                                          r->S, (lapack_int)p, &rc, r->v, r->iwork);
    return info == 0 ? rc : 0.0;
}

static cs_status rls_refresh(cs_rls *r)
{
    if (r->coef_valid)
        return CS_OK;
    if (!(rls_rcond(r) >= (double)r->p * DBL_EPSILON))
        return CS_ERR_SINGULAR;
    if (!cs__rls_back_substitute(r->T, r->q, r->p, r->coef))
        return CS_ERR_SINGULAR;
    r->coef_valid = true;
    return CS_OK;
}

cs_status cs_rls_coefficients(cs_rls *r, double *b)
{
    if (r == NULL || b == NULL)
        return CS_ERR_INVALID;
    cs_status st = rls_refresh(r);
    if (st != CS_OK)
        return st;
    memcpy(b, r->coef, r->p * sizeof(double));
    return CS_OK;
}

cs_status cs_rls_coefficients_ridge(cs_rls *r, double mu, double *b)
{
    if (r == NULL || b == NULL || !isfinite(mu) || mu < 0.0)
        return CS_ERR_INVALID;
    if (mu == 0.0) {
        if (!(rls_rcond(r) >= (double)r->p * DBL_EPSILON))
            return CS_ERR_SINGULAR;
    }
    /* solve into blk (>= q doubles) so that b stays untouched on failure */
    if (!cs__rls_solve_ridge(r->T, r->q, r->p, mu, r->S, r->v, r->blk))
        return CS_ERR_SINGULAR;
    memcpy(b, r->blk, r->p * sizeof(double));
    return CS_OK;
}

cs_status cs_rls_predict(cs_rls *r, const double *x, double *yhat)
{
    if (r == NULL || x == NULL || yhat == NULL || !cs__all_finite(x, r->p))
        return CS_ERR_INVALID;
    cs_status st = rls_refresh(r);
    if (st != CS_OK)
        return st;
    double acc = 0.0;
    for (size_t j = 0; j < r->p; j++)
        acc += x[j] * r->coef[j];
    *yhat = acc;
    return CS_OK;
}

cs_status cs_rls_get_info(const cs_rls *r, cs_rls_info *info)
{
    if (r == NULL || info == NULL || info->size < RLS_INFO_MIN_SIZE ||
        info->size > sizeof(cs_rls_info))
        return CS_ERR_INVALID;
    cs_rls_info out = rls_info_defaults;
    out.size = info->size;
    out.dim = r->p;
    out.samples = r->samples;
    out.weight = r->weight;
    double rho = r->T[r->p * r->q + r->p];
    out.rss = rho * rho;
    memcpy(info, &out, info->size);
    return CS_OK;
}
