/* Fair-share state: tenants, weights, decayed usage (Slurm's classic
 * fair-share factor) and DRF dominant shares (Ghodsi et al., NSDI 2011).
 *
 * Usage is stored in decay-free units: u_i = sum_k a_k 2^((t_k - epoch) / h),
 * so that U_i(t) = u_i 2^(-(t - epoch) / h). A charge touches one tenant in
 * O(1) and the order of u_i / w_i (which is the order of the fair-share
 * factors) never changes as time passes, so queues need not re-sort. When
 * (now - epoch) / h passes 64 the epoch moves forward by k half-lives and every
 * u_i is multiplied by 2^-k, which is exact in binary floating point. */
#include "cloudsched/fair.h"

#include "fair_internal.h"
#include "queue_internal.h"

/* Rescale once the charge multiplier would exceed 2^64. */
#define RESCALE_AFTER 64.0
/* After this many half-lives every finite usage (< 2^1024) has decayed below
 * the smallest subnormal double: the usage is simply reset to zero. */
#define FORGET_AFTER 2100.0

typedef struct tenant_rec {
    uint64_t id;        /* CS_ID_NONE when the slot is free */
    double weight;
    double usage;       /* decay-free units */
    double dshare;      /* dominant share */
    uint64_t pins;      /* pending tasks in borrowing queues */
    uint32_t next_free; /* free-list link */
} tenant_rec;

struct cs_fair {
    cs_allocator alloc;
    double half_life;    /* 0 = no decay */
    double default_weight;
    size_t nres;
    double now;          /* latest charge time; -inf before the first */
    double epoch;        /* reference time of the decay-free units */
    double usage_total;  /* sum of usage, decay-free units */
    double weight_total; /* sum of weights */
    int64_t capacity[CS_FAIR_MAX_RESOURCES];

    tenant_rec *t;           /* slots [0, nslots) */
    size_t t_cap, nslots, ntenants;
    int64_t *amat;       /* nslots x nres allocation matrix */
    size_t amat_cap;     /* in elements */
    uint32_t free_head;
    cs_idmap map;
    cs__fair_observer *observers;
};

static const cs_fair_options fair_options_defaults = {
    .size = sizeof(cs_fair_options),
    .half_life = 604800.0,
    .num_resources = 0,
    .default_weight = 1.0,
};

#define FAIR_OPTIONS_MIN_SIZE \
    (offsetof(cs_fair_options, default_weight) + sizeof(double))

cs_status cs_fair_options_init(cs_fair_options *options, size_t size)
{
    return cs__struct_init(options, size, sizeof(cs_fair_options), FAIR_OPTIONS_MIN_SIZE,
                           &fair_options_defaults);
}

cs_status cs_fair_create(const cs_fair_options *options, const cs_allocator *alloc,
                         cs_fair **out)
{
    cs_fair_options o = fair_options_defaults;
    cs_allocator a;
    if (out == NULL || !cs__allocator_resolve(&a, alloc))
        return CS_ERR_INVALID;
    if (options != NULL &&
        !cs__struct_import(&o, options, sizeof o, FAIR_OPTIONS_MIN_SIZE,
                           &fair_options_defaults))
        return CS_ERR_INVALID;
    if (!isfinite(o.half_life) || o.half_life < 0.0 ||
        o.num_resources > CS_FAIR_MAX_RESOURCES || !isfinite(o.default_weight) ||
        o.default_weight <= 0.0)
        return CS_ERR_INVALID;
    cs_fair *f = cs__alloc(&a, sizeof *f);
    if (f == NULL)
        return CS_ERR_NOMEM;
    memset(f, 0, sizeof *f);
    f->alloc = a;
    f->half_life = o.half_life;
    f->default_weight = o.default_weight;
    f->nres = o.num_resources;
    f->now = -CS__INF;
    f->free_head = CS__NIL;
    *out = f;
    return CS_OK;
}

void cs_fair_destroy(cs_fair *fair)
{
    if (fair == NULL)
        return;
    cs_allocator a = fair->alloc;
    cs__free(&a, fair->t);
    cs__free(&a, fair->amat);
    cs__idmap_free(&a, &fair->map);
    cs__free(&a, fair);
}

/* ---- tenants ------------------------------------------------------------ */

uint32_t cs__fair_find(const cs_fair *f, uint64_t tenant)
{
    return cs__idmap_get(&f->map, tenant);
}

uint32_t cs__fair_next_index(const cs_fair *f)
{
    return f->free_head != CS__NIL ? f->free_head : (uint32_t)f->nslots;
}

uint64_t cs__fair_tenant_id(const cs_fair *f, uint32_t index)
{
    return f->t[index].id;
}

static double dominant_share(const cs_fair *f, const int64_t *alloc)
{
    double d = 0.0;
    for (size_t k = 0; k < f->nres; k++) {
        double s;
        if (f->capacity[k] > 0)
            s = (double)alloc[k] / (double)f->capacity[k];
        else
            s = alloc[k] > 0 ? CS__INF : 0.0;
        if (s > d)
            d = s;
    }
    return d;
}

double cs__fair_key(const cs_fair *f, uint32_t index, cs__fair_key_kind kind)
{
    const tenant_rec *t = &f->t[index];
    return (kind == CS__FAIR_KEY_DRF ? t->dshare : t->usage) / t->weight;
}

/* Create an unknown tenant with the default weight: reserve, then mutate. */
static cs_status tenant_create(cs_fair *f, uint64_t id, uint32_t *index)
{
    uint32_t idx = cs__fair_next_index(f);
    if (idx == CS__NIL)
        return CS_ERR_OVERFLOW;
    size_t rows = (size_t)idx + 1, cells;
    void *tp = f->t, *ap = f->amat;
    if (!cs__mul_size(rows, f->nres, &cells))
        return CS_ERR_OVERFLOW;
    if (!cs__reserve(&f->alloc, &tp, &f->t_cap, rows, sizeof(tenant_rec)))
        return CS_ERR_NOMEM;
    f->t = tp;
    if (!cs__reserve(&f->alloc, &ap, &f->amat_cap, cells, sizeof(int64_t)))
        return CS_ERR_NOMEM;
    f->amat = ap;
    if (!cs__idmap_reserve(&f->alloc, &f->map, 1))
        return CS_ERR_NOMEM;
    /* Nothing below can fail. */
    if (idx == f->nslots)
        f->nslots++;
    else
        f->free_head = f->t[idx].next_free;
    tenant_rec *t = &f->t[idx];
    t->id = id;
    t->weight = f->default_weight;
    t->usage = 0.0;
    t->dshare = 0.0;
    t->pins = 0;
    t->next_free = CS__NIL;
    if (f->nres > 0)
        memset(f->amat + (size_t)idx * f->nres, 0, f->nres * sizeof(int64_t));
    cs__idmap_put(&f->map, id, idx);
    f->ntenants++;
    f->weight_total += t->weight;
    *index = idx;
    return CS_OK;
}

static cs_status tenant_get(cs_fair *f, uint64_t id, uint32_t *index)
{
    *index = cs__idmap_get(&f->map, id);
    return *index != CS__NIL ? CS_OK : tenant_create(f, id, index);
}

static void notify_one(cs_fair *f, uint32_t index)
{
    for (cs__fair_observer *o = f->observers; o != NULL; o = o->next)
        o->tenant_changed(o, index);
}

static void notify_all(cs_fair *f)
{
    for (cs__fair_observer *o = f->observers; o != NULL; o = o->next)
        o->all_changed(o);
}

void cs__fair_attach(cs_fair *f, cs__fair_observer *o)
{
    o->next = f->observers;
    f->observers = o;
}

void cs__fair_detach(cs_fair *f, cs__fair_observer *o)
{
    for (cs__fair_observer **p = &f->observers; *p != NULL; p = &(*p)->next)
        if (*p == o) {
            *p = o->next;
            return;
        }
}

cs_status cs__fair_pin(cs_fair *f, uint64_t tenant_id, uint32_t *index)
{
    cs_status st = tenant_get(f, tenant_id, index);
    if (st == CS_OK)
        f->t[*index].pins++;
    return st;
}

void cs__fair_unpin(cs_fair *f, uint32_t index)
{
    f->t[index].pins--;
}

cs_status cs_fair_set_weight(cs_fair *fair, uint64_t tenant_id, double weight)
{
    if (fair == NULL || tenant_id == CS_ID_NONE || !isfinite(weight) || weight <= 0.0)
        return CS_ERR_INVALID;
    uint32_t idx;
    cs_status st = tenant_get(fair, tenant_id, &idx);
    if (st != CS_OK)
        return st;
    fair->weight_total += weight - fair->t[idx].weight;
    fair->t[idx].weight = weight;
    notify_one(fair, idx);
    return CS_OK;
}

/* Sum usage and weights afresh, so that removals leave no rounding residue. */
static void recompute_totals(cs_fair *f)
{
    double u = 0.0, w = 0.0;
    for (size_t i = 0; i < f->nslots; i++)
        if (f->t[i].id != CS_ID_NONE) {
            u += f->t[i].usage;
            w += f->t[i].weight;
        }
    f->usage_total = u;
    f->weight_total = w;
}

cs_status cs_fair_remove_tenant(cs_fair *fair, uint64_t tenant_id)
{
    if (fair == NULL)
        return CS_ERR_INVALID;
    uint32_t idx = cs__idmap_get(&fair->map, tenant_id);
    if (idx == CS__NIL)
        return CS_ERR_NOT_FOUND;
    const int64_t *row = fair->amat + (size_t)idx * fair->nres;
    if (fair->t[idx].pins > 0)
        return CS_ERR_BUSY;
    for (size_t k = 0; k < fair->nres; k++)
        if (row[k] != 0)
            return CS_ERR_BUSY;
    cs__idmap_del(&fair->map, tenant_id);
    fair->t[idx].id = CS_ID_NONE;
    fair->t[idx].next_free = fair->free_head;
    fair->free_head = idx;
    fair->ntenants--;
    recompute_totals(fair);
    return CS_OK;
}

/* ---- usage -------------------------------------------------------------- */

cs_status cs_fair_charge(cs_fair *fair, uint64_t tenant_id, double amount, double now)
{
    if (fair == NULL || tenant_id == CS_ID_NONE || !isfinite(amount) || amount < 0.0 ||
        !isfinite(now) || now < fair->now)
        return CS_ERR_INVALID;
    cs_fair *f = fair;
    uint32_t idx = cs__idmap_get(&f->map, tenant_id);

    /* Work out the new reference epoch and scaling without touching state. */
    double epoch = f->epoch, add = amount;
    int shift = 0;      /* multiply every usage by 2^-shift */
    bool forget = false; /* every usage decayed to zero */
    if (f->half_life > 0.0) {
        if (f->usage_total == 0.0) {
            epoch = now;
        } else {
            double e = (now - epoch) / f->half_life;
            if (e > FORGET_AFTER) {
                forget = true;
                epoch = now;
            } else if (e > RESCALE_AFTER) {
                shift = (int)floor(e);
                epoch += shift * f->half_life;
                if (epoch > now)
                    epoch = now;
            }
        }
        add = amount * exp2((now - epoch) / f->half_life);
    }
    double old = idx == CS__NIL || forget ? 0.0 : ldexp(f->t[idx].usage, -shift);
    double total = forget ? 0.0 : ldexp(f->usage_total, -shift);
    double updated = old + add;
    total += add;
    if (!isfinite(updated) || !isfinite(total))
        return CS_ERR_OVERFLOW;
    if (idx == CS__NIL) {
        cs_status st = tenant_create(f, tenant_id, &idx);
        if (st != CS_OK)
            return st;
    }
    /* Commit. */
    if (forget || shift != 0)
        for (size_t i = 0; i < f->nslots; i++)
            f->t[i].usage = forget ? 0.0 : ldexp(f->t[i].usage, -shift);
    f->t[idx].usage = updated;
    f->usage_total = total;
    f->epoch = epoch;
    f->now = now;
    if (forget || shift != 0)
        notify_all(f);
    else
        notify_one(f, idx);
    return CS_OK;
}

cs_status cs_fair_usage(const cs_fair *fair, uint64_t tenant_id, double now, double *usage)
{
    if (fair == NULL || usage == NULL || !isfinite(now) || now < fair->now)
        return CS_ERR_INVALID;
    uint32_t idx = cs__idmap_get(&fair->map, tenant_id);
    if (idx == CS__NIL)
        return CS_ERR_NOT_FOUND;
    double u = fair->t[idx].usage;
    if (fair->half_life > 0.0 && u != 0.0)
        u *= exp2(-(now - fair->epoch) / fair->half_life);
    *usage = u;
    return CS_OK;
}

cs_status cs_fair_factor(const cs_fair *fair, uint64_t tenant_id, double *factor)
{
    if (fair == NULL || factor == NULL)
        return CS_ERR_INVALID;
    uint32_t idx = cs__idmap_get(&fair->map, tenant_id);
    if (idx == CS__NIL)
        return CS_ERR_NOT_FOUND;
    const tenant_rec *t = &fair->t[idx];
    if (fair->usage_total <= 0.0) {
        *factor = 1.0;
        return CS_OK;
    }
    double u_norm = t->usage / fair->usage_total;
    double s_norm = t->weight / fair->weight_total;
    *factor = exp2(-u_norm / s_norm);
    return CS_OK;
}

cs_status cs_fair_weight(const cs_fair *fair, uint64_t tenant_id, double *weight)
{
    if (fair == NULL || weight == NULL)
        return CS_ERR_INVALID;
    uint32_t idx = cs__idmap_get(&fair->map, tenant_id);
    if (idx == CS__NIL)
        return CS_ERR_NOT_FOUND;
    *weight = fair->t[idx].weight;
    return CS_OK;
}

/* ---- DRF ---------------------------------------------------------------- */

static bool vector_ok(const cs_fair *f, const int64_t *v, size_t n, cs_status *st)
{
    if (v == NULL) {
        *st = CS_ERR_INVALID;
        return false;
    }
    if (n != f->nres || n == 0) {
        *st = CS_ERR_DIMENSION;
        return false;
    }
    for (size_t k = 0; k < n; k++)
        if (v[k] < 0) {
            *st = CS_ERR_INVALID;
            return false;
        }
    return true;
}

cs_status cs_fair_set_capacity(cs_fair *fair, const int64_t *capacity, size_t num_resources)
{
    if (fair == NULL || capacity == NULL)
        return CS_ERR_INVALID;
    if (num_resources != fair->nres)
        return CS_ERR_DIMENSION;
    for (size_t k = 0; k < num_resources; k++)
        if (capacity[k] < 0)
            return CS_ERR_INVALID;
    if (num_resources > 0)
        memcpy(fair->capacity, capacity, num_resources * sizeof *capacity);
    for (size_t i = 0; i < fair->nslots; i++)
        if (fair->t[i].id != CS_ID_NONE)
            fair->t[i].dshare = dominant_share(fair, fair->amat + i * fair->nres);
    notify_all(fair);
    return CS_OK;
}

cs_status cs_fair_allocate(cs_fair *fair, uint64_t tenant_id, const int64_t *amount,
                           size_t num_resources)
{
    cs_status st = CS_OK;
    if (fair == NULL || tenant_id == CS_ID_NONE)
        return CS_ERR_INVALID;
    if (!vector_ok(fair, amount, num_resources, &st))
        return st;
    uint32_t idx = cs__idmap_get(&fair->map, tenant_id);
    int64_t sum[CS_FAIR_MAX_RESOURCES];
    for (size_t k = 0; k < num_resources; k++) {
        int64_t have = idx == CS__NIL ? 0 : fair->amat[(size_t)idx * fair->nres + k];
        if (!cs__add_i64(have, amount[k], &sum[k]))
            return CS_ERR_OVERFLOW;
    }
    if (idx == CS__NIL && (st = tenant_create(fair, tenant_id, &idx)) != CS_OK)
        return st;
    int64_t *row = fair->amat + (size_t)idx * fair->nres;
    memcpy(row, sum, num_resources * sizeof *row);
    fair->t[idx].dshare = dominant_share(fair, row);
    notify_one(fair, idx);
    return CS_OK;
}

cs_status cs_fair_release(cs_fair *fair, uint64_t tenant_id, const int64_t *amount,
                          size_t num_resources)
{
    cs_status st = CS_OK;
    if (fair == NULL)
        return CS_ERR_INVALID;
    if (!vector_ok(fair, amount, num_resources, &st))
        return st;
    uint32_t idx = cs__idmap_get(&fair->map, tenant_id);
    if (idx == CS__NIL)
        return CS_ERR_NOT_FOUND;
    int64_t *row = fair->amat + (size_t)idx * fair->nres;
    for (size_t k = 0; k < num_resources; k++)
        if (amount[k] > row[k])
            return CS_ERR_INVALID;
    for (size_t k = 0; k < num_resources; k++)
        row[k] -= amount[k];
    fair->t[idx].dshare = dominant_share(fair, row);
    notify_one(fair, idx);
    return CS_OK;
}

cs_status cs_fair_dominant_share(const cs_fair *fair, uint64_t tenant_id, double *share,
                                 double *weighted)
{
    if (fair == NULL)
        return CS_ERR_INVALID;
    uint32_t idx = cs__idmap_get(&fair->map, tenant_id);
    if (idx == CS__NIL)
        return CS_ERR_NOT_FOUND;
    if (share != NULL)
        *share = fair->t[idx].dshare;
    if (weighted != NULL)
        *weighted = fair->t[idx].dshare / fair->t[idx].weight;
    return CS_OK;
}

cs_status cs_fair_allocation(const cs_fair *fair, uint64_t tenant_id, int64_t *amount,
                             size_t num_resources)
{
    if (fair == NULL || amount == NULL)
        return CS_ERR_INVALID;
    if (num_resources != fair->nres || num_resources == 0)
        return CS_ERR_DIMENSION;
    uint32_t idx = cs__idmap_get(&fair->map, tenant_id);
    if (idx == CS__NIL)
        return CS_ERR_NOT_FOUND;
    memcpy(amount, fair->amat + (size_t)idx * fair->nres, num_resources * sizeof *amount);
    return CS_OK;
}

/* ---- listing ------------------------------------------------------------ */

cs_status cs_fair_tenants(const cs_fair *fair, uint64_t *ids, size_t cap, size_t *count)
{
    if (fair == NULL || count == NULL || (ids == NULL && cap > 0))
        return CS_ERR_INVALID;
    *count = fair->ntenants;
    if (cap < fair->ntenants)
        return CS_ERR_BUFFER_TOO_SMALL;
    size_t n = 0;
    for (size_t i = 0; i < fair->nslots; i++)
        if (fair->t[i].id != CS_ID_NONE)
            ids[n++] = fair->t[i].id;
    cs__sort_u64(ids, n);
    return CS_OK;
}

size_t cs_fair_num_tenants(const cs_fair *fair)
{
    return fair == NULL ? 0 : fair->ntenants;
}
