/* Resource pools: node bookkeeping, allocations and the fit indices.
 * See pool_internal.h for the representation. */
#include <stdlib.h>

#include "pool_internal.h"

/* ------------------------------------------------------------------ */
/* options and specs                                                   */

static const cs_pool_options pool_options_defaults = {
    .size = sizeof(cs_pool_options),
    .fit_weights = NULL,
};
#define POOL_OPTIONS_MIN_SIZE (offsetof(cs_pool_options, fit_weights) + sizeof(const double *))

cs_status cs_pool_options_init(cs_pool_options *options, size_t size)
{
    return cs__struct_init(options, size, sizeof *options, POOL_OPTIONS_MIN_SIZE,
                           &pool_options_defaults);
}

static const cs_node_spec node_spec_defaults = {
    .size = sizeof(cs_node_spec),
    .state = CS_NODE_UP,
};
#define NODE_SPEC_MIN_SIZE (offsetof(cs_node_spec, state) + sizeof(cs_node_state))

cs_status cs_node_spec_init(cs_node_spec *spec, size_t size)
{
    return cs__struct_init(spec, size, sizeof *spec, NODE_SPEC_MIN_SIZE, &node_spec_defaults);
}

static const cs_fit_query fit_query_defaults = {
    .size = sizeof(cs_fit_query),
    .partition = CS_PARTITION_ANY,
};
#define FIT_QUERY_MIN_SIZE (offsetof(cs_fit_query, num_exclude) + sizeof(size_t))

cs_status cs_fit_query_init(cs_fit_query *query, size_t size)
{
    return cs__struct_init(query, size, sizeof *query, FIT_QUERY_MIN_SIZE, &fit_query_defaults);
}

#define NODE_INFO_MIN_SIZE (offsetof(cs_node_info, num_allocations) + sizeof(size_t))

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static inline int64_t *vec(int64_t *base, size_t p, uint32_t slot)
{
    return base + (size_t)slot * p;
}

static inline const int64_t *cvec(const int64_t *base, size_t p, uint32_t slot)
{
    return base + (size_t)slot * p;
}

static inline bool valid_state(cs_node_state s)
{
    return s == CS_NODE_UP || s == CS_NODE_DRAINING || s == CS_NODE_DOWN;
}

static bool nonneg_vec(const int64_t *v, size_t p)
{
    for (size_t k = 0; k < p; k++)
        if (v[k] < 0)
            return false;
    return true;
}

static double s_value(const cs_pool *pool, const int64_t *free_)
{
    double s = 0.0;
    for (size_t k = 0; k < pool->p; k++)
        s += pool->weights[k] * (double)free_[k];
    return s;
}

/* ------------------------------------------------------------------ */
/* keeping the fit indices current (pool_index.c)                      */

/* Slot s's free vector, capacity or state changed: refresh its S, its fit
 * class and its place and summaries in both indices. `grew`: its free vector
 * only grew and it stayed up (cheaper to refresh). */
static void node_changed(cs_pool *pool, uint32_t s, bool grew)
{
    double sv = s_value(pool, cvec(pool->free_, pool->p, s));
    uint8_t old_class = pool->fclass[s];
    pool->fclass[s] = cs__pool_fit_class(pool, s);
    if (sv != pool->sval[s]) {
        pool->sval[s] = sv;
        cs__idx_move(pool, CS_IDX_BY_S, s, old_class, grew);
    } else {
        cs__idx_refresh(pool, CS_IDX_BY_S, s, old_class, grew);
    }
    cs__idx_refresh(pool, CS_IDX_BY_ID, s, old_class, grew);
}

/* The weights changed: every S changes, re-sort the S index (in place,
 * O(n log n), no allocation). */
static void rebuild_s_index(cs_pool *pool)
{
    for (uint32_t s = 0; s < pool->slot_end; s++)
        if (pool->node_id[s] != CS_ID_NONE)
            pool->sval[s] = s_value(pool, cvec(pool->free_, pool->p, s));
    cs__idx_rebuild(pool, CS_IDX_BY_S);
}

/* ------------------------------------------------------------------ */
/* partitions and totals                                               */

long cs__pool_partition_index(const cs_pool *pool, uint32_t partition)
{
    size_t lo = 0, hi = pool->num_parts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pool->parts[mid].id < partition)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < pool->num_parts && pool->parts[lo].id == partition)
        return (long)lo;
    return -1;
}

/* Totals vectors of partition index pi: [0] cap_up, [1] used, [2] free_up. */
static int64_t *part_tot(const cs_pool *pool, size_t pi, int which)
{
    return pool->part_vec + (pi * 3 + (size_t)which) * pool->p;
}

/* Add (sign = +1) or remove (sign = -1) a node's contribution to the pool
 * and partition totals. Sums are bounded by tot_cap_all, checked at
 * add_node, so they cannot overflow here. */
static void account_node(cs_pool *pool, uint32_t s, int sign)
{
    size_t p = pool->p;
    long pi = cs__pool_partition_index(pool, pool->partition[s]);
    const int64_t *c = cvec(pool->cap, p, s), *f = cvec(pool->free_, p, s);
    bool up = pool->state[s] == CS_NODE_UP;
    for (size_t k = 0; k < p; k++) {
        int64_t used = c[k] - f[k];
        int64_t cu = up ? c[k] : 0, fu = up ? f[k] : 0;
        pool->tot_used[k] += sign * used;
        pool->tot_cap_up[k] += sign * cu;
        pool->tot_free_up[k] += sign * fu;
        if (pi >= 0) {
            part_tot(pool, (size_t)pi, 1)[k] += sign * used;
            part_tot(pool, (size_t)pi, 0)[k] += sign * cu;
            part_tot(pool, (size_t)pi, 2)[k] += sign * fu;
        }
    }
}

/* Slot s's use grows by sign * du (its free vector already shrank by as
 * much): the same totals as account_node before and after, in one pass. */
static void account_use(cs_pool *pool, uint32_t s, const int64_t *du, int sign)
{
    size_t p = pool->p;
    long pi = cs__pool_partition_index(pool, pool->partition[s]);
    bool up = pool->state[s] == CS_NODE_UP;
    int64_t *pu = pi >= 0 ? part_tot(pool, (size_t)pi, 1) : NULL;
    int64_t *pf = pi >= 0 ? part_tot(pool, (size_t)pi, 2) : NULL;
    for (size_t k = 0; k < p; k++) {
        int64_t u = sign * du[k];
        pool->tot_used[k] += u;
        if (pu != NULL)
            pu[k] += u;
        if (up) {
            pool->tot_free_up[k] -= u;
            if (pf != NULL)
                pf[k] -= u;
        }
    }
}

/* Insert a partition record (caller reserved room). */
static size_t partition_insert(cs_pool *pool, uint32_t id)
{
    size_t lo = 0;
    while (lo < pool->num_parts && pool->parts[lo].id < id)
        lo++;
    size_t p3 = 3 * pool->p;
    memmove(pool->parts + lo + 1, pool->parts + lo,
            (pool->num_parts - lo) * sizeof *pool->parts);
    memmove(pool->part_vec + (lo + 1) * p3, pool->part_vec + lo * p3,
            (pool->num_parts - lo) * p3 * sizeof *pool->part_vec);
    pool->parts[lo].id = id;
    pool->parts[lo].nodes = 0;
    memset(pool->part_vec + lo * p3, 0, p3 * sizeof *pool->part_vec);
    pool->num_parts++;
    return lo;
}

static void partition_remove(cs_pool *pool, size_t pi)
{
    size_t p3 = 3 * pool->p;
    memmove(pool->parts + pi, pool->parts + pi + 1,
            (pool->num_parts - pi - 1) * sizeof *pool->parts);
    memmove(pool->part_vec + pi * p3, pool->part_vec + (pi + 1) * p3,
            (pool->num_parts - pi - 1) * p3 * sizeof *pool->part_vec);
    pool->num_parts--;
}

static bool reserve_partitions(cs_pool *pool, size_t need)
{
    if (need <= pool->part_cap)
        return true;
    size_t cap = pool->part_cap ? pool->part_cap * 2 : 4;
    while (cap < need)
        cap *= 2;
    size_t vbytes;
    if (!cs__mul_size(cap, 3 * pool->p * sizeof(int64_t), &vbytes))
        return false;
    cs_partition_stats *parts =
        pool->parts ? pool->a.realloc(pool->a.ctx, pool->parts, cap * sizeof *parts)
                    : cs__alloc(&pool->a, cap * sizeof *parts);
    if (parts == NULL)
        return false;
    pool->parts = parts;
    int64_t *pv = pool->part_vec ? pool->a.realloc(pool->a.ctx, pool->part_vec, vbytes)
                                 : cs__alloc(&pool->a, vbytes);
    if (pv == NULL)
        return false; /* parts grew but part_cap did not: harmless */
    pool->part_vec = pv;
    pool->part_cap = cap;
    return true;
}

/* ------------------------------------------------------------------ */
/* create / destroy                                                    */

/* Grow every per-slot array to `cap` slots. On failure some arrays may be
 * larger than slot_cap, which is harmless; contents are intact. */
static bool grow_slots(cs_pool *pool, size_t cap)
{
    size_t p = pool->p;
    struct {
        void **ptr;
        size_t elem;
    } arrays[] = {
        {(void **)&pool->node_id, sizeof(uint64_t)},
        {(void **)&pool->cap, p * sizeof(int64_t)},
        {(void **)&pool->free_, p * sizeof(int64_t)},
        {(void **)&pool->unit_cost, p * sizeof(double)},
        {(void **)&pool->sval, sizeof(double)},
        {(void **)&pool->fclass, sizeof(uint8_t)},
        {(void **)&pool->slot_next, sizeof(uint32_t)},
        {(void **)&pool->state, sizeof(uint8_t)},
        {(void **)&pool->zone, sizeof(uint32_t)},
        {(void **)&pool->rack, sizeof(uint32_t)},
        {(void **)&pool->partition, sizeof(uint32_t)},
        {(void **)&pool->labels, sizeof(cs_label_block *)},
        {(void **)&pool->alloc_head, sizeof(uint32_t)},
        {(void **)&pool->alloc_tail, sizeof(uint32_t)},
        {(void **)&pool->alloc_count, sizeof(uint32_t)},
        {(void **)&pool->idx[0].where, sizeof(uint32_t)},
        {(void **)&pool->idx[1].where, sizeof(uint32_t)},
    };
    if (cap > CS_NIL - 1)
        return false; /* slots are uint32_t with CS_NIL reserved */
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        size_t bytes;
        if (!cs__mul_size(cap, arrays[i].elem, &bytes))
            return false;
        void *q = *arrays[i].ptr == NULL ? cs__alloc(&pool->a, bytes)
                                         : pool->a.realloc(pool->a.ctx, *arrays[i].ptr, bytes);
        if (q == NULL)
            return false;
        *arrays[i].ptr = q;
    }
    pool->slot_cap = cap;
    return true;
}

static bool grow_aslots(cs_pool *pool, size_t cap)
{
    size_t p = pool->p;
    struct {
        void **ptr;
        size_t elem;
    } arrays[] = {
        {(void **)&pool->alloc_id, sizeof(uint64_t)},
        {(void **)&pool->anode, sizeof(uint32_t)},
        {(void **)&pool->owner, sizeof(uint64_t)},
        {(void **)&pool->ademand, p * sizeof(int64_t)},
        {(void **)&pool->aprev, sizeof(uint32_t)},
        {(void **)&pool->anext, sizeof(uint32_t)},
    };
    if (cap > CS_NIL - 1)
        return false;
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        size_t bytes;
        if (!cs__mul_size(cap, arrays[i].elem, &bytes))
            return false;
        void *q = *arrays[i].ptr == NULL ? cs__alloc(&pool->a, bytes)
                                         : pool->a.realloc(pool->a.ctx, *arrays[i].ptr, bytes);
        if (q == NULL)
            return false;
        *arrays[i].ptr = q;
    }
    pool->aslot_cap = cap;
    return true;
}

void cs_pool_destroy(cs_pool *pool)
{
    if (pool == NULL)
        return;
    const cs_allocator *a = &pool->a;
    if (pool->names != NULL)
        for (size_t k = 0; k < pool->p; k++)
            cs__free(a, pool->names[k]);
    cs__free(a, pool->names);
    cs__free(a, pool->weights);
    cs__free(a, pool->max_cap);
    if (pool->labels != NULL)
        for (size_t s = 0; s < pool->slot_end; s++)
            if (pool->node_id[s] != CS_ID_NONE)
                cs__free(a, pool->labels[s]);
    void *slot_arrays[] = {
        pool->node_id, pool->cap, pool->free_, pool->unit_cost, pool->sval, pool->fclass,
        pool->slot_next, pool->state, pool->zone, pool->rack, pool->partition, pool->labels,
        pool->alloc_head, pool->alloc_tail, pool->alloc_count,
        pool->idx[0].where, pool->idx[1].where,
        pool->alloc_id, pool->anode, pool->owner, pool->ademand, pool->aprev, pool->anext,
        pool->tot_cap_all, pool->tot_cap_up, pool->tot_used, pool->tot_free_up,
        pool->parts, pool->part_vec,
    };
    for (size_t i = 0; i < sizeof slot_arrays / sizeof slot_arrays[0]; i++)
        cs__free(a, slot_arrays[i]);
    for (int ti = 0; ti < CS_IDX_COUNT; ti++)
        cs__idx_free(pool, ti);
    cs__idmap_free(a, &pool->node_map);
    cs__idmap_free(a, &pool->alloc_map);
    cs_allocator copy = pool->a;
    cs__free(&copy, pool);
}

static bool valid_weights(const double *w, size_t p)
{
    bool any = false;
    for (size_t k = 0; k < p; k++) {
        if (!isfinite(w[k]) || w[k] < 0.0)
            return false;
        any |= w[k] > 0.0;
    }
    return any;
}

cs_status cs_pool_create(size_t num_resources, const char *const *resource_names,
                         const cs_pool_options *options, const cs_allocator *allocator,
                         cs_pool **out)
{
    cs_allocator a;
    cs_pool_options opt;
    if (out == NULL || num_resources == 0 || num_resources > CS_POOL_MAX_RESOURCES)
        return CS_ERR_INVALID;
    if (!cs__allocator_resolve(&a, allocator))
        return CS_ERR_INVALID;
    if (options == NULL)
        opt = pool_options_defaults;
    else if (!cs__struct_import(&opt, options, sizeof opt, POOL_OPTIONS_MIN_SIZE,
                                &pool_options_defaults))
        return CS_ERR_INVALID;
    size_t p = num_resources;
    if (resource_names != NULL) {
        for (size_t k = 0; k < p; k++) {
            if (resource_names[k] == NULL || resource_names[k][0] == '\0')
                return CS_ERR_INVALID;
            for (size_t j = 0; j < k; j++)
                if (strcmp(resource_names[j], resource_names[k]) == 0)
                    return CS_ERR_INVALID;
        }
    }
    if (opt.fit_weights != NULL && !valid_weights(opt.fit_weights, p))
        return CS_ERR_INVALID;

    cs_pool *pool = cs__alloc(&a, sizeof *pool);
    if (pool == NULL)
        return CS_ERR_NOMEM;
    memset(pool, 0, sizeof *pool);
    pool->a = a;
    pool->p = p;
    pool->free_slot_head = CS_NIL;
    pool->free_aslot_head = CS_NIL;
    pool->nclass = 2 * p < CS_FIT_MAX_CLASSES ? 2 * p : CS_FIT_MAX_CLASSES;
    pool->next_alloc_id = 1;

    pool->names = cs__calloc_array(&a, p, sizeof *pool->names);
    pool->weights = cs__alloc_array(&a, p, sizeof *pool->weights);
    pool->max_cap = cs__calloc_array(&a, p, sizeof *pool->max_cap);
    pool->tot_cap_all = cs__calloc_array(&a, p, sizeof(int64_t));
    pool->tot_cap_up = cs__calloc_array(&a, p, sizeof(int64_t));
    pool->tot_used = cs__calloc_array(&a, p, sizeof(int64_t));
    pool->tot_free_up = cs__calloc_array(&a, p, sizeof(int64_t));
    if (pool->names == NULL || pool->weights == NULL || pool->max_cap == NULL ||
        pool->tot_cap_all == NULL || pool->tot_cap_up == NULL || pool->tot_used == NULL ||
        pool->tot_free_up == NULL)
        goto nomem;
    for (size_t k = 0; k < p; k++) {
        char buf[16];
        const char *name = resource_names ? resource_names[k] : buf;
        if (resource_names == NULL) {
            /* "r" followed by the index: no stdio in the library. */
            size_t i = 0, v = k;
            char digits[8];
            size_t nd = 0;
            do {
                digits[nd++] = (char)('0' + v % 10);
                v /= 10;
            } while (v > 0);
            buf[i++] = 'r';
            while (nd > 0)
                buf[i++] = digits[--nd];
            buf[i] = '\0';
        }
        pool->names[k] = cs__strdup(&a, name);
        if (pool->names[k] == NULL)
            goto nomem;
    }
    pool->auto_weights = opt.fit_weights == NULL;
    for (size_t k = 0; k < p; k++)
        pool->weights[k] = pool->auto_weights ? 0.0 : opt.fit_weights[k];
    *out = pool;
    return CS_OK;
nomem:
    cs_pool_destroy(pool);
    return CS_ERR_NOMEM;
}

size_t cs_pool_num_resources(const cs_pool *pool)
{
    return pool ? pool->p : 0;
}

const char *cs_pool_resource_name(const cs_pool *pool, size_t k)
{
    if (pool == NULL || k >= pool->p)
        return NULL;
    return pool->names[k];
}

cs_status cs_pool_resource_index(const cs_pool *pool, const char *name, size_t *k)
{
    if (pool == NULL || name == NULL || k == NULL)
        return CS_ERR_INVALID;
    for (size_t i = 0; i < pool->p; i++)
        if (strcmp(pool->names[i], name) == 0) {
            *k = i;
            return CS_OK;
        }
    return CS_ERR_NOT_FOUND;
}

/* ------------------------------------------------------------------ */
/* labels                                                              */

static int label_cmp(const void *x, const void *y)
{
    const cs_label *a = x, *b = y;
    return strcmp(a->key, b->key);
}

/* Validate labels and copy them into one block, sorted by key.
 * *out is NULL for no labels. */
static cs_status make_label_block(const cs_allocator *a, const cs_label *labels, size_t n,
                                  cs_label_block **out)
{
    *out = NULL;
    if (n == 0)
        return CS_OK;
    if (labels == NULL)
        return CS_ERR_INVALID;
    size_t bytes = sizeof(cs_label_block);
    for (size_t i = 0; i < n; i++) {
        if (labels[i].key == NULL || labels[i].key[0] == '\0' || labels[i].value == NULL)
            return CS_ERR_INVALID;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i].key, labels[j].key) == 0)
                return CS_ERR_INVALID;
        size_t add = sizeof(cs_label) + strlen(labels[i].key) + strlen(labels[i].value) + 2;
        if (!cs__add_size(bytes, add, &bytes))
            return CS_ERR_INVALID;
    }
    cs_label_block *b = cs__alloc(a, bytes);
    if (b == NULL)
        return CS_ERR_NOMEM;
    b->n = n;
    char *str = (char *)(b->items + n);
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(labels[i].key) + 1, vl = strlen(labels[i].value) + 1;
        memcpy(str, labels[i].key, kl);
        b->items[i].key = str;
        str += kl;
        memcpy(str, labels[i].value, vl);
        b->items[i].value = str;
        str += vl;
    }
    qsort(b->items, n, sizeof b->items[0], label_cmp);
    *out = b;
    return CS_OK;
}

static const cs_label *find_label(const cs_label_block *b, const char *key)
{
    if (b == NULL)
        return NULL;
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(b->items[mid].key, key);
        if (c == 0)
            return &b->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool cs__pool_labels_match(const cs_pool *pool, uint32_t s, const cs_label *req, size_t nreq)
{
    for (size_t i = 0; i < nreq; i++) {
        const cs_label *l = find_label(pool->labels[s], req[i].key);
        if (l == NULL || (req[i].value != NULL && strcmp(l->value, req[i].value) != 0))
            return false;
    }
    return true;
}

static bool constraint_labels_valid(const cs_label *req, size_t n)
{
    if (n > 0 && req == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (req[i].key == NULL || req[i].key[0] == '\0')
            return false;
    return true;
}

/* ------------------------------------------------------------------ */
/* nodes                                                               */

static inline uint32_t node_slot(const cs_pool *pool, uint64_t id)
{
    return cs__idmap_get(&pool->node_map, id);
}

cs_status cs_pool_add_node(cs_pool *pool, uint64_t id, const cs_node_spec *spec,
                           uint64_t *out_id)
{
    cs_node_spec ns;
    if (pool == NULL)
        return CS_ERR_INVALID;
    if (!cs__struct_import(&ns, spec, sizeof ns, NODE_SPEC_MIN_SIZE, &node_spec_defaults))
        return CS_ERR_INVALID;
    size_t p = pool->p;
    if (ns.capacity == NULL || !nonneg_vec(ns.capacity, ns.num_resources) ||
        ns.partition == CS_PARTITION_ANY || !valid_state(ns.state))
        return CS_ERR_INVALID;
    if (ns.num_resources != p)
        return CS_ERR_DIMENSION;
    if (ns.unit_cost != NULL)
        for (size_t k = 0; k < p; k++)
            if (!isfinite(ns.unit_cost[k]) || ns.unit_cost[k] < 0.0)
                return CS_ERR_INVALID;
    if (id == CS_ID_NONE) {
        if (pool->next_auto_id == CS_ID_NONE)
            return CS_ERR_OVERFLOW;
        id = pool->next_auto_id;
    }
    if (node_slot(pool, id) != CS_IDMAP_MISSING)
        return CS_ERR_EXISTS;
    for (size_t k = 0; k < p; k++) {
        int64_t t;
        if (!cs__add_i64(pool->tot_cap_all[k], ns.capacity[k], &t))
            return CS_ERR_OVERFLOW;
    }
    /* Validate labels and reserve everything before the first mutation. */
    cs_label_block *lb;
    cs_status st = make_label_block(&pool->a, ns.labels, ns.num_labels, &lb);
    if (st != CS_OK)
        return st;
    bool new_part = cs__pool_partition_index(pool, ns.partition) < 0;
    if ((pool->free_slot_head == CS_NIL && pool->slot_end == pool->slot_cap &&
         !grow_slots(pool, pool->slot_cap ? pool->slot_cap * 2 : 16)) ||
        !cs__idmap_reserve(&pool->a, &pool->node_map, 1) ||
        (new_part && !reserve_partitions(pool, pool->num_parts + 1)) ||
        !cs__idx_reserve(pool, CS_IDX_BY_ID, pool->num_nodes + 1) ||
        !cs__idx_reserve(pool, CS_IDX_BY_S, pool->num_nodes + 1)) {
        cs__free(&pool->a, lb);
        return CS_ERR_NOMEM;
    }

    /* Commit. */
    uint32_t s;
    if (pool->free_slot_head != CS_NIL) {
        s = pool->free_slot_head;
        pool->free_slot_head = pool->slot_next[s];
    } else {
        s = (uint32_t)pool->slot_end++;
    }
    pool->node_id[s] = id;
    memcpy(vec(pool->cap, p, s), ns.capacity, p * sizeof(int64_t));
    memcpy(vec(pool->free_, p, s), ns.capacity, p * sizeof(int64_t));
    for (size_t k = 0; k < p; k++)
        pool->unit_cost[s * p + k] = ns.unit_cost ? ns.unit_cost[k] : 0.0;
    pool->state[s] = (uint8_t)ns.state;
    pool->zone[s] = ns.zone;
    pool->rack[s] = ns.rack;
    pool->partition[s] = ns.partition;
    pool->labels[s] = lb;
    pool->alloc_head[s] = pool->alloc_tail[s] = CS_NIL;
    pool->alloc_count[s] = 0;
    cs__idmap_put(&pool->node_map, id, s);
    if (id >= pool->next_auto_id)
        pool->next_auto_id = id + 1; /* may become CS_ID_NONE: checked on next auto id */
    if (new_part)
        partition_insert(pool, ns.partition);
    pool->parts[cs__pool_partition_index(pool, ns.partition)].nodes++;
    for (size_t k = 0; k < p; k++)
        pool->tot_cap_all[k] += ns.capacity[k];
    account_node(pool, s, +1);
    pool->num_nodes++;

    bool reweigh = false;
    if (pool->auto_weights)
        for (size_t k = 0; k < p; k++)
            if (ns.capacity[k] > pool->max_cap[k]) {
                pool->max_cap[k] = ns.capacity[k];
                pool->weights[k] = 1.0 / (double)ns.capacity[k];
                reweigh = true;
            }
    pool->fclass[s] = cs__pool_fit_class(pool, s);
    pool->sval[s] = s_value(pool, vec(pool->free_, p, s));
    cs__idx_insert(pool, CS_IDX_BY_ID, s);
    cs__idx_insert(pool, CS_IDX_BY_S, s);
    if (reweigh) /* s went in among keys under the old weights: re-sort all */
        rebuild_s_index(pool);
    if (out_id != NULL)
        *out_id = id;
    return CS_OK;
}

/* Unlink and free allocation slot `as` from its node (no accounting). */
static void alloc_unlink(cs_pool *pool, uint32_t as)
{
    uint32_t s = pool->anode[as];
    uint32_t pv = pool->aprev[as], nx = pool->anext[as];
    if (pv != CS_NIL)
        pool->anext[pv] = nx;
    else
        pool->alloc_head[s] = nx;
    if (nx != CS_NIL)
        pool->aprev[nx] = pv;
    else
        pool->alloc_tail[s] = pv;
    pool->alloc_count[s]--;
    cs__idmap_del(&pool->alloc_map, pool->alloc_id[as]);
    pool->alloc_id[as] = CS_ID_NONE;
    pool->anext[as] = pool->free_aslot_head;
    pool->free_aslot_head = as;
    pool->num_allocs--;
}

cs_status cs_pool_remove_node(cs_pool *pool, uint64_t id, unsigned flags,
                              cs_allocation_info *released, size_t capacity, size_t *count)
{
    if (pool == NULL || (flags & ~CS_REMOVE_FORCE) != 0 ||
        ((flags & CS_REMOVE_FORCE) && count == NULL) || (capacity > 0 && released == NULL))
        return CS_ERR_INVALID;
    uint32_t s = node_slot(pool, id);
    if (s == CS_IDMAP_MISSING)
        return CS_ERR_NOT_FOUND;
    size_t n = pool->alloc_count[s];
    if (n > 0 && !(flags & CS_REMOVE_FORCE))
        return CS_ERR_BUSY;
    if (count != NULL)
        *count = n;
    if (n > capacity)
        return CS_ERR_BUFFER_TOO_SMALL;

    size_t p = pool->p;
    /* Report and drop the allocations (list order is id order). */
    size_t i = 0;
    for (uint32_t as = pool->alloc_head[s]; as != CS_NIL; i++) {
        uint32_t nx = pool->anext[as];
        released[i].id = pool->alloc_id[as];
        released[i].node = id;
        released[i].owner = pool->owner[as];
        alloc_unlink(pool, as);
        as = nx;
    }
    /* Take the node out of both indices under its current keys, then out of
     * the totals as it stands (with its allocations still counted as used). */
    cs__idx_erase(pool, CS_IDX_BY_ID, s);
    cs__idx_erase(pool, CS_IDX_BY_S, s);
    account_node(pool, s, -1);
    for (size_t k = 0; k < p; k++)
        pool->tot_cap_all[k] -= pool->cap[s * p + k];
    long pi = cs__pool_partition_index(pool, pool->partition[s]);
    if (--pool->parts[pi].nodes == 0)
        partition_remove(pool, (size_t)pi);
    cs__idmap_del(&pool->node_map, id);
    cs__free(&pool->a, pool->labels[s]);
    pool->labels[s] = NULL;
    pool->node_id[s] = CS_ID_NONE;
    pool->slot_next[s] = pool->free_slot_head;
    pool->free_slot_head = s;
    pool->num_nodes--;
    return CS_OK;
}

cs_status cs_pool_set_node_state(cs_pool *pool, uint64_t id, cs_node_state state)
{
    if (pool == NULL || !valid_state(state))
        return CS_ERR_INVALID;
    uint32_t s = node_slot(pool, id);
    if (s == CS_IDMAP_MISSING)
        return CS_ERR_NOT_FOUND;
    if (pool->state[s] == (uint8_t)state)
        return CS_OK;
    account_node(pool, s, -1);
    pool->state[s] = (uint8_t)state;
    account_node(pool, s, +1);
    /* Keys do not depend on the state; the fit class and maxima do. */
    node_changed(pool, s, false);
    return CS_OK;
}

cs_status cs_pool_set_node_capacity(cs_pool *pool, uint64_t id, const int64_t *capacity)
{
    if (pool == NULL || capacity == NULL || !nonneg_vec(capacity, pool->p))
        return CS_ERR_INVALID;
    uint32_t s = node_slot(pool, id);
    if (s == CS_IDMAP_MISSING)
        return CS_ERR_NOT_FOUND;
    size_t p = pool->p;
    int64_t *c = vec(pool->cap, p, s), *f = vec(pool->free_, p, s);
    for (size_t k = 0; k < p; k++) {
        int64_t t;
        if (capacity[k] < c[k] - f[k])
            return CS_ERR_NO_FIT;
        if (!cs__add_i64(pool->tot_cap_all[k] - c[k], capacity[k], &t))
            return CS_ERR_OVERFLOW;
    }
    account_node(pool, s, -1);
    for (size_t k = 0; k < p; k++) {
        int64_t used = c[k] - f[k];
        pool->tot_cap_all[k] += capacity[k] - c[k];
        c[k] = capacity[k];
        f[k] = capacity[k] - used;
    }
    account_node(pool, s, +1);
    bool reweigh = false;
    if (pool->auto_weights)
        for (size_t k = 0; k < p; k++)
            if (capacity[k] > pool->max_cap[k]) {
                pool->max_cap[k] = capacity[k];
                pool->weights[k] = 1.0 / (double)capacity[k];
                reweigh = true;
            }
    node_changed(pool, s, false);
    if (reweigh)
        rebuild_s_index(pool);
    return CS_OK;
}

cs_status cs_pool_node_info(const cs_pool *pool, uint64_t id, cs_node_info *info,
                            int64_t *capacity, int64_t *used, int64_t *free_)
{
    if (pool == NULL || info == NULL || info->size < NODE_INFO_MIN_SIZE ||
        info->size > sizeof(cs_node_info))
        return CS_ERR_INVALID;
    uint32_t s = node_slot(pool, id);
    if (s == CS_IDMAP_MISSING)
        return CS_ERR_NOT_FOUND;
    size_t p = pool->p;
    cs_node_info full = {
        .size = info->size,
        .id = id,
        .state = (cs_node_state)pool->state[s],
        .zone = pool->zone[s],
        .rack = pool->rack[s],
        .partition = pool->partition[s],
        .num_labels = pool->labels[s] ? pool->labels[s]->n : 0,
        .num_allocations = pool->alloc_count[s],
    };
    memcpy(info, &full, info->size);
    for (size_t k = 0; k < p; k++) {
        int64_t c = pool->cap[s * p + k], f = pool->free_[s * p + k];
        if (capacity)
            capacity[k] = c;
        if (used)
            used[k] = c - f;
        if (free_)
            free_[k] = f;
    }
    return CS_OK;
}

cs_status cs_pool_node_label(const cs_pool *pool, uint64_t id, size_t index, cs_label *label)
{
    if (pool == NULL || label == NULL)
        return CS_ERR_INVALID;
    uint32_t s = node_slot(pool, id);
    if (s == CS_IDMAP_MISSING || pool->labels[s] == NULL || index >= pool->labels[s]->n)
        return CS_ERR_NOT_FOUND;
    *label = pool->labels[s]->items[index];
    return CS_OK;
}

cs_status cs_pool_node_label_value(const cs_pool *pool, uint64_t id, const char *key,
                                   const char **value)
{
    if (pool == NULL || key == NULL || value == NULL)
        return CS_ERR_INVALID;
    uint32_t s = node_slot(pool, id);
    if (s == CS_IDMAP_MISSING)
        return CS_ERR_NOT_FOUND;
    const cs_label *l = find_label(pool->labels[s], key);
    if (l == NULL)
        return CS_ERR_NOT_FOUND;
    *value = l->value;
    return CS_OK;
}

size_t cs_pool_num_nodes(const cs_pool *pool)
{
    return pool ? pool->num_nodes : 0;
}

static int u64_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

cs_status cs_pool_nodes(const cs_pool *pool, uint64_t *ids, size_t capacity, size_t *count)
{
    if (pool == NULL || count == NULL || (capacity > 0 && ids == NULL))
        return CS_ERR_INVALID;
    *count = pool->num_nodes;
    if (pool->num_nodes > capacity)
        return CS_ERR_BUFFER_TOO_SMALL;
    size_t n = 0;
    for (size_t s = 0; s < pool->slot_end; s++)
        if (pool->node_id[s] != CS_ID_NONE)
            ids[n++] = pool->node_id[s];
    qsort(ids, n, sizeof *ids, u64_cmp);
    return CS_OK;
}

/* ------------------------------------------------------------------ */
/* allocations                                                         */

cs_status cs_pool_allocate(cs_pool *pool, uint64_t node, const int64_t *demand, uint64_t owner,
                           uint64_t *alloc_id)
{
    if (pool == NULL || demand == NULL || alloc_id == NULL || !nonneg_vec(demand, pool->p))
        return CS_ERR_INVALID;
    uint32_t s = node_slot(pool, node);
    if (s == CS_IDMAP_MISSING)
        return CS_ERR_NOT_FOUND;
    if (pool->state[s] != CS_NODE_UP)
        return CS_ERR_STATE;
    size_t p = pool->p;
    int64_t *f = vec(pool->free_, p, s);
    for (size_t k = 0; k < p; k++)
        if (demand[k] > f[k])
            return CS_ERR_NO_FIT;
    if (pool->next_alloc_id == CS_ID_NONE)
        return CS_ERR_OVERFLOW;
    if ((pool->free_aslot_head == CS_NIL && pool->aslot_end == pool->aslot_cap &&
         !grow_aslots(pool, pool->aslot_cap ? pool->aslot_cap * 2 : 16)) ||
        !cs__idmap_reserve(&pool->a, &pool->alloc_map, 1))
        return CS_ERR_NOMEM;

    uint32_t as;
    if (pool->free_aslot_head != CS_NIL) {
        as = pool->free_aslot_head;
        pool->free_aslot_head = pool->anext[as];
    } else {
        as = (uint32_t)pool->aslot_end++;
    }
    uint64_t aid = pool->next_alloc_id++;
    pool->alloc_id[as] = aid;
    pool->anode[as] = s;
    pool->owner[as] = owner;
    memcpy(vec(pool->ademand, p, as), demand, p * sizeof(int64_t));
    /* Append: ids grow, so each node's list stays in id order. */
    pool->aprev[as] = pool->alloc_tail[s];
    pool->anext[as] = CS_NIL;
    if (pool->alloc_tail[s] != CS_NIL)
        pool->anext[pool->alloc_tail[s]] = as;
    else
        pool->alloc_head[s] = as;
    pool->alloc_tail[s] = as;
    pool->alloc_count[s]++;
    cs__idmap_put(&pool->alloc_map, aid, as);
    pool->num_allocs++;

    for (size_t k = 0; k < p; k++)
        f[k] -= demand[k];
    account_use(pool, s, demand, +1);
    node_changed(pool, s, false);
    *alloc_id = aid;
    return CS_OK;
}

cs_status cs_pool_release(cs_pool *pool, uint64_t alloc_id)
{
    if (pool == NULL)
        return CS_ERR_INVALID;
    uint32_t as = cs__idmap_get(&pool->alloc_map, alloc_id);
    if (as == CS_IDMAP_MISSING)
        return CS_ERR_NOT_FOUND;
    size_t p = pool->p;
    uint32_t s = pool->anode[as];
    int64_t *f = vec(pool->free_, p, s);
    const int64_t *d = vec(pool->ademand, p, as);
    for (size_t k = 0; k < p; k++)
        f[k] += d[k];
    account_use(pool, s, d, -1);
    node_changed(pool, s, true);
    alloc_unlink(pool, as);
    return CS_OK;
}

cs_status cs_pool_resize(cs_pool *pool, uint64_t alloc_id, const int64_t *demand)
{
    if (pool == NULL || demand == NULL || !nonneg_vec(demand, pool->p))
        return CS_ERR_INVALID;
    uint32_t as = cs__idmap_get(&pool->alloc_map, alloc_id);
    if (as == CS_IDMAP_MISSING)
        return CS_ERR_NOT_FOUND;
    size_t p = pool->p;
    uint32_t s = pool->anode[as];
    int64_t *f = vec(pool->free_, p, s), *d = vec(pool->ademand, p, as);
    bool grows = false;
    for (size_t k = 0; k < p; k++) {
        if (demand[k] > d[k]) {
            grows = true;
            if (demand[k] - d[k] > f[k]) /* no overflow: both sides are in range */
                return CS_ERR_NO_FIT;
        }
    }
    if (grows && pool->state[s] != CS_NODE_UP)
        return CS_ERR_STATE;
    int64_t du[CS_POOL_MAX_RESOURCES];
    bool shrinks = false;
    for (size_t k = 0; k < p; k++) {
        du[k] = demand[k] - d[k]; /* no overflow: both are in [0, capacity] */
        shrinks |= du[k] > 0;
        f[k] -= du[k];
        d[k] = demand[k];
    }
    account_use(pool, s, du, +1);
    node_changed(pool, s, !shrinks);
    return CS_OK;
}

cs_status cs_pool_allocation(const cs_pool *pool, uint64_t alloc_id, cs_allocation_info *info,
                             int64_t *demand)
{
    if (pool == NULL)
        return CS_ERR_INVALID;
    uint32_t as = cs__idmap_get(&pool->alloc_map, alloc_id);
    if (as == CS_IDMAP_MISSING)
        return CS_ERR_NOT_FOUND;
    if (info != NULL) {
        info->id = alloc_id;
        info->node = pool->node_id[pool->anode[as]];
        info->owner = pool->owner[as];
    }
    if (demand != NULL)
        memcpy(demand, cvec(pool->ademand, pool->p, as), pool->p * sizeof *demand);
    return CS_OK;
}

cs_status cs_pool_node_allocations(const cs_pool *pool, uint64_t node, cs_allocation_info *allocs,
                                   size_t capacity, size_t *count)
{
    if (pool == NULL || count == NULL || (capacity > 0 && allocs == NULL))
        return CS_ERR_INVALID;
    uint32_t s = node_slot(pool, node);
    if (s == CS_IDMAP_MISSING)
        return CS_ERR_NOT_FOUND;
    *count = pool->alloc_count[s];
    if (pool->alloc_count[s] > capacity)
        return CS_ERR_BUFFER_TOO_SMALL;
    size_t i = 0;
    for (uint32_t as = pool->alloc_head[s]; as != CS_NIL; as = pool->anext[as], i++) {
        allocs[i].id = pool->alloc_id[as];
        allocs[i].node = node;
        allocs[i].owner = pool->owner[as];
    }
    return CS_OK;
}

size_t cs_pool_num_allocations(const cs_pool *pool)
{
    return pool ? pool->num_allocs : 0;
}

/* ------------------------------------------------------------------ */
/* fit queries                                                         */

/* The constraints that the indices do not see: labels and exclusions. */
typedef struct fit_ctx {
    const cs_pool *pool;
    const cs_label *labels;
    size_t num_labels;
    const uint64_t *exclude;
    size_t num_exclude;
} fit_ctx;

static bool accept_candidate(void *ctx, uint32_t t)
{
    const fit_ctx *c = ctx;
    if (!cs__pool_labels_match(c->pool, t, c->labels, c->num_labels))
        return false;
    for (size_t i = 0; i < c->num_exclude; i++)
        if (c->exclude[i] == c->pool->node_id[t])
            return false;
    return true;
}

/* The positions [lo, hi) of a partition's nodes in index ti. */
static void partition_range(const cs_pool *pool, int ti, uint32_t partition, size_t *lo,
                            size_t *hi)
{
    if (partition == CS_PARTITION_ANY ||
        (pool->num_parts == 1 && pool->parts[0].id == partition)) {
        *lo = 0;
        *hi = cs__idx_end(pool, ti);
        return;
    }
    /* partition < CS_PARTITION_ANY = UINT32_MAX, so partition + 1 is a key. */
    *lo = cs__idx_lower_bound(pool, ti, partition, -HUGE_VAL, 0);
    *hi = cs__idx_lower_bound(pool, ti, partition + 1, -HUGE_VAL, 0);
}

/* Best or worst fit within one partition. */
static uint32_t fit_in_partition(fit_ctx *c, const int64_t *demand, cs_fit how,
                                 uint32_t partition)
{
    const cs_pool *pool = c->pool;
    size_t lo, hi;
    partition_range(pool, CS_IDX_BY_S, partition, &lo, &hi);
    if (how == CS_FIT_BEST)
        return cs__idx_search(pool, CS_IDX_BY_S, lo, hi, demand, false, accept_candidate, c);
    uint32_t t = cs__idx_search(pool, CS_IDX_BY_S, lo, hi, demand, true, accept_candidate, c);
    if (t == CS_NIL)
        return CS_NIL;
    /* Among the nodes with that same S, the smallest id: the leftmost. */
    lo = cs__idx_lower_bound(pool, CS_IDX_BY_S, partition, pool->sval[t], 0);
    return cs__idx_search(pool, CS_IDX_BY_S, lo, hi, demand, false, accept_candidate, c);
}

cs_status cs_pool_fit(const cs_pool *pool, cs_fit how, const cs_fit_query *query, uint64_t *node)
{
    cs_fit_query q;
    if (pool == NULL || node == NULL ||
        (how != CS_FIT_FIRST && how != CS_FIT_BEST && how != CS_FIT_WORST))
        return CS_ERR_INVALID;
    if (!cs__struct_import(&q, query, sizeof q, FIT_QUERY_MIN_SIZE, &fit_query_defaults))
        return CS_ERR_INVALID;
    if (q.demand == NULL || !nonneg_vec(q.demand, pool->p) ||
        !constraint_labels_valid(q.labels, q.num_labels) ||
        (q.num_exclude > 0 && q.exclude == NULL))
        return CS_ERR_INVALID;
    fit_ctx c = {
        .pool = pool,
        .labels = q.labels,
        .num_labels = q.num_labels,
        .exclude = q.exclude,
        .num_exclude = q.num_exclude,
    };
    uint32_t best = CS_NIL;
    if (q.partition != CS_PARTITION_ANY && cs__pool_partition_index(pool, q.partition) < 0) {
        best = CS_NIL; /* no such partition: nothing fits */
    } else if (how == CS_FIT_FIRST) {
        size_t lo, hi;
        partition_range(pool, CS_IDX_BY_ID, q.partition, &lo, &hi);
        best = cs__idx_search(pool, CS_IDX_BY_ID, lo, hi, q.demand, false, accept_candidate, &c);
    } else if (q.partition != CS_PARTITION_ANY) {
        best = fit_in_partition(&c, q.demand, how, q.partition);
    } else {
        /* S orders nodes only within a partition: compare each one's winner. */
        for (size_t i = 0; i < pool->num_parts; i++) {
            uint32_t t = fit_in_partition(&c, q.demand, how, pool->parts[i].id);
            if (t == CS_NIL)
                continue;
            if (best == CS_NIL) {
                best = t;
                continue;
            }
            double st = pool->sval[t], sb = pool->sval[best];
            bool better = how == CS_FIT_BEST ? st < sb : st > sb;
            if (better || (st == sb && pool->node_id[t] < pool->node_id[best]))
                best = t;
        }
    }
    if (best == CS_NIL)
        return CS_ERR_NO_FIT;
    *node = pool->node_id[best];
    return CS_OK;
}

typedef struct visit_ctx {
    cs_pool_visit_fn fn;
    void *ctx;
} visit_ctx;

/* The index stops when its callback returns true; the visitor when false. */
static bool visit_one(void *ctx, uint32_t slot)
{
    const visit_ctx *v = ctx;
    return !v->fn(v->ctx, slot);
}

void cs__pool_visit_fitting(const cs_pool *pool, uint32_t partition, const int64_t *demand,
                            cs_pool_visit_fn fn, void *ctx)
{
    if (partition != CS_PARTITION_ANY && cs__pool_partition_index(pool, partition) < 0)
        return;
    visit_ctx v = {fn, ctx};
    size_t lo, hi;
    partition_range(pool, CS_IDX_BY_ID, partition, &lo, &hi);
    (void)cs__idx_search(pool, CS_IDX_BY_ID, lo, hi, demand, false, visit_one, &v);
}

/* ------------------------------------------------------------------ */
/* totals, utilisation, cost                                           */

cs_status cs_pool_totals(const cs_pool *pool, uint32_t partition, int64_t *capacity,
                         int64_t *used, int64_t *free_)
{
    if (pool == NULL)
        return CS_ERR_INVALID;
    size_t p = pool->p;
    const int64_t *c = pool->tot_cap_up, *u = pool->tot_used, *f = pool->tot_free_up;
    static const int64_t zeros[CS_POOL_MAX_RESOURCES];
    if (partition != CS_PARTITION_ANY) {
        long pi = cs__pool_partition_index(pool, partition);
        if (pi < 0) {
            c = u = f = zeros; /* an empty partition has nothing */
        } else {
            c = part_tot(pool, (size_t)pi, 0);
            u = part_tot(pool, (size_t)pi, 1);
            f = part_tot(pool, (size_t)pi, 2);
        }
    }
    if (capacity)
        memcpy(capacity, c, p * sizeof *capacity);
    if (used)
        memcpy(used, u, p * sizeof *used);
    if (free_)
        memcpy(free_, f, p * sizeof *free_);
    return CS_OK;
}

cs_status cs_pool_utilization(const cs_pool *pool, uint32_t partition, double *utilization)
{
    int64_t c[CS_POOL_MAX_RESOURCES], f[CS_POOL_MAX_RESOURCES];
    if (pool == NULL || utilization == NULL)
        return CS_ERR_INVALID;
    cs_pool_totals(pool, partition, c, NULL, f);
    /* Over up nodes: the share of their capacity that is not free. */
    for (size_t k = 0; k < pool->p; k++)
        utilization[k] = c[k] > 0 ? (double)(c[k] - f[k]) / (double)c[k] : 0.0;
    return CS_OK;
}

cs_status cs_pool_cost(const cs_pool *pool, uint32_t partition, double *cost_per_second)
{
    if (pool == NULL || cost_per_second == NULL)
        return CS_ERR_INVALID;
    size_t p = pool->p;
    double total = 0.0;
    for (size_t s = 0; s < pool->slot_end; s++) {
        if (pool->node_id[s] == CS_ID_NONE ||
            (partition != CS_PARTITION_ANY && pool->partition[s] != partition))
            continue;
        for (size_t k = 0; k < p; k++)
            total += pool->unit_cost[s * p + k] *
                     (double)(pool->cap[s * p + k] - pool->free_[s * p + k]);
    }
    *cost_per_second = total;
    return CS_OK;
}

/* ------------------------------------------------------------------ */
/* invariant checker                                                   */

cs_status cs_pool_check(const cs_pool *pool)
{
    if (pool == NULL)
        return CS_ERR_INVALID;
    size_t p = pool->p;
    int64_t cap_all[CS_POOL_MAX_RESOURCES] = {0}, cap_up[CS_POOL_MAX_RESOURCES] = {0};
    int64_t used[CS_POOL_MAX_RESOURCES] = {0}, free_up[CS_POOL_MAX_RESOURCES] = {0};
    size_t nodes = 0, allocs = 0;
    for (uint32_t s = 0; s < pool->slot_end; s++) {
        if (pool->node_id[s] == CS_ID_NONE)
            continue;
        nodes++;
        if (cs__idmap_get(&pool->node_map, pool->node_id[s]) != s)
            return CS_ERR_STATE;
        if (!valid_state((cs_node_state)pool->state[s]))
            return CS_ERR_STATE;
        const int64_t *c = &pool->cap[(size_t)s * p], *f = &pool->free_[(size_t)s * p];
        int64_t asum[CS_POOL_MAX_RESOURCES] = {0};
        size_t n = 0;
        uint64_t last_id = 0;
        uint32_t prev = CS_NIL;
        for (uint32_t as = pool->alloc_head[s]; as != CS_NIL; as = pool->anext[as]) {
            if (as >= pool->aslot_end || pool->alloc_id[as] == CS_ID_NONE ||
                pool->anode[as] != s || pool->aprev[as] != prev ||
                pool->alloc_id[as] <= last_id ||
                cs__idmap_get(&pool->alloc_map, pool->alloc_id[as]) != as || ++n > pool->num_allocs)
                return CS_ERR_STATE;
            for (size_t k = 0; k < p; k++) {
                int64_t d = pool->ademand[(size_t)as * p + k];
                if (d < 0 || !cs__add_i64(asum[k], d, &asum[k]))
                    return CS_ERR_STATE;
            }
            last_id = pool->alloc_id[as];
            prev = as;
        }
        if (pool->alloc_tail[s] != prev || n != pool->alloc_count[s])
            return CS_ERR_STATE;
        allocs += n;
        for (size_t k = 0; k < p; k++) {
            if (c[k] < 0 || f[k] < 0 || f[k] > c[k] || c[k] - f[k] != asum[k])
                return CS_ERR_STATE;
            if (pool->auto_weights && c[k] > pool->max_cap[k])
                return CS_ERR_STATE;
            cap_all[k] += c[k];
            used[k] += c[k] - f[k];
            if (pool->state[s] == CS_NODE_UP) {
                cap_up[k] += c[k];
                free_up[k] += f[k];
            }
        }
        if (pool->sval[s] != s_value(pool, f))
            return CS_ERR_STATE;
        if (cs__pool_partition_index(pool, pool->partition[s]) < 0)
            return CS_ERR_STATE;
    }
    if (nodes != pool->num_nodes || pool->node_map.len != nodes || allocs != pool->num_allocs ||
        pool->alloc_map.len != allocs)
        return CS_ERR_STATE;
    for (size_t k = 0; k < p; k++)
        if (cap_all[k] != pool->tot_cap_all[k] || cap_up[k] != pool->tot_cap_up[k] ||
            used[k] != pool->tot_used[k] || free_up[k] != pool->tot_free_up[k])
            return CS_ERR_STATE;
    /* Partitions: sorted, non-empty, totals equal to their nodes' sums. */
    for (size_t i = 0; i < pool->num_parts; i++) {
        if (i > 0 && pool->parts[i - 1].id >= pool->parts[i].id)
            return CS_ERR_STATE;
        int64_t v[3][CS_POOL_MAX_RESOURCES] = {{0}};
        uint32_t n = 0;
        for (uint32_t s = 0; s < pool->slot_end; s++) {
            if (pool->node_id[s] == CS_ID_NONE || pool->partition[s] != pool->parts[i].id)
                continue;
            n++;
            bool up = pool->state[s] == CS_NODE_UP;
            for (size_t k = 0; k < p; k++) {
                int64_t c = pool->cap[s * p + k], f = pool->free_[s * p + k];
                v[0][k] += up ? c : 0;
                v[1][k] += c - f;
                v[2][k] += up ? f : 0;
            }
        }
        if (n == 0 || n != pool->parts[i].nodes)
            return CS_ERR_STATE;
        for (int w = 0; w < 3; w++)
            for (size_t k = 0; k < p; k++)
                if (part_tot(pool, i, w)[k] != v[w][k])
                    return CS_ERR_STATE;
    }
    for (int ti = 0; ti < CS_IDX_COUNT; ti++)
        if (cs__idx_check(pool, ti) != CS_OK)
            return CS_ERR_STATE;
    return CS_OK;
}

bool cs__pool_reserve_allocations(cs_pool *pool, size_t n)
{
    size_t need;
    if (!cs__add_size(pool->num_allocs, n, &need))
        return false;
    if (need > pool->aslot_cap) {
        size_t cap = pool->aslot_cap ? pool->aslot_cap : 16;
        while (cap < need)
            cap *= 2;
        if (!grow_aslots(pool, cap))
            return false;
    }
    return cs__idmap_reserve(&pool->a, &pool->alloc_map, n);
}
