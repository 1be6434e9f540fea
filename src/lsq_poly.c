/* Straight-line and polynomial fits built on the least-squares engine. */
#include "cloudsched/lsq.h"

#include "internal.h"
#include "lsq_internal.h"

static const cs_lsq_poly lsq_poly_defaults = {.size = sizeof(cs_lsq_poly)};

cs_status cs_lsq_poly_init(cs_lsq_poly *poly, size_t size)
{
    return cs__struct_init(poly, size, sizeof(cs_lsq_poly), CS__LSQ_POLY_MIN_SIZE,
                           &lsq_poly_defaults);
}

cs_status cs_lsq_line(size_t n, const double *x, const double *y, const double *w,
                      double coef[2], double se[2], cs_lsq_stats *stats)
{
    if (x == NULL || y == NULL || coef == NULL || !cs__lsq_stats_array_valid(stats, 1))
        return CS_ERR_INVALID;
    double W = 0.0, sx = 0.0, sy = 0.0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (!isfinite(x[i]) || !isfinite(y[i]) || !isfinite(wi) || wi < 0.0)
            return CS_ERR_INVALID;
        if (wi > 0.0) {
            used++;
            W += wi;
            sx += wi * x[i];
            sy += wi * y[i];
        }
    }
    if (used < 2)
        return CS_ERR_DIMENSION;
    /* Two passes: means, then centred sums (no cancellation of large sums). */
    double xm = sx / W, ym = sy / W;
    double sxx = 0.0, sxy = 0.0, syy = 0.0, sx2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        double dx = x[i] - xm, dy = y[i] - ym;
        sxx += wi * dx * dx;
        sxy += wi * dx * dy;
        syy += wi * dy * dy;
        sx2 += wi * x[i] * x[i];
    }
    if (!(sxx > 0.0))
        return CS_ERR_SINGULAR;
    double slope = sxy / sxx;
    double icpt = ym - slope * xm;
    if (!isfinite(slope) || !isfinite(icpt))
        return CS_ERR_NUMERIC;
    /* Third pass: residuals directly (syy - sxy^2/sxx would cancel). */
    double rss = 0.0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        double e = (y[i] - ym) - slope * (x[i] - xm);
        rss += wi * e * e;
    }
    double dof = (double)used - 2.0;
    double sigma = dof > 0.0 ? sqrt(rss / dof) : CS__NAN;
    coef[0] = icpt;
    coef[1] = slope;
    if (se != NULL) {
        se[0] = sigma * sqrt(1.0 / W + xm * xm / sxx);
        se[1] = sigma / sqrt(sxx);
    }
    if (stats != NULL) {
        cs_lsq_stats s = {.size = sizeof(cs_lsq_stats)};
        s.rank = 2;
        s.n_used = used;
        s.dof = dof;
        s.rss = rss;
        s.tss = syy;
        s.sigma = sigma;
        s.r2 = syy > 0.0 ? 1.0 - rss / syy : CS__NAN;
        s.adj_r2 = dof > 0.0 && syy > 0.0 ? 1.0 - (1.0 - s.r2) * ((double)used - 1.0) / dof
                                          : CS__NAN;
        /* [sqrt(w), sqrt(w) x] with unit columns has Gram [[1, r], [r, 1]],
         * r = sum(w x) / sqrt(W sum(w x^2)); singular values sqrt(1 +- |r|),
         * and 1 - r^2 = sxx / sum(w x^2) without cancellation. */
        double r = fabs(sx) / sqrt(W * sx2);
        double one_minus_r = (sxx / sx2) / (1.0 + r);
        s.cond = sqrt((1.0 + r) / one_minus_r);
        cs__lsq_stats_store(stats, 0, &s);
    }
    return CS_OK;
}

/* ---- polynomials ------------------------------------------------------------- */

/* T[j + k * (d+1)] = C(k, j) (-c)^(k-j) / s^k: monomial coefficients of x
 * from coefficients in t = (x - c) / s, m = T a. */
static void poly_transform(size_t d, double c, double s, double *T)
{
    const size_t q = d + 1;
    for (size_t k = 0; k < q; k++) {
        double inv_sk = 1.0;
        for (size_t e = 0; e < k; e++)
            inv_sk /= s;
        /* binomials by Pascal's rule are exact in double for k <= 20 */
        double binom = 1.0; /* C(k, j) for j = k downwards */
        double powc = 1.0;  /* (-c)^(k - j) */
        for (size_t jj = k + 1; jj-- > 0;) {
            T[jj + k * q] = binom * powc * inv_sk;
            /* C(k, jj - 1) = C(k, jj) * jj / (k - jj + 1) */
            if (jj > 0)
                binom = binom * (double)jj / (double)(k - jj + 1);
            powc *= -c;
        }
        for (size_t j = k + 1; j < q; j++)
            T[j + k * q] = 0.0;
    }
}

cs_status cs_lsq_polyfit(size_t n, const double *x, const double *y, const double *w,
                         size_t degree, cs_lsq_poly *poly, double *se_monomial,
                         cs_lsq_stats *stats, const cs_allocator *alloc)
{
    if (x == NULL || y == NULL || poly == NULL || degree > CS_LSQ_POLY_MAX_DEGREE ||
        poly->size < CS__LSQ_POLY_MIN_SIZE || poly->size > sizeof(cs_lsq_poly) ||
        !cs__lsq_stats_array_valid(stats, 1))
        return CS_ERR_INVALID;
    cs_allocator al;
    if (!cs__allocator_resolve(&al, alloc))
        return CS_ERR_INVALID;
    const size_t q = degree + 1;
    double lo = CS__INF, hi = -CS__INF;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (!isfinite(x[i]) || !isfinite(y[i]) || !isfinite(wi) || wi < 0.0)
            return CS_ERR_INVALID;
        if (wi > 0.0) {
            lo = x[i] < lo ? x[i] : lo;
            hi = x[i] > hi ? x[i] : hi;
        }
    }
    if (n < q)
        return CS_ERR_DIMENSION;
    if (!(lo <= hi))
        return CS_ERR_SINGULAR; /* no point with a positive weight */
    double center = 0.5 * lo + 0.5 * hi;
    double scale = 0.5 * hi - 0.5 * lo;
    if (degree == 0)
        scale = scale > 0.0 ? scale : 1.0;
    else if (!(scale > 0.0))
        return CS_ERR_SINGULAR;

    cs_lsq *ws = NULL;
    cs_status st = cs_lsq_create(n, q, NULL, &al, &ws);
    if (st != CS_OK)
        return st;
    fit_in in = {CS_LSQ_COL_MAJOR, x, n, y, n, w, true, true, center, scale};
    st = cs__lsq_core_fit(ws, &in, se_monomial != NULL, stats != NULL);
    if (st == CS_OK) {
        cs_lsq_poly out = lsq_poly_defaults;
        out.degree = degree;
        out.center = center;
        out.scale = scale;
        double T[(CS_LSQ_POLY_MAX_DEGREE + 1) * (CS_LSQ_POLY_MAX_DEGREE + 1)];
        poly_transform(degree, center, scale, T);
        for (size_t k = 0; k < q; k++)
            out.coef[k] = ws->cbuf[k];
        for (size_t j = 0; j < q; j++) {
            double acc = 0.0;
            for (size_t k = j; k < q; k++)
                acc += T[j + k * q] * out.coef[k];
            out.monomial[j] = acc;
        }
        if (se_monomial != NULL) {
            /* cov(a) = sigma^2 F F', F = D^-1 S (S the inverse of the scaled
             * R); cov(m) = T cov(a) T', so se_m_j = sigma ||(T F)_j,:||. */
            double sigma = ws->dof > 0.0 ? sqrt(ws->rss[0] / ws->dof) : CS__NAN;
            for (size_t j = 0; j < q; j++) {
                double ss = 0.0;
                for (size_t l = 0; l < q; l++) {
                    double g = 0.0;
                    for (size_t k = j; k <= l; k++)
                        g += T[j + k * q] * ws->sinv[k + l * q] / ws->d[k];
                    ss += g * g;
                }
                se_monomial[j] = ws->have_sinv ? sigma * sqrt(ss) : CS__NAN;
            }
        }
        if (stats != NULL) {
            cs_lsq_stats s;
            cs__lsq_make_stats(ws, 0, true, ws->dof, ws->rank, &s);
            cs__lsq_stats_store(stats, 0, &s);
        }
        size_t sz = poly->size;
        out.size = sz;
        memcpy(poly, &out, sz);
    }
    cs_lsq_destroy(ws);
    return st;
}

cs_status cs_lsq_poly_eval(const cs_lsq_poly *poly, size_t n, const double *x, double *out)
{
    if (poly == NULL || (n > 0 && (x == NULL || out == NULL)))
        return CS_ERR_INVALID;
    if (poly->size < CS__LSQ_POLY_MIN_SIZE || poly->size > sizeof(cs_lsq_poly) ||
        poly->degree > CS_LSQ_POLY_MAX_DEGREE || !isfinite(poly->center) ||
        !isfinite(poly->scale) || !(poly->scale > 0.0) ||
        !cs__all_finite(poly->coef, poly->degree + 1))
        return CS_ERR_INVALID;
    if (!cs__all_finite(x, n))
        return CS_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        double t = (x[i] - poly->center) / poly->scale;
        double v = poly->coef[poly->degree];
        for (size_t k = poly->degree; k-- > 0;)
            v = v * t + poly->coef[k];
        out[i] = v;
    }
    return CS_OK;
}
