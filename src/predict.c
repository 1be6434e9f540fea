/* Runtime predictor: per-key and global log-linear square-root RLS models,
 * an empirical error band, and the history / user-estimate fallbacks. */
#include "cloudsched/predict.h"

#include <float.h>
#include <stdlib.h>

#include "internal.h"
#include "lsq_internal.h"
#include "rls_internal.h"

static const cs_predict_options predict_options_defaults = {
    .size = sizeof(cs_predict_options),
    .num_features = 0,
    .estimate_feature = 1,
    .min_samples = 0,
    .forgetting = 1.0,
    .ridge = 1e-3,
    .quantile = 0.9,
    .band_window = 64,
    .fallback = CS_PREDICT_FALLBACK_HISTORY,
    .use_global = 1,
    .cap_at_estimate = 1,
    .min_value = 1.0,
};
#define PREDICT_OPTIONS_MIN_SIZE sizeof(cs_predict_options)

static const cs_predict_model_info model_info_defaults = {
    .size = sizeof(cs_predict_model_info),
};
#define MODEL_INFO_MIN_SIZE sizeof(cs_predict_model_info)

cs_status cs_predict_options_init(cs_predict_options *opts, size_t size)
{
    return cs__struct_init(opts, size, sizeof(cs_predict_options), PREDICT_OPTIONS_MIN_SIZE,
                           &predict_options_defaults);
}

cs_status cs_predict_model_info_init(cs_predict_model_info *info, size_t size)
{
    return cs__struct_init(info, size, sizeof(cs_predict_model_info), MODEL_INFO_MIN_SIZE,
                           &model_info_defaults);
}

/* One model: slot 0 is the global model, slots 1.. belong to keys. The
 * factors, coefficients and band windows live in parallel arrays indexed
 * by slot (struct of arrays, one block per slot). */
typedef struct pslot {
    uint64_t key;
    uint64_t samples;
    uint32_t ring_len;
    uint32_t ring_pos;
    uint32_t hist_n;
    int coef_ok;
    double hist[2]; /* hist[0] the most recent observed value */
} pslot;

struct cs_predict {
    cs_allocator alloc;
    cs_predict_options o;
    size_t dim, q; /* q = dim + 1: the factor's order */
    size_t min_samples;
    double sqrt_lambda;
    double log_floor;

    size_t nslots;
    size_t slot_cap, t_cap, c_cap, r_cap; /* capacities in slots */
    pslot *slots;
    double *T;    /* q * q per slot */
    double *coef; /* dim per slot */
    double *ring; /* band_window per slot */

    size_t *table; /* open addressing: slot index, 0 = empty */
    size_t tcap;   /* power of two */

    double *S;    /* q * q scratch */
    double *v;    /* q scratch */
    double *w;    /* q scratch */
    double *ctmp; /* dim scratch */
};

void cs_predict_destroy(cs_predict *p)
{
    if (p == NULL)
        return;
    cs_allocator a = p->alloc;
    cs__free(&a, p->slots);
    cs__free(&a, p->T);
    cs__free(&a, p->coef);
    cs__free(&a, p->ring);
    cs__free(&a, p->table);
    cs__free(&a, p->S);
    a.free(a.ctx, p);
}

static bool options_valid(const cs_predict_options *o)
{
    return o->num_features <= CS_PREDICT_MAX_FEATURES && o->forgetting > 0.0 &&
           o->forgetting <= 1.0 && isfinite(o->ridge) && o->ridge >= 0.0 &&
           o->quantile > 0.0 && o->quantile < 1.0 && o->band_window >= 1 &&
           o->band_window <= CS_PREDICT_MAX_WINDOW &&
           (o->fallback == CS_PREDICT_FALLBACK_HISTORY ||
            o->fallback == CS_PREDICT_FALLBACK_USER) &&
           isfinite(o->min_value) && o->min_value > 0.0;
}

/* Grow the per-slot arrays to hold `need` slots (each array unchanged on
 * failure; capacity left over from a partial failure is harmless). */
static bool reserve_slots(cs_predict *p, size_t need)
{
    void *s = p->slots, *t = p->T, *c = p->coef, *r = p->ring;
    bool ok = cs__reserve(&p->alloc, &s, &p->slot_cap, need, sizeof(pslot));
    p->slots = s;
    ok = ok && cs__reserve(&p->alloc, &t, &p->t_cap, need, p->q * p->q * sizeof(double));
    p->T = t;
    ok = ok && cs__reserve(&p->alloc, &c, &p->c_cap, need, p->dim * sizeof(double));
    p->coef = c;
    ok = ok && cs__reserve(&p->alloc, &r, &p->r_cap, need,
                           p->o.band_window * sizeof(double));
    p->ring = r;
    return ok;
}

static void slot_clear(cs_predict *p, size_t s, uint64_t key)
{
    pslot *sl = &p->slots[s];
    memset(sl, 0, sizeof *sl);
    sl->key = key;
    double *T = p->T + s * p->q * p->q;
    for (size_t i = 0; i < p->q * p->q; i++)
        T[i] = 0.0;
    for (size_t j = 0; j < p->dim; j++)
        p->coef[s * p->dim + j] = 0.0;
}

cs_status cs_predict_create(const cs_predict_options *opts, const cs_allocator *alloc,
                            cs_predict **out)
{
    if (out == NULL)
        return CS_ERR_INVALID;
    cs_allocator al;
    if (!cs__allocator_resolve(&al, alloc))
        return CS_ERR_INVALID;
    cs_predict_options o = predict_options_defaults;
    if (opts != NULL && !cs__struct_import(&o, opts, sizeof o, PREDICT_OPTIONS_MIN_SIZE,
                                           &predict_options_defaults))
        return CS_ERR_INVALID;
    if (!options_valid(&o))
        return CS_ERR_INVALID;
    cs_predict *p = cs__alloc(&al, sizeof *p);
    if (p == NULL)
        return CS_ERR_NOMEM;
    memset(p, 0, sizeof *p);
    p->alloc = al;
    p->o = o;
    p->dim = 1 + o.num_features + (o.estimate_feature ? 1 : 0);
    p->q = p->dim + 1;
    p->min_samples = o.min_samples ? o.min_samples : 2 * (p->dim + 1);
    p->sqrt_lambda = sqrt(o.forgetting);
    p->log_floor = log(o.min_value);
    p->tcap = 16;
    p->table = cs__calloc_array(&al, p->tcap, sizeof(size_t));
    /* scratch: S (q*q), v (q), w (q), ctmp (dim) in one block */
    p->S = cs__alloc_array(&al, p->q * p->q + 2 * p->q + p->dim, sizeof(double));
    if (p->table == NULL || p->S == NULL || !reserve_slots(p, 1)) {
        cs_predict_destroy(p);
        return CS_ERR_NOMEM;
    }
    p->v = p->S + p->q * p->q;
    p->w = p->v + p->q;
    p->ctmp = p->w + p->q;
    p->nslots = 1;
    slot_clear(p, 0, CS_ID_NONE);
    *out = p;
    return CS_OK;
}

/* ---- key table -------------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t find_slot(const cs_predict *p, uint64_t key)
{
    size_t mask = p->tcap - 1;
    for (size_t i = (size_t)mix64(key) & mask;; i = (i + 1) & mask) {
        size_t s = p->table[i];
        if (s == 0)
            return 0;
        if (p->slots[s].key == key)
            return s;
    }
}

static void table_insert(size_t *table, size_t tcap, const pslot *slots, size_t s)
{
    size_t mask = tcap - 1;
    size_t i = (size_t)mix64(slots[s].key) & mask;
    while (table[i] != 0)
        i = (i + 1) & mask;
    table[i] = s;
}

/* Slot of `key`, created if needed. All allocation happens before any
 * state changes, so a failure leaves the predictor as it was. */
static cs_status slot_for(cs_predict *p, uint64_t key, size_t *out)
{
    size_t s = find_slot(p, key);
    if (s != 0) {
        *out = s;
        return CS_OK;
    }
    size_t keys = p->nslots - 1;
    size_t *newtab = NULL;
    size_t newcap = p->tcap;
    if ((keys + 1) * 2 > p->tcap) {
        if (p->tcap > SIZE_MAX / 2 / sizeof(size_t))
            return CS_ERR_OVERFLOW;
        newcap = p->tcap * 2;
        newtab = cs__calloc_array(&p->alloc, newcap, sizeof(size_t));
        if (newtab == NULL)
            return CS_ERR_NOMEM;
    }
    if (!reserve_slots(p, p->nslots + 1)) {
        cs__free(&p->alloc, newtab);
        return CS_ERR_NOMEM;
    }
    s = p->nslots++;
    slot_clear(p, s, key);
    if (newtab != NULL) {
        for (size_t t = 1; t < s; t++)
            table_insert(newtab, newcap, p->slots, t);
        cs__free(&p->alloc, p->table);
        p->table = newtab;
        p->tcap = newcap;
    }
    table_insert(p->table, p->tcap, p->slots, s);
    *out = s;
    return CS_OK;
}

/* ---- models ------------------------------------------------------------------- */

/* The model's feature vector; false when a feature is missing. */
static bool make_vector(const cs_predict *p, const double *features, double user_estimate,
                        double *v)
{
    if (p->o.num_features > 0 && features == NULL)
        return false;
    if (p->o.estimate_feature && !(user_estimate > 0.0))
        return false;
    size_t k = 0;
    v[k++] = 1.0;
    for (size_t j = 0; j < p->o.num_features; j++)
        v[k++] = features[j];
    if (p->o.estimate_feature)
        v[k++] = log(user_estimate > p->o.min_value ? user_estimate : p->o.min_value);
    return true;
}

static bool slot_ready(const cs_predict *p, size_t s)
{
    return p->slots[s].coef_ok && p->slots[s].samples >= p->min_samples;
}

static double dotv(const double *a, const double *b, size_t n)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
}

/* Record the out-of-sample residual, absorb (v, target), re-solve. */
static void slot_learn(cs_predict *p, size_t s, const double *vec, double target)
{
    pslot *sl = &p->slots[s];
    const size_t q = p->q, dim = p->dim;
    double *T = p->T + s * q * q;
    double *coef = p->coef + s * dim;
    if (slot_ready(p, s)) {
        double *ring = p->ring + s * p->o.band_window;
        ring[sl->ring_pos] = target - dotv(vec, coef, dim);
        sl->ring_pos = (uint32_t)((sl->ring_pos + 1) % p->o.band_window);
        if (sl->ring_len < p->o.band_window)
            sl->ring_len++;
    }
    memcpy(p->v, vec, dim * sizeof(double));
    p->v[dim] = target;
    cs__rls_absorb_row(T, q, q, p->v, p->sqrt_lambda);
    sl->samples++;
    if (cs__rls_solve_ridge(T, q, dim, p->o.ridge, p->S, p->w, p->ctmp)) {
        memcpy(coef, p->ctmp, dim * sizeof(double));
        sl->coef_ok = 1;
    } else {
        sl->coef_ok = 0;
    }
}

/* Features given: the count must match and every value be finite. */
static cs_status check_features(const cs_predict *p, const double *features, size_t count)
{
    if (features == NULL)
        return CS_OK;
    if (count != p->o.num_features)
        return CS_ERR_DIMENSION;
    return cs__all_finite(features, count) ? CS_OK : CS_ERR_INVALID;
}

cs_status cs_predict_observe(cs_predict *p, uint64_t key, const double *features,
                             size_t num_features, double user_estimate, double actual)
{
    if (p == NULL || key == CS_ID_NONE || !isfinite(user_estimate) || user_estimate < 0.0 ||
        !isfinite(actual) || actual < 0.0)
        return CS_ERR_INVALID;
    cs_status fst = check_features(p, features, num_features);
    if (fst != CS_OK)
        return fst;
    size_t s;
    cs_status st = slot_for(p, key, &s);
    if (st != CS_OK)
        return st;
    double vec[CS_PREDICT_MAX_FEATURES + 2];
    if (make_vector(p, features, user_estimate, vec)) {
        double target = log(actual > p->o.min_value ? actual : p->o.min_value);
        slot_learn(p, s, vec, target);
        if (p->o.use_global)
            slot_learn(p, 0, vec, target);
    }
    pslot *sl = &p->slots[s];
    sl->hist[1] = sl->hist[0];
    sl->hist[0] = actual;
    if (sl->hist_n < 2)
        sl->hist_n++;
    return CS_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Empirical quantile (linear interpolation between order statistics, the
 * "type 7" definition of Hyndman and Fan). */
static double band_quantile(const cs_predict *p, size_t s)
{
    const pslot *sl = &p->slots[s];
    size_t n = sl->ring_len;
    double buf[CS_PREDICT_MAX_WINDOW];
    memcpy(buf, p->ring + s * p->o.band_window, n * sizeof(double));
    qsort(buf, n, sizeof(double), cmp_double);
    double h = (double)(n - 1) * p->o.quantile;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return buf[n - 1];
    return buf[lo] + (h - (double)lo) * (buf[lo + 1] - buf[lo]);
}

cs_status cs_predict_estimate(const cs_predict *p, uint64_t key, const double *features,
                              size_t num_features, double user_estimate, double *estimate,
                              double *upper_bound, cs_predict_source *source)
{
    if (p == NULL || estimate == NULL || key == CS_ID_NONE || !isfinite(user_estimate) ||
        user_estimate < 0.0)
        return CS_ERR_INVALID;
    cs_status fst = check_features(p, features, num_features);
    if (fst != CS_OK)
        return fst;
    size_t s = find_slot(p, key); /* 0: unknown key */
    double est = 0.0, up = 0.0;
    cs_predict_source src = CS_PREDICT_SOURCE_USER;
    bool found = false;

    double vec[CS_PREDICT_MAX_FEATURES + 2];
    if (make_vector(p, features, user_estimate, vec)) {
        size_t m = 0;
        if (s != 0 && slot_ready(p, s)) {
            m = s;
            src = CS_PREDICT_SOURCE_MODEL;
            found = true;
        } else if (p->o.use_global && slot_ready(p, 0)) {
            m = 0;
            src = CS_PREDICT_SOURCE_GLOBAL;
            found = true;
        }
        if (found) {
            double mu = dotv(vec, p->coef + m * p->dim, p->dim);
            /* keep exp() finite whatever the coefficients */
            mu = mu > 700.0 ? 700.0 : (mu < -700.0 ? -700.0 : mu);
            est = exp(mu);
            up = est;
            if (p->slots[m].ring_len > 0) {
                double u = exp(fmin(mu + band_quantile(p, m), 700.0));
                up = u > est ? u : est;
            }
        }
    }
    if (!found) {
        bool has_hist = s != 0 && p->slots[s].hist_n > 0;
        bool has_user = user_estimate > 0.0;
        bool hist_first = p->o.fallback == CS_PREDICT_FALLBACK_HISTORY;
        if (has_hist && (hist_first || !has_user)) {
            const pslot *sl = &p->slots[s];
            if (sl->hist_n == 2) {
                est = 0.5 * sl->hist[0] + 0.5 * sl->hist[1];
                up = sl->hist[0] > sl->hist[1] ? sl->hist[0] : sl->hist[1];
            } else {
                est = up = sl->hist[0];
            }
            src = CS_PREDICT_SOURCE_HISTORY;
            found = true;
        } else if (has_user) {
            est = up = user_estimate;
            src = CS_PREDICT_SOURCE_USER;
            found = true;
        }
    }
    if (!found)
        return CS_ERR_NOT_FOUND;
    if (p->o.cap_at_estimate && user_estimate > 0.0) {
        est = est < user_estimate ? est : user_estimate;
        up = up < user_estimate ? up : user_estimate;
    }
    *estimate = est;
    if (upper_bound != NULL)
        *upper_bound = up;
    if (source != NULL)
        *source = src;
    return CS_OK;
}

cs_status cs_predict_extend(double estimate, double elapsed, double user_estimate,
                            double *out)
{
    if (out == NULL || !isfinite(estimate) || !(estimate > 0.0) || !isfinite(elapsed) ||
        elapsed < 0.0 || !isfinite(user_estimate) || user_estimate < 0.0)
        return CS_ERR_INVALID;
    double e = estimate;
    while (e <= elapsed && e <= DBL_MAX / 2.0)
        e *= 2.0;
    if (e <= elapsed)
        e = DBL_MAX;
    if (user_estimate > elapsed && e > user_estimate && estimate <= elapsed)
        e = user_estimate;
    *out = e;
    return CS_OK;
}

/* ---- introspection -------------------------------------------------------------- */

static cs_status slot_of_query(const cs_predict *p, uint64_t key, size_t *s)
{
    if (key == CS_ID_NONE) {
        *s = 0;
        return CS_OK;
    }
    *s = find_slot(p, key);
    return *s == 0 ? CS_ERR_NOT_FOUND : CS_OK;
}

cs_status cs_predict_get_model_info(const cs_predict *p, uint64_t key, cs_predict_model_info *info)
{
    if (p == NULL || info == NULL || info->size < MODEL_INFO_MIN_SIZE ||
        info->size > sizeof(cs_predict_model_info))
        return CS_ERR_INVALID;
    size_t s;
    cs_status st = slot_of_query(p, key, &s);
    if (st != CS_OK)
        return st;
    cs_predict_model_info out = model_info_defaults;
    out.size = info->size;
    out.dim = p->dim;
    out.samples = p->slots[s].samples;
    out.ready = slot_ready(p, s) ? 1 : 0;
    out.band_count = p->slots[s].ring_len;
    out.history_count = p->slots[s].hist_n;
    memcpy(info, &out, info->size);
    return CS_OK;
}

cs_status cs_predict_coefficients(const cs_predict *p, uint64_t key, double *coef, size_t cap,
                                  size_t *count)
{
    if (p == NULL || count == NULL || (coef == NULL && cap > 0))
        return CS_ERR_INVALID;
    *count = p->dim;
    size_t s;
    cs_status st = slot_of_query(p, key, &s);
    if (st != CS_OK)
        return st;
    if (cap < p->dim)
        return CS_ERR_BUFFER_TOO_SMALL;
    if (!p->slots[s].coef_ok)
        return CS_ERR_STATE;
    memcpy(coef, p->coef + s * p->dim, p->dim * sizeof(double));
    return CS_OK;
}

size_t cs_predict_num_keys(const cs_predict *p)
{
    return p == NULL ? 0 : p->nslots - 1;
}

const char *cs_predict_source_name(cs_predict_source source)
{
    switch (source) {
    case CS_PREDICT_SOURCE_MODEL:
        return "model";
    case CS_PREDICT_SOURCE_GLOBAL:
        return "global";
    case CS_PREDICT_SOURCE_HISTORY:
        return "history";
    case CS_PREDICT_SOURCE_USER:
        return "user";
    }
    return "unknown";
}
