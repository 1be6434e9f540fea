/* Dense least squares on LAPACK: the workspace and the fit engine (copy,
 * factorise, solve, statistics) shared by cs_lsq_fit, the bounded fits
 * (lsq_bounded.c) and the line and polynomial fits (lsq_poly.c).
 *
 * Only column-major LAPACKE `_work` drivers are called: the high-level
 * LAPACKE wrappers (and the row-major `_work` ones) allocate with malloc,
 * which would bypass the handle's allocator and break "no allocation in the
 * fit". Every argument is validated before LAPACK sees it, so LAPACK's
 * xerbla (which prints and stops) is never reached. */
#include "cloudsched/lsq.h"

#include <cblas.h>
#include <float.h>
#include <limits.h>

#include "internal.h"
#include "lsq_internal.h"

/* ---- options and structs ---------------------------------------------- */

static const cs_lsq_options lsq_options_defaults = {
    .size = sizeof(cs_lsq_options),
    .method = CS_LSQ_QR,
    .intercept = 0,
    .ridge = 0.0,
    .rcond = 0.0,
    .nrhs = 1,
};
#define LSQ_OPTIONS_MIN_SIZE sizeof(cs_lsq_options)

static const cs_lsq_stats lsq_stats_defaults = {.size = sizeof(cs_lsq_stats)};

cs_status cs_lsq_options_init(cs_lsq_options *opts, size_t size)
{
    return cs__struct_init(opts, size, sizeof(cs_lsq_options), LSQ_OPTIONS_MIN_SIZE,
                           &lsq_options_defaults);
}

cs_status cs_lsq_stats_init(cs_lsq_stats *stats, size_t size)
{
    return cs__struct_init(stats, size, sizeof(cs_lsq_stats), CS__LSQ_STATS_MIN_SIZE,
                           &lsq_stats_defaults);
}

/* An array of nrhs caller stats structs: every element must carry the same
 * valid size, which is also the stride. */
bool cs__lsq_stats_array_valid(const cs_lsq_stats *stats, size_t count)
{
    if (stats == NULL)
        return true;
    size_t sz = stats->size;
    if (sz < CS__LSQ_STATS_MIN_SIZE || sz > sizeof(cs_lsq_stats))
        return false;
    for (size_t k = 1; k < count; k++) {
        const cs_lsq_stats *s =
            (const cs_lsq_stats *)(const void *)((const char *)stats + k * sz);
        if (s->size != sz)
            return false;
    }
    return true;
}

void cs__lsq_stats_store(cs_lsq_stats *stats, size_t k, const cs_lsq_stats *full)
{
    size_t sz = stats->size;
    char *dst = (char *)stats + k * sz;
    cs_lsq_stats tmp = *full;
    tmp.size = sz;
    memcpy(dst, &tmp, sz);
}

/* ---- small numerical helpers ------------------------------------------ */

/* A power of two close to v (v/2 < result <= 2v), 1 for v == 0: dividing by
 * it is exact, which keeps equilibration free of rounding. */
static double pow2_scale(double v)
{
    if (!(v > 0.0) || !isfinite(v))
        return 1.0;
    int e;
    (void)frexp(v, &e);
    return ldexp(1.0, e);
}

/* Overflow- and underflow-safe sum of squares (the dnrm2 idea): keep
 * scale = max |x| seen and ssq = sum (|x| / scale)^2; the norm is
 * scale sqrt(ssq). Start from scale 0, ssq 1. */
static inline void safe_ssq_add(double *scale, double *ssq, double a)
{
    a = fabs(a);
    if (a == 0.0 || !isfinite(a))
        return;
    if (*scale < a) {
        double r = *scale / a;
        *ssq = 1.0 + *ssq * r * r;
        *scale = a;
    } else {
        double r = a / *scale;
        *ssq += r * r;
    }
}

/* Safe 2-norm of a strided vector. */
static double norm2_strided(const double *v, size_t n, size_t stride)
{
    double scale = 0.0, ssq = 1.0;
    for (size_t i = 0; i < n; i++)
        safe_ssq_add(&scale, &ssq, v[i * stride]);
    return scale * sqrt(ssq);
}

static bool dims_fit_lapack(size_t v)
{
    return v <= (size_t)INT_MAX;
}

/* Element (i, j) of a caller matrix. */
static inline double mat_at(cs_lsq_layout layout, const double *a, size_t ld, size_t i,
                            size_t j)
{
    return layout == CS_LSQ_ROW_MAJOR ? a[i * ld + j] : a[i + j * ld];
}

static cs_status lsq_import_options(cs_lsq_options *o, const cs_lsq_options *user)
{
    if (user == NULL) {
        *o = lsq_options_defaults;
        return CS_OK;
    }
    if (!cs__struct_import(o, user, sizeof *o, LSQ_OPTIONS_MIN_SIZE,
                           &lsq_options_defaults))
        return CS_ERR_INVALID;
    if (o->method != CS_LSQ_QR && o->method != CS_LSQ_TSQR && o->method != CS_LSQ_COD &&
        o->method != CS_LSQ_SVD)
        return CS_ERR_INVALID;
    if (!isfinite(o->ridge) || o->ridge < 0.0)
        return CS_ERR_INVALID;
    if (!isfinite(o->rcond) || o->rcond < 0.0 || o->rcond >= 1.0)
        return CS_ERR_INVALID;
    if (o->nrhs == 0)
        return CS_ERR_INVALID;
    return CS_OK;
}

static lapack_int work_of(double q)
{
    if (!(q >= 1.0))
        return 1;
    if (q >= (double)INT_MAX)
        return INT_MAX;
    return (lapack_int)ceil(q);
}

/* Workspace queries (lwork = -1) for every driver this shape may use: the
 * method's own, plus Householder QR for the bounded fits and the p' x p'
 * QR of the active-set subproblems. Returns -1 when a query fails. */
static lapack_int lsq_query_work(const cs_lsq *ws)
{
    lapack_int m = (lapack_int)ws->m, pp = (lapack_int)ws->pp;
    lapack_int nrhs = (lapack_int)ws->nrhs;
    lapack_int lda = (lapack_int)ws->lda, ldb = (lapack_int)ws->ldb;
    double q = 0.0, dummy = 0.0;
    lapack_int best = 1, rank = 0, jp = 0;
    lapack_int info;

    if (ws->m >= ws->pp) {
        info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, m, pp, &dummy, lda, &dummy, &q, -1);
        if (info != 0)
            return -1;
        best = work_of(q) > best ? work_of(q) : best;
        info = LAPACKE_dormqr_work(LAPACK_COL_MAJOR, 'L', 'T', m, nrhs, pp, &dummy, lda,
                                   &dummy, &dummy, ldb, &q, -1);
        if (info != 0)
            return -1;
        best = work_of(q) > best ? work_of(q) : best;
        /* active-set subproblem: QR of at most p' x p', one right-hand side */
        info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, pp, pp, &dummy, pp, &dummy, &q, -1);
        if (info != 0)
            return -1;
        best = work_of(q) > best ? work_of(q) : best;
        info = LAPACKE_dormqr_work(LAPACK_COL_MAJOR, 'L', 'T', pp, 1, pp, &dummy, pp,
                                   &dummy, &dummy, pp, &q, -1);
        if (info != 0)
            return -1;
        best = work_of(q) > best ? work_of(q) : best;
    }
    /* the rank-revealing drivers run on the p' x p' R_s of tall problems
     * (leading dimensions p') and on the whole matrix of wide ones */
    lapack_int rows = ws->m >= ws->pp ? pp : m;
    lapack_int la = ws->m >= ws->pp ? pp : lda, lb = ws->m >= ws->pp ? pp : ldb;
    switch (ws->opts.method) {
    case CS_LSQ_TSQR:
        info = LAPACKE_dgetsls_work(LAPACK_COL_MAJOR, 'N', m, pp, nrhs, &dummy, lda,
                                    &dummy, ldb, &q, -1);
        break;
    case CS_LSQ_COD:
        info = LAPACKE_dgelsy_work(LAPACK_COL_MAJOR, rows, pp, nrhs, &dummy, la, &dummy, lb,
                                   &jp, 0.1, &rank, &q, -1);
        break;
    case CS_LSQ_SVD:
        info = LAPACKE_dgelss_work(LAPACK_COL_MAJOR, rows, pp, nrhs, &dummy, la, &dummy, lb,
                                   &dummy, 0.1, &rank, &q, -1);
        break;
    default:
        info = 0;
        q = 1.0;
        break;
    }
    if (info != 0)
        return -1;
    best = work_of(q) > best ? work_of(q) : best;
    /* dtrcon wants 3 p' doubles: it uses ws->sv (3 p'), not work. */
    return best;
}

void cs_lsq_destroy(cs_lsq *ws)
{
    if (ws == NULL)
        return;
    cs_allocator a = ws->alloc;
    cs__free(&a, ws->a);
    cs__free(&a, ws->work);
    cs__free(&a, ws->iwork);
    cs__free(&a, ws->bv_state);
    a.free(a.ctx, ws);
}

/* Checked sum of a list of element counts. */
static bool add_counts(size_t *total, size_t add)
{
    return cs__add_size(*total, add, total);
}

cs_status cs_lsq_create(size_t n, size_t p, const cs_lsq_options *opts,
                        const cs_allocator *alloc, cs_lsq **out)
{
    if (out == NULL)
        return CS_ERR_INVALID;
    cs_allocator al;
    if (!cs__allocator_resolve(&al, alloc))
        return CS_ERR_INVALID;
    cs_lsq_options o;
    cs_status st = lsq_import_options(&o, opts);
    if (st != CS_OK)
        return st;
    size_t pp;
    if (!cs__add_size(p, o.intercept ? 1u : 0u, &pp))
        return CS_ERR_OVERFLOW;
    if (n == 0 || pp == 0)
        return CS_ERR_DIMENSION;
    size_t m = n;
    if (o.ridge > 0.0 && !cs__add_size(n, pp, &m))
        return CS_ERR_OVERFLOW;
    if ((o.method == CS_LSQ_QR || o.method == CS_LSQ_TSQR) && m < pp)
        return CS_ERR_DIMENSION;
    size_t ldb = m > pp ? m : pp;
    size_t asz, bsz, ppsq, ppn;
    if (!dims_fit_lapack(m) || !dims_fit_lapack(ldb) || !dims_fit_lapack(o.nrhs) ||
        !cs__mul_size(m, pp, &asz) || !cs__mul_size(ldb, o.nrhs, &bsz) ||
        !cs__mul_size(pp, pp, &ppsq) || !cs__mul_size(pp, o.nrhs, &ppn) ||
        !dims_fit_lapack(asz) || !dims_fit_lapack(bsz))
        return CS_ERR_OVERFLOW;

    cs_lsq tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.alloc = al;
    tmp.opts = o;
    tmp.n = n;
    tmp.p = p;
    tmp.pp = pp;
    tmp.nrhs = o.nrhs;
    tmp.m = m;
    tmp.lda = m;
    tmp.ldb = ldb;
    size_t mx = n > pp ? n : pp;
    tmp.rcond = o.rcond > 0.0 ? o.rcond : (double)mx * DBL_EPSILON;
    lapack_int lw = lsq_query_work(&tmp);
    if (lw < 0)
        return CS_ERR_NUMERIC;
    tmp.lwork = lw;

    /* One block of doubles for every array except LAPACK's work. */
    size_t total = 0;
    bool ok = add_counts(&total, asz) && add_counts(&total, bsz) &&
              add_counts(&total, n) && add_counts(&total, n) &&
              add_counts(&total, pp) && /* d */
              add_counts(&total, 3 * pp) && /* sv */
              add_counts(&total, pp) && /* tau */
              add_counts(&total, ppsq) && add_counts(&total, ppsq) &&
              add_counts(&total, ppsq) && add_counts(&total, ppn) && add_counts(&total, ppn) &&
              add_counts(&total, 2 * o.nrhs) && add_counts(&total, ppsq) &&
              add_counts(&total, 8 * pp);
    if (!ok || pp > SIZE_MAX / 8)
        return CS_ERR_OVERFLOW;

    cs_lsq *ws = cs__alloc(&al, sizeof *ws);
    if (ws == NULL)
        return CS_ERR_NOMEM;
    *ws = tmp;
    ws->a = cs__alloc_array(&al, total, sizeof(double));
    ws->work = cs__alloc_array(&al, (size_t)lw, sizeof(double));
    ws->iwork = cs__alloc_array(&al, 2 * pp, sizeof(lapack_int));
    ws->bv_state = cs__alloc_array(&al, 2 * pp, 1);
    if (ws->a == NULL || ws->work == NULL || ws->iwork == NULL || ws->bv_state == NULL) {
        cs_lsq_destroy(ws);
        return CS_ERR_NOMEM;
    }
    double *q = ws->a + asz;
    ws->b = q; q += bsz;
    ws->sw = q; q += n;
    ws->r = q; q += n;
    ws->d = q; q += pp;
    ws->sv = q; q += 3 * pp;
    ws->tau = q; q += pp;
    ws->sinv = q; q += ppsq;
    ws->mcov = q; q += ppsq;
    ws->rwork = q; q += ppsq;
    ws->cbuf = q; q += ppn;
    ws->sebuf = q; q += ppn;
    ws->rss = q; q += o.nrhs;
    ws->tss = q; q += o.nrhs;
    ws->bv_r = q; q += ppsq;
    ws->bv_rhs = q; q += pp;
    ws->bv_x = q; q += pp;
    ws->bv_z = q; q += pp;
    ws->bv_g = q; q += pp;
    ws->bv_lo = q; q += pp;
    ws->bv_hi = q; q += pp;
    ws->bv_tau = q; q += pp;
    ws->zeros = q;
    for (size_t j = 0; j < pp; j++)
        ws->zeros[j] = 0.0;
    ws->bv_blocked = ws->bv_state + pp;
    *out = ws;
    return CS_OK;
}

/* ---- input validation and copy ----------------------------------------- */

static cs_status check_layout_ld(cs_lsq_layout layout, size_t rows, size_t cols, size_t ld)
{
    if (layout != CS_LSQ_ROW_MAJOR && layout != CS_LSQ_COL_MAJOR)
        return CS_ERR_INVALID;
    size_t need = layout == CS_LSQ_ROW_MAJOR ? cols : rows;
    if (need == 0)
        need = 1;
    return ld >= need ? CS_OK : CS_ERR_INVALID;
}

static cs_status validate_in(const cs_lsq *ws, const fit_in *in)
{
    if ((ws->p > 0 && in->x == NULL) || in->y == NULL)
        return CS_ERR_INVALID;
    cs_status st = CS_OK;
    if (ws->p > 0)
        st = check_layout_ld(in->layout, ws->n, ws->p, in->ldx);
    if (st == CS_OK)
        st = check_layout_ld(in->layout, ws->n, ws->nrhs, in->ldy);
    return st;
}

/* Square roots of the weights into ws->sw, with their count and sum.
 * false on a NaN, Inf or negative weight. */
bool cs__lsq_load_weights(cs_lsq *ws, const double *w)
{
    size_t used = 0;
    double sum = 0.0;
    if (w == NULL) {
        for (size_t i = 0; i < ws->n; i++)
            ws->sw[i] = 1.0;
        used = ws->n;
        sum = (double)ws->n;
    } else {
        for (size_t i = 0; i < ws->n; i++) {
            double wi = w[i];
            if (!isfinite(wi) || wi < 0.0)
                return false;
            ws->sw[i] = sqrt(wi);
            if (wi > 0.0) {
                used++;
                sum += wi;
            }
        }
    }
    ws->n_used = used;
    ws->wsum = sum;
    return true;
}

static inline uint64_t nonfinite_bit(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return (uint64_t)(((u >> 52) & 0x7ffu) == 0x7ffu);
}

/* Column scales for the wide case: d_j = power of two near the weighted
 * 2-norm of column j (the intercept column included), in one pass over X in
 * its storage order. */
static void compute_scales(cs_lsq *ws, const fit_in *in)
{
    const size_t n = ws->n, p = ws->p, off = ws->opts.intercept ? 1 : 0;
    double *ss = ws->d; /* sums of squares first, scales after */
    if (off)
        ss[0] = ws->wsum;
    for (size_t j = 0; j < p; j++)
        ss[off + j] = 0.0;
    if (in->layout == CS_LSQ_ROW_MAJOR) {
        for (size_t i = 0; i < n; i++) {
            const double *xr = in->x + i * in->ldx;
            for (size_t j = 0; j < p; j++) {
                double v = ws->sw[i] * xr[j];
                ss[off + j] += v * v;
            }
        }
    } else {
        for (size_t j = 0; j < p; j++) {
            const double *xc = in->x + j * in->ldx;
            double acc = 0.0;
            for (size_t i = 0; i < n; i++) {
                double v = ws->sw[i] * xc[i];
                acc += v * v;
            }
            ss[off + j] = acc;
        }
    }
    for (size_t j = 0; j < off + p; j++) {
        double nrm;
        if (isfinite(ss[j]) && ss[j] > 1e-280) {
            nrm = sqrt(ss[j]);
        } else if (j < off) {
            nrm = sqrt(ws->wsum);
        } else {
            /* rare: overflow or underflow, rescan with the safe norm */
            double scale = 0.0, sq = 1.0;
            for (size_t i = 0; i < n; i++)
                safe_ssq_add(&scale, &sq,
                             ws->sw[i] * mat_at(in->layout, in->x, in->ldx, i, j - off));
            nrm = scale * sqrt(sq);
        }
        ss[j] = pow2_scale(nrm);
    }
}

/* Copy sqrt(w) X (columns divided by ws->d when `scaled`) into ws->a, with
 * the intercept column first and the ridge rows below; sqrt(w) Y into ws->b.
 * Returns false when x or y holds NaN or Inf. */
bool cs__lsq_fill_system(cs_lsq *ws, const fit_in *in, bool scaled)
{
    const size_t n = ws->n, p = ws->p, lda = ws->lda, ldb = ws->ldb;
    const size_t off = ws->opts.intercept ? 1 : 0;
    const double *sw = ws->sw;
    double *a = ws->a;
    uint64_t bad = 0;

    if (off) {
        double inv = scaled ? 1.0 / ws->d[0] : 1.0;
        for (size_t i = 0; i < n; i++)
            a[i] = sw[i] * inv;
    }
    if (in->poly) {
        /* the scaled Vandermonde basis, straight into the workspace (the
         * caller validated x; only the QR path, unscaled, comes here) */
        for (size_t i = 0; i < n; i++) {
            double t = (in->x[i] - in->poly_center) / in->poly_scale, v = sw[i];
            for (size_t j = 0; j < p; j++) {
                a[i + j * lda] = v;
                v *= t;
            }
        }
    } else if (in->layout == CS_LSQ_COL_MAJOR) {
        for (size_t j = 0; j < p; j++) {
            const double *xc = in->x + j * in->ldx;
            double *ac = a + (j + off) * lda;
            double inv = scaled ? 1.0 / ws->d[j + off] : 1.0;
            for (size_t i = 0; i < n; i++) {
                bad |= nonfinite_bit(xc[i]);
                ac[i] = xc[i] * sw[i] * inv;
            }
        }
    } else {
        /* Transpose in blocks of rows: each block of x is read once while
         * every column of a receives a contiguous run (not one element per
         * page, which thrashes the TLB when n is large). */
        enum { BLOCK = 64 };
        for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
            size_t i1 = n - i0 < BLOCK ? n : i0 + BLOCK;
            for (size_t j = 0; j < p; j++) {
                double *ac = a + (j + off) * lda;
                double inv = scaled ? 1.0 / ws->d[j + off] : 1.0;
                const double *xc = in->x + j;
                for (size_t i = i0; i < i1; i++) {
                    double v = xc[i * in->ldx];
                    bad |= nonfinite_bit(v);
                    ac[i] = v * sw[i] * inv;
                }
            }
        }
    }
    for (size_t k = 0; k < ws->nrhs; k++) {
        double *bc = ws->b + k * ldb;
        for (size_t i = 0; i < n; i++) {
            double v = mat_at(in->layout, in->y, in->ldy, i, k);
            bad |= nonfinite_bit(v);
            bc[i] = v * sw[i];
        }
        for (size_t i = n; i < ldb; i++)
            bc[i] = 0.0;
    }
    if (ws->m > n) {
        double sl = sqrt(ws->opts.ridge);
        for (size_t j = 0; j < ws->pp; j++) {
            double *ac = a + j * lda + n;
            for (size_t i = 0; i < ws->pp; i++)
                ac[i] = 0.0;
            if (j >= off)
                ac[j] = scaled ? sl / ws->d[j] : sl;
        }
    }
    return bad == 0;
}

/* ---- triangular factor: scales, conditioning, covariance ---------------- */

/* After a QR (R in the upper triangle of ws->a, unscaled columns): set
 * ws->d from the column norms of R (= weighted norms of the columns of the
 * augmented matrix, since Q is orthogonal) and scale R's columns by 1/d in
 * place. A zero column keeps d = 1. */
void cs__lsq_scale_r(cs_lsq *ws)
{
    const size_t pp = ws->pp, lda = ws->lda;
    for (size_t j = 0; j < pp; j++) {
        double *col = ws->a + j * lda;
        double dj = pow2_scale(norm2_strided(col, j + 1, 1));
        ws->d[j] = dj;
        for (size_t i = 0; i <= j; i++)
            col[i] /= dj;
    }
}

/* Full-rank test of the QR paths: a zero diagonal, or a condition estimate
 * of the scaled R above 1 / rcond, is ::CS_ERR_SINGULAR. */
cs_status cs__lsq_check_r(cs_lsq *ws)
{
    const size_t pp = ws->pp, lda = ws->lda;
    for (size_t j = 0; j < pp; j++)
        if (ws->a[j + j * lda] == 0.0)
            return CS_ERR_SINGULAR;
    double rc = 0.0;
    lapack_int info = LAPACKE_dtrcon_work(LAPACK_COL_MAJOR, '1', 'U', 'N', (lapack_int)pp,
                                          ws->a, (lapack_int)lda, &rc, ws->sv,
                                          ws->iwork + pp);
    if (info != 0)
        return CS_ERR_NUMERIC;
    if (!(rc >= ws->rcond))
        return CS_ERR_SINGULAR;
    ws->cond = 1.0 / rc;
    ws->rank = pp;
    return CS_OK;
}

/* ws->sinv = inverse of the k x k upper triangle at `r` (leading dim ldr). */
static cs_status invert_triangle(cs_lsq *ws, const double *r, size_t ldr, size_t k)
{
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < k; i++)
            ws->sinv[i + j * k] = i <= j ? r[i + j * ldr] : 0.0;
    lapack_int info = LAPACKE_dtrtri_work(LAPACK_COL_MAJOR, 'U', 'N', (lapack_int)k,
                                          ws->sinv, (lapack_int)k);
    return info == 0 ? CS_OK : CS_ERR_SINGULAR;
}

/* mcov = P S S' P' with S = sinv (pp x pp) and the permutation perm
 * (column k of the factor belongs to coefficient perm[k]); perm NULL = identity. */
static void cov_from_sinv(cs_lsq *ws, const lapack_int *perm)
{
    const size_t pp = ws->pp;
    const double *s = ws->sinv;
    for (size_t k = 0; k < pp; k++) {
        for (size_t l = k; l < pp; l++) {
            /* (S S')_{kl} = sum_{t >= max(k,l)} S_kt S_lt (S upper triangular) */
            double acc = 0.0;
            for (size_t t = l; t < pp; t++)
                acc += s[k + t * pp] * s[l + t * pp];
            size_t ik = perm ? (size_t)perm[k] - 1 : k;
            size_t il = perm ? (size_t)perm[l] - 1 : l;
            ws->mcov[ik + il * pp] = acc;
            ws->mcov[il + ik * pp] = acc;
        }
    }
    ws->have_cov = true;
}

/* Penalty weight of coefficient j in scaled coordinates (c = d b). */
static double penalty_scaled(const cs_lsq *ws, size_t j)
{
    if (ws->opts.ridge == 0.0 || (ws->opts.intercept && j == 0))
        return 0.0;
    return ws->opts.ridge / (ws->d[j] * ws->d[j]);
}

/* Residual degrees of freedom: n_used - rank, or n_used - trace(H) with a
 * ridge penalty, trace(H) = p' - sum_j P_j M_jj. */
static void compute_dof(cs_lsq *ws)
{
    double df = (double)ws->rank;
    if (ws->opts.ridge > 0.0 && ws->have_cov) {
        for (size_t j = 0; j < ws->pp; j++)
            df -= penalty_scaled(ws, j) * ws->mcov[j + j * ws->pp];
    }
    ws->dof = (double)ws->n_used - df;
}

/* ---- sums of squares ------------------------------------------------------ */

void cs__lsq_compute_tss(cs_lsq *ws, const fit_in *in)
{
    for (size_t k = 0; k < ws->nrhs; k++) {
        double mean = 0.0;
        if (in->centred && ws->wsum > 0.0) {
            double acc = 0.0;
            for (size_t i = 0; i < ws->n; i++) {
                double wi = ws->sw[i] * ws->sw[i];
                acc += wi * mat_at(in->layout, in->y, in->ldy, i, k);
            }
            mean = acc / ws->wsum;
        }
        double t = 0.0;
        for (size_t i = 0; i < ws->n; i++) {
            double e = ws->sw[i] * (mat_at(in->layout, in->y, in->ldy, i, k) - mean);
            t += e * e;
        }
        ws->tss[k] = t;
    }
}

double cs__lsq_sumsq(const double *v, size_t n)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += v[i] * v[i];
    if (isfinite(acc))
        return acc;
    double nrm = norm2_strided(v, n, 1);
    return nrm * nrm;
}

/* RSS from the orthogonal transform: the squared tail of Q'(sqrt(w) y),
 * plus, for the rank-revealing methods, what the truncated solution leaves
 * of the top part: ||R_s c - (Q'y)_top||^2 with c = d b. */
static void rss_from_tail(cs_lsq *ws)
{
    const size_t pp = ws->pp;
    bool reduced = ws->opts.method == CS_LSQ_COD || ws->opts.method == CS_LSQ_SVD;
    for (size_t k = 0; k < ws->nrhs; k++) {
        const double *bk = ws->b + k * ws->ldb;
        double acc = cs__lsq_sumsq(bk + pp, ws->m - pp);
        if (reduced) {
            const double *ck = ws->cbuf + k * pp;
            for (size_t i = 0; i < pp; i++) {
                double e = bk[i];
                for (size_t j = i; j < pp; j++)
                    e -= ws->a[i + j * ws->lda] * ck[j] * ws->d[j];
                acc += e * e;
            }
        }
        ws->rss[k] = acc;
    }
}

/* RSS from the caller's data: sum_i w_i (y_i - x_i b)^2, coefficients in cbuf. */
void cs__lsq_rss_direct(cs_lsq *ws, const fit_in *in)
{
    const size_t n = ws->n, off = ws->opts.intercept ? 1 : 0;
    for (size_t k = 0; k < ws->nrhs; k++) {
        const double *bk = ws->cbuf + k * ws->pp;
        for (size_t i = 0; i < n; i++)
            ws->r[i] = mat_at(in->layout, in->y, in->ldy, i, k) - (off ? bk[0] : 0.0);
        if (ws->p > 0)
            cblas_dgemv(in->layout == CS_LSQ_ROW_MAJOR ? CblasRowMajor : CblasColMajor,
                        CblasNoTrans, (blasint)n, (blasint)ws->p, -1.0, in->x,
                        (blasint)in->ldx, bk + off, 1, 1.0, ws->r, 1);
        double acc = 0.0;
        for (size_t i = 0; i < n; i++) {
            double e = ws->sw[i] * ws->r[i];
            acc += e * e;
        }
        ws->rss[k] = acc;
    }
}

/* ---- the engine ----------------------------------------------------------- */

/* The upper triangle of R_s (in ws->a) as a clean p' x p' matrix in rwork
 * (leading dimension p'), zeros below: what dgelsy/dgelss get to destroy. */
static void copy_rs(cs_lsq *ws)
{
    const size_t pp = ws->pp;
    for (size_t j = 0; j < pp; j++)
        for (size_t i = 0; i < pp; i++)
            ws->rwork[i + j * pp] = i <= j ? ws->a[i + j * ws->lda] : 0.0;
}

/* mcov = V diag(1/s^2) V' from the first p' rows of vt (= V', leading dim ldv). */
static void cov_from_svd(cs_lsq *ws, const double *vt, size_t ldv)
{
    const size_t pp = ws->pp;
    for (size_t j = 0; j < pp; j++) {
        for (size_t l = j; l < pp; l++) {
            double acc = 0.0;
            for (size_t k = 0; k < pp; k++) {
                double inv = 1.0 / ws->sv[k];
                acc += vt[k + j * ldv] * vt[k + l * ldv] * inv * inv;
            }
            ws->mcov[j + l * pp] = acc;
            ws->mcov[l + j * pp] = acc;
        }
    }
    ws->have_cov = true;
}

/* Rank-revealing solve of an a (rows x p', leading dim lda) b (leading dim
 * ldb) system that is already equilibrated: dgelsy (COD) or dgelss (SVD).
 * The scaled solution is left in the first p' rows of b. */
static cs_status rank_revealing(cs_lsq *ws, size_t rows, double *a, size_t lda, double *b,
                                size_t ldb, bool want_cov)
{
    const size_t pp = ws->pp;
    lapack_int rank = 0, info;
    if (ws->opts.method == CS_LSQ_COD) {
        lapack_int *jpvt = ws->iwork;
        for (size_t j = 0; j < pp; j++)
            jpvt[j] = 0;
        info = LAPACKE_dgelsy_work(LAPACK_COL_MAJOR, (lapack_int)rows, (lapack_int)pp,
                                   (lapack_int)ws->nrhs, a, (lapack_int)lda, b,
                                   (lapack_int)ldb, jpvt, ws->rcond, &rank, ws->work,
                                   ws->lwork);
        if (info != 0)
            return CS_ERR_NUMERIC;
        /* The leading rank x rank triangle of a is R11 (T11 after the RZ step
         * when rank < p'): its condition is that of the retained part. */
        ws->cond = CS__INF;
        if (rank > 0) {
            double rc = 0.0;
            info = LAPACKE_dtrcon_work(LAPACK_COL_MAJOR, '1', 'U', 'N', rank, a,
                                       (lapack_int)lda, &rc, ws->sv, ws->iwork + pp);
            if (info != 0)
                return CS_ERR_NUMERIC;
            ws->cond = rc > 0.0 ? 1.0 / rc : CS__INF;
        }
        if (want_cov && (size_t)rank == pp) {
            /* full rank: dgelsy skips the RZ step, a holds R of A P = Q R */
            cs_status st = invert_triangle(ws, a, lda, pp);
            if (st != CS_OK)
                return st;
            cov_from_sinv(ws, jpvt);
        }
    } else {
        info = LAPACKE_dgelss_work(LAPACK_COL_MAJOR, (lapack_int)rows, (lapack_int)pp,
                                   (lapack_int)ws->nrhs, a, (lapack_int)lda, b,
                                   (lapack_int)ldb, ws->sv, ws->rcond, &rank, ws->work,
                                   ws->lwork);
        if (info != 0)
            return CS_ERR_NUMERIC; /* the SVD did not converge */
        ws->cond = rank > 0 && ws->sv[rank - 1] > 0.0 ? ws->sv[0] / ws->sv[rank - 1]
                                                       : CS__INF;
        /* V' is in the first min(rows, p') rows of a */
        if (want_cov && (size_t)rank == pp)
            cov_from_svd(ws, a, lda);
    }
    ws->rank = (size_t)rank;
    return CS_OK;
}

/* Factorise and solve into ws->cbuf (unscaled coefficients), set rank, cond,
 * d, and (when want_cov) mcov. Nothing outside ws is written.
 *
 * Tall problems (n + ridge rows >= p') always start with one Householder QR
 * of the unscaled copy (or TSQR for that method); the equilibration is then
 * applied to R, and COD / SVD run on the small p' x p' R_s. Column pivoting
 * and singular values are invariant under the orthogonal Q, so this is the
 * same decomposition at O(p'^3) instead of O(n p'^2) for the second step
 * (Chan's R-SVD). Wide problems go to dgelsy / dgelss directly. */
static cs_status core_solve(cs_lsq *ws, const fit_in *in, bool want_cov)
{
    const size_t pp = ws->pp, nrhs = ws->nrhs;
    const lapack_int m = (lapack_int)ws->m, ipp = (lapack_int)pp;
    const lapack_int lda = (lapack_int)ws->lda, ldb = (lapack_int)ws->ldb;
    const lapack_int inrhs = (lapack_int)nrhs;
    const cs_lsq_method method = ws->opts.method;
    lapack_int info;
    cs_status st;

    ws->have_cov = false;
    ws->have_sinv = false;
    if (ws->m < pp) {
        /* wide (COD / SVD only): equilibrate the copy, then the driver */
        compute_scales(ws, in);
        if (!cs__lsq_fill_system(ws, in, true))
            return CS_ERR_INVALID;
        st = rank_revealing(ws, ws->m, ws->a, ws->lda, ws->b, ws->ldb, want_cov);
        if (st != CS_OK)
            return st;
        for (size_t k = 0; k < nrhs; k++)
            for (size_t j = 0; j < pp; j++)
                ws->cbuf[j + k * pp] = ws->b[j + k * ws->ldb] / ws->d[j];
        return cs__all_finite(ws->cbuf, pp * nrhs) ? CS_OK : CS_ERR_NUMERIC;
    }

    if (!cs__lsq_fill_system(ws, in, false))
        return CS_ERR_INVALID;
    if (method == CS_LSQ_TSQR) {
        info = LAPACKE_dgetsls_work(LAPACK_COL_MAJOR, 'N', m, ipp, inrhs, ws->a, lda, ws->b,
                                    ldb, ws->work, ws->lwork);
        if (info > 0)
            return CS_ERR_SINGULAR;
        if (info != 0)
            return CS_ERR_NUMERIC;
    } else {
        info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, m, ipp, ws->a, lda, ws->tau, ws->work,
                                   ws->lwork);
        if (info == 0)
            info = LAPACKE_dormqr_work(LAPACK_COL_MAJOR, 'L', 'T', m, inrhs, ipp, ws->a, lda,
                                       ws->tau, ws->b, ldb, ws->work, ws->lwork);
        if (info != 0)
            return CS_ERR_NUMERIC;
    }
    cs__lsq_scale_r(ws);
    for (size_t k = 0; k < nrhs; k++)
        memcpy(ws->cbuf + k * pp, ws->b + k * ws->ldb, pp * sizeof(double));

    if (method == CS_LSQ_QR || method == CS_LSQ_TSQR) {
        st = cs__lsq_check_r(ws);
        if (st != CS_OK)
            return st;
        if (method == CS_LSQ_QR) {
            /* R_s c = (Q'y)_top, then b = c / d */
            info = LAPACKE_dtrtrs_work(LAPACK_COL_MAJOR, 'U', 'N', 'N', ipp, inrhs, ws->a,
                                       lda, ws->cbuf, ipp);
            if (info != 0)
                return CS_ERR_SINGULAR;
            for (size_t k = 0; k < nrhs; k++)
                for (size_t j = 0; j < pp; j++)
                    ws->cbuf[j + k * pp] /= ws->d[j];
        } /* TSQR: dgetsls already left b itself on top */
        if (want_cov) {
            st = invert_triangle(ws, ws->a, ws->lda, pp);
            if (st != CS_OK)
                return st;
            ws->have_sinv = true;
            cov_from_sinv(ws, NULL);
        }
    } else {
        copy_rs(ws);
        st = rank_revealing(ws, pp, ws->rwork, pp, ws->cbuf, pp, want_cov);
        if (st != CS_OK)
            return st;
        for (size_t k = 0; k < nrhs; k++)
            for (size_t j = 0; j < pp; j++)
                ws->cbuf[j + k * pp] /= ws->d[j];
    }
    return cs__all_finite(ws->cbuf, pp * nrhs) ? CS_OK : CS_ERR_NUMERIC;
}

/* Solve, then the sums of squares, degrees of freedom and standard errors
 * (into ws->sebuf) that were asked for. */
cs_status cs__lsq_core_fit(cs_lsq *ws, const fit_in *in, bool want_se, bool want_stats)
{
    if (!cs__lsq_load_weights(ws, in->w))
        return CS_ERR_INVALID;
    bool want_cov = want_se || (want_stats && ws->opts.ridge > 0.0);
    cs_status st = core_solve(ws, in, want_cov);
    if (st != CS_OK)
        return st;
    compute_dof(ws);
    if (!want_se && !want_stats)
        return CS_OK;
    if (ws->m == ws->n && ws->m >= ws->pp)
        rss_from_tail(ws);
    else
        cs__lsq_rss_direct(ws, in);
    cs__lsq_compute_tss(ws, in);
    if (want_se) {
        const size_t pp = ws->pp;
        for (size_t k = 0; k < ws->nrhs; k++) {
            double sigma = ws->dof > 0.0 ? sqrt(ws->rss[k] / ws->dof) : CS__NAN;
            for (size_t j = 0; j < pp; j++) {
                double v = CS__NAN;
                if (ws->have_cov) {
                    v = ws->mcov[j + j * pp];
                    for (size_t l = 0; l < pp; l++) {
                        double pl = penalty_scaled(ws, l);
                        if (pl != 0.0)
                            v -= pl * ws->mcov[j + l * pp] * ws->mcov[j + l * pp];
                    }
                    v = sigma * sqrt(v > 0.0 ? v : 0.0) / ws->d[j];
                }
                ws->sebuf[j + k * pp] = v;
            }
        }
    }
    return CS_OK;
}

void cs__lsq_make_stats(const cs_lsq *ws, size_t k, bool centred, double dof, size_t rank,
                       cs_lsq_stats *s)
{
    *s = lsq_stats_defaults;
    s->rank = rank;
    s->n_used = ws->n_used;
    s->dof = dof;
    s->rss = ws->rss[k];
    s->tss = ws->tss[k];
    s->sigma = dof > 0.0 ? sqrt(s->rss / dof) : CS__NAN;
    s->r2 = s->tss > 0.0 ? 1.0 - s->rss / s->tss : CS__NAN;
    double c = centred ? 1.0 : 0.0;
    s->adj_r2 = dof > 0.0 && s->tss > 0.0
                    ? 1.0 - (1.0 - s->r2) * ((double)ws->n_used - c) / dof
                    : CS__NAN;
    s->cond = ws->cond;
}

/* Copy a column-major rows x cols block into a caller matrix. */
void cs__lsq_store_matrix(cs_lsq_layout layout, double *dst, size_t ld, const double *src,
                         size_t rows, size_t cols)
{
    for (size_t k = 0; k < cols; k++)
        for (size_t j = 0; j < rows; j++) {
            double v = src[j + k * rows];
            if (layout == CS_LSQ_ROW_MAJOR)
                dst[j * ld + k] = v;
            else
                dst[j + k * ld] = v;
        }
}

cs_status cs__lsq_validate_fit_call(const cs_lsq *ws, const fit_in *in, const double *coef,
                                   size_t ldcoef, const cs_lsq_stats *stats)
{
    if (ws == NULL || coef == NULL)
        return CS_ERR_INVALID;
    cs_status st = validate_in(ws, in);
    if (st != CS_OK)
        return st;
    st = check_layout_ld(in->layout, ws->pp, ws->nrhs, ldcoef);
    if (st != CS_OK)
        return st;
    return cs__lsq_stats_array_valid(stats, ws->nrhs) ? CS_OK : CS_ERR_INVALID;
}

cs_status cs_lsq_fit(cs_lsq *ws, cs_lsq_layout layout, const double *x, size_t ldx,
                     const double *y, size_t ldy, const double *w, double *coef,
                     size_t ldcoef, double *se, cs_lsq_stats *stats)
{
    fit_in in = {layout, x, ldx, y, ldy, w, ws != NULL && ws->opts.intercept, false, 0.0, 0.0};
    cs_status st = cs__lsq_validate_fit_call(ws, &in, coef, ldcoef, stats);
    if (st != CS_OK)
        return st;
    st = cs__lsq_core_fit(ws, &in, se != NULL, stats != NULL);
    if (st != CS_OK)
        return st;
    cs__lsq_store_matrix(layout, coef, ldcoef, ws->cbuf, ws->pp, ws->nrhs);
    if (se != NULL)
        cs__lsq_store_matrix(layout, se, ldcoef, ws->sebuf, ws->pp, ws->nrhs);
    if (stats != NULL) {
        for (size_t k = 0; k < ws->nrhs; k++) {
            cs_lsq_stats s;
            cs__lsq_make_stats(ws, k, in.centred, ws->dof, ws->rank, &s);
            cs__lsq_stats_store(stats, k, &s);
        }
    }
    return CS_OK;
}

cs_status cs_lsq_solve(size_t n, size_t p, const cs_lsq_options *opts,
                       cs_lsq_layout layout, const double *x, size_t ldx, const double *y,
                       size_t ldy, const double *w, double *coef, size_t ldcoef, double *se,
                       cs_lsq_stats *stats, const cs_allocator *alloc)
{
    cs_lsq *ws = NULL;
    cs_status st = cs_lsq_create(n, p, opts, alloc, &ws);
    if (st != CS_OK)
        return st;
    st = cs_lsq_fit(ws, layout, x, ldx, y, ldy, w, coef, ldcoef, se, stats);
    cs_lsq_destroy(ws);
    return st;
}

