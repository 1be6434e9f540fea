/* The pool's fit indices: ordered sets of node slots that answer "the
 * first (or last) node in key order whose free vector holds a demand".
 *
 * Layout. A packed-memory array (Bender, Demaine, Farach-Colton, "Cache-
 * oblivious B-trees", 2000; Itai, Konheim, Rodeh 1981): nb blocks of
 * CS_IDX_BLOCK slots each, every block keeping its slots in key order at
 * its front, the blocks in key order, gaps at the back of each block. An
 * implicit binary tree over the blocks (node t has children 2t, 2t + 1;
 * leaf nb + b is block b) holds, per node, the slot with the least key
 * below it (to find a key's position) and the fit summary below. Inserting
 * into a full block spreads the smallest enclosing window of blocks whose
 * density is under its threshold (1 at a leaf, 3/4 at the root, linear in
 * between): O(log^2 n) amortised slot moves, never an allocation, because
 * the array grows (in cs__idx_reserve, from cs_pool_add_node) before it
 * holds more than 3/4 of its room. So a key change (every allocate and
 * release moves a node in the S order) cannot fail, as release must not.
 *
 * Fit summary. A demand fits a node when the node's free vector dominates
 * it in every dimension. One per-dimension maximum per subtree (what the
 * treaps kept before) lets a fragmented subtree, with cpu spare on one node
 * and memory spare on another, pass the test although no node in it fits,
 * and the search then visited O(n) nodes: at 10k nodes packed to 85% cpu
 * by first fit (bench_pool) a first-fit query cost 3.5 us, as much as a
 * linear scan. Instead each up node is put in a fit class and the tree
 * keeps one maximum per class. The class is the node's bottleneck
 * dimension, argmin_k free_k / cap_k over the resources it has (ties to the
 * lower k), and whether it lacks some resource (cap_k = 0, e.g. a CPU-only
 * node among GPU nodes): members of a class are short in the same place,
 * so their maximum stays close to a real member. Tree nodes examined per
 * first-fit / best-fit query (pruned ones included), at 1k / 10k / 100k
 * nodes, measured with an instrumented build on bench_pool's workloads:
 *                               synthetic (p = 4)        Alibaba trace (p = 3)
 *   one maximum             76/34 499/253 6150/3062   111/64 966/385    -
 *   bottleneck (p)          11/10  16/15    20/20      90/29 792/90  9780/383
 *   bottleneck, runner-up   11/10  16/15    20/20      80/26 632/75     -
 *   bottleneck, lacks (2p)  11/10  16/15    20/20      20/18  99/54   970/278
 * The last is kept: logarithmic on the synthetic workload, and 8x better
 * than the bottleneck alone where CPU-only and GPU nodes mix. (Splitting
 * classes further by levels of free / cap bought at most 1.5x more on the
 * trace.) First fit on the trace still grows linearly: its most frequent
 * task is the one the packing saturated, so every node before the first
 * fit lacks it by a little in cpu or in gpu, within one class; an exact
 * answer there needs per-subtree skylines, not maxima. Pruning stays exact
 * whatever the classes are: a class maximum bounds every member, so a
 * subtree is skipped only when no member can fit.
 *
 * Updates. A release only raises a node's free vector: its class maxima
 * are raised from the leaf up until an ancestor already held them, reading
 * no sibling. An allocation (or a node leaving a class) recomputes that
 * class's maxima from the two children at each ancestor, until nothing
 * changes. A move in the S order (every allocate and release) is an erase
 * and an insert, unless the new key stays between two slots of its block.
 *
 * Blocks of 16 slots, at most 3/4 full on the whole (3/8 just after the
 * array doubles): leaves scanned linearly, a tree of about n/3 to n/6
 * nodes, with fewer cache misses than a node per slot and half the depth
 * of a treap; blocks of 8, 32 and 64 cost the same instructions within
 * 10%. Everything is deterministic: no hashing, no addresses. */
#include "pool_internal.h"

#define BLK CS_IDX_BLOCK

/* ------------------------------------------------------------------ */
/* keys                                                                */

typedef cs_idx_key idx_key;

static inline idx_key slot_key(const cs_pool *pool, uint32_t s)
{
    idx_key k = {pool->sval[s], pool->node_id[s], pool->partition[s]};
    return k;
}

/* Whether key a < key b in index ti's order. */
static inline bool key_less(int ti, const idx_key *a, const idx_key *b)
{
    if (a->part != b->part)
        return a->part < b->part;
    if (ti == CS_IDX_BY_S && a->s != b->s)
        return a->s < b->s;
    return a->id < b->id;
}

static inline bool slot_less(const cs_pool *pool, int ti, uint32_t a, uint32_t b)
{
    idx_key ka = slot_key(pool, a), kb = slot_key(pool, b);
    return key_less(ti, &ka, &kb);
}

/* ------------------------------------------------------------------ */
/* fit classes                                                         */

uint8_t cs__pool_fit_class(const cs_pool *pool, uint32_t s)
{
    if (pool->state[s] != CS_NODE_UP)
        return CS_FIT_CLASS_NONE;
    size_t p = pool->p, half = pool->nclass / 2;
    const int64_t *c = pool->cap + (size_t)s * p, *f = pool->free_ + (size_t)s * p;
    size_t best = 0;
    bool lacks = false;
    double bu = HUGE_VAL;
    for (size_t k = 0; k < p; k++) {
        if (c[k] <= 0) {
            lacks = true; /* never a bottleneck, but never holds a demand for it */
            continue;
        }
        double u = (double)f[k] / (double)c[k];
        if (u < bu) {
            bu = u;
            best = k;
        }
    }
    if (best >= half)
        best = half - 1;
    return (uint8_t)(lacks ? half + best : best);
}

/* ------------------------------------------------------------------ */
/* summaries                                                           */

static inline int64_t *smax_of(const cs_pool *pool, const cs_fitidx *x, size_t t)
{
    return x->smax + t * pool->nclass * pool->p;
}

/* Tree node t's least slot, with a copy of its key (descents compare keys
 * without touching the node arrays). */
static inline void set_tmin(const cs_pool *pool, cs_fitidx *x, size_t t, uint32_t s)
{
    x->tmin[t] = s;
    if (s != CS_NIL)
        x->tkey[t] = slot_key(pool, s);
}

/* Recompute leaf b (block b) from its slots: every class and the least
 * slot. Returns whether anything changed. */
static bool pull_leaf(const cs_pool *pool, cs_fitidx *x, size_t b)
{
    size_t p = pool->p, t = x->nb + b;
    int64_t tmp[CS_FIT_MAX_CLASSES * CS_POOL_MAX_RESOURCES];
    unsigned m = 0;
    const uint32_t *it = x->items + b * BLK;
    for (size_t i = 0; i < x->cnt[b]; i++) {
        unsigned c = pool->fclass[it[i]];
        if (c >= pool->nclass)
            continue; /* not up */
        const int64_t *f = pool->free_ + (size_t)it[i] * p;
        int64_t *v = tmp + c * p;
        bool first = !(m >> c & 1u);
        for (size_t k = 0; k < p; k++)
            v[k] = first || f[k] > v[k] ? f[k] : v[k];
        m |= 1u << c;
    }
    uint32_t tm = x->cnt[b] > 0 ? it[0] : CS_NIL;
    bool changed = x->mask[t] != m || x->tmin[t] != tm;
    x->mask[t] = (uint16_t)m;
    set_tmin(pool, x, t, tm);
    int64_t *dst = smax_of(pool, x, t);
    for (unsigned mm = m; mm != 0; mm &= mm - 1) {
        size_t c = (size_t)__builtin_ctz(mm);
        for (size_t k = 0; k < p; k++) {
            changed |= dst[c * p + k] != tmp[c * p + k];
            dst[c * p + k] = tmp[c * p + k];
        }
    }
    return changed;
}

/* Recompute internal node t from its children: every class and the least
 * slot. Returns whether anything changed. */
static bool pull_node(const cs_pool *pool, cs_fitidx *x, size_t t)
{
    size_t p = pool->p, l = 2 * t, r = 2 * t + 1;
    unsigned ml = x->mask[l], mr = x->mask[r], m = ml | mr;
    uint32_t tm = x->tmin[l] != CS_NIL ? x->tmin[l] : x->tmin[r];
    bool changed = x->mask[t] != m || x->tmin[t] != tm;
    x->mask[t] = (uint16_t)m;
    x->tmin[t] = tm;
    if (tm != CS_NIL) /* copied even when tm is the same slot: a rebuild changes keys */
        x->tkey[t] = x->tkey[x->tmin[l] != CS_NIL ? l : r];
    int64_t *dst = smax_of(pool, x, t);
    const int64_t *sl = smax_of(pool, x, l), *sr = smax_of(pool, x, r);
    for (unsigned mm = m; mm != 0; mm &= mm - 1) {
        size_t c = (size_t)__builtin_ctz(mm);
        /* A class only one child has: take that child's maxima twice. */
        const int64_t *a = (ml >> c & 1u ? sl : sr) + c * p;
        const int64_t *bb = (mr >> c & 1u ? sr : sl) + c * p;
        int64_t *d = dst + c * p;
        for (size_t k = 0; k < p; k++) {
            int64_t v = a[k] > bb[k] ? a[k] : bb[k];
            changed |= d[k] != v;
            d[k] = v;
        }
    }
    return changed;
}

/* Block b changed in any way: refresh it and its ancestors while anything
 * changes. */
static void update_up(const cs_pool *pool, cs_fitidx *x, size_t b)
{
    size_t t = x->nb + b;
    bool changed = pull_leaf(pool, x, b);
    while (changed && t > 1) {
        t >>= 1;
        changed = pull_node(pool, x, t);
    }
}

/* Slot s joined block b, or its free vector only grew: raise its class's
 * maxima from leaf b up, stopping at the first node that already held them
 * (no sibling is read: a maximum only grows). */
static void fold_up(const cs_pool *pool, cs_fitidx *x, size_t b, uint32_t s)
{
    unsigned c = pool->fclass[s];
    if (c >= pool->nclass)
        return;
    size_t p = pool->p;
    const int64_t *f = pool->free_ + (size_t)s * p;
    for (size_t t = x->nb + b; t >= 1; t >>= 1) {
        int64_t *d = smax_of(pool, x, t) + c * p;
        bool changed = false;
        if (!(x->mask[t] >> c & 1u)) {
            for (size_t k = 0; k < p; k++)
                d[k] = f[k];
            x->mask[t] = (uint16_t)(x->mask[t] | 1u << c);
            changed = true;
        } else {
            for (size_t k = 0; k < p; k++)
                if (f[k] > d[k]) {
                    d[k] = f[k];
                    changed = true;
                }
        }
        if (!changed)
            return;
    }
}

/* Store vector v (when `any`) as class c's maxima at tree node t, or clear
 * the class there. Returns whether that changed anything. */
static inline bool set_class(const cs_pool *pool, cs_fitidx *x, size_t t, unsigned c, bool any,
                             const int64_t *v)
{
    size_t p = pool->p;
    bool had = x->mask[t] >> c & 1u;
    if (!any) {
        x->mask[t] = (uint16_t)(x->mask[t] & ~(1u << c));
        return had;
    }
    int64_t *d = smax_of(pool, x, t) + c * p;
    bool changed = !had;
    x->mask[t] = (uint16_t)(x->mask[t] | 1u << c);
    for (size_t k = 0; k < p; k++) {
        changed |= d[k] != v[k];
        d[k] = v[k];
    }
    return changed;
}

/* A slot of class c left block b, or its free vector fell: recompute class
 * c's maxima at leaf b from its slots, then at each ancestor from its two
 * children, while anything changes. */
static void shrink_up(const cs_pool *pool, cs_fitidx *x, size_t b, unsigned c)
{
    if (c >= pool->nclass)
        return;
    size_t p = pool->p, t = x->nb + b;
    int64_t v[CS_POOL_MAX_RESOURCES];
    bool any = false;
    const uint32_t *it = x->items + b * BLK;
    for (size_t i = 0; i < x->cnt[b]; i++) {
        if (pool->fclass[it[i]] != c)
            continue;
        const int64_t *f = pool->free_ + (size_t)it[i] * p;
        for (size_t k = 0; k < p; k++)
            v[k] = !any || f[k] > v[k] ? f[k] : v[k];
        any = true;
    }
    bool changed = set_class(pool, x, t, c, any, v);
    while (changed && t > 1) {
        t >>= 1;
        size_t l = 2 * t, r = l + 1;
        bool inl = x->mask[l] >> c & 1u, inr = x->mask[r] >> c & 1u;
        const int64_t *a = smax_of(pool, x, inl ? l : r) + c * p;
        const int64_t *bb = smax_of(pool, x, inr ? r : l) + c * p;
        for (size_t k = 0; k < p; k++)
            v[k] = a[k] > bb[k] ? a[k] : bb[k];
        changed = set_class(pool, x, t, c, inl || inr, v);
    }
}

/* Block b's first slot may have changed: fix the least slots above it. */
static void tmin_up(const cs_pool *pool, cs_fitidx *x, size_t b)
{
    size_t t = x->nb + b;
    uint32_t tm = x->cnt[b] > 0 ? x->items[b * BLK] : CS_NIL;
    if (x->tmin[t] == tm)
        return;
    set_tmin(pool, x, t, tm);
    for (t >>= 1; t >= 1; t >>= 1) {
        size_t from = x->tmin[2 * t] != CS_NIL ? 2 * t : 2 * t + 1;
        if (x->tmin[t] == x->tmin[from])
            return;
        x->tmin[t] = x->tmin[from];
        x->tkey[t] = x->tkey[from];
    }
}

/* Recompute every node: leaves [bl, bl + w) (an aligned window), the tree
 * inside the window, and the window's ancestors. */
static void pull_window(const cs_pool *pool, cs_fitidx *x, size_t bl, size_t w)
{
    for (size_t b = bl; b < bl + w; b++)
        (void)pull_leaf(pool, x, b);
    size_t lo = x->nb + bl, hi = x->nb + bl + w; /* tree nodes [lo, hi) at one level */
    while (hi - lo > 1) {
        lo >>= 1;
        hi >>= 1;
        for (size_t t = lo; t < hi; t++)
            (void)pull_node(pool, x, t);
    }
    for (size_t t = lo >> 1; t >= 1; t >>= 1)
        (void)pull_node(pool, x, t);
}

/* Spread the `run` slots stored contiguously from block bl's start evenly
 * over blocks [bl, bl + w): block j gets floor(run (j+1) / w) -
 * floor(run j / w). Moving the last block first never overwrites a slot
 * not yet moved, since block j's destination starts at or after its
 * source. Sets cnt and where; summaries are the caller's. */
static void spread(cs_fitidx *x, size_t bl, size_t w, size_t run)
{
    uint32_t *base = x->items + bl * BLK;
    for (size_t j = w; j-- > 0;) {
        size_t from = run * j / w, to = run * (j + 1) / w, n = to - from;
        memmove(base + j * BLK, base + from, n * sizeof *base);
        x->cnt[bl + j] = (uint8_t)n;
        for (size_t i = 0; i < n; i++)
            x->where[base[j * BLK + i]] = (uint32_t)(bl + j);
    }
}

/* Move the slots of blocks [bl, bl + w) to one contiguous run from block
 * bl's start (moving left only), returning its length. */
static size_t compact(cs_fitidx *x, size_t bl, size_t w)
{
    uint32_t *base = x->items + bl * BLK;
    size_t run = 0;
    for (size_t j = 0; j < w; j++) {
        memmove(base + run, base + j * BLK, x->cnt[bl + j] * sizeof *base);
        run += x->cnt[bl + j];
    }
    return run;
}

/* ------------------------------------------------------------------ */
/* growth                                                              */

/* The whole array may hold 3/4 of its room; a window of 2^h blocks at
 * height h (of H) may hold a share that falls linearly from 1 to 3/4. */
static size_t window_limit(size_t w, unsigned h, unsigned height)
{
    double tau = height == 0 ? 0.75 : 1.0 - 0.25 * (double)h / (double)height;
    return (size_t)((double)(w * BLK) * tau);
}

static bool roomy(size_t nb, size_t n)
{
    return n <= window_limit(nb, 1, 1);
}

/* Free x's arrays (not `where`, which is per slot) and forget them. */
static void free_arrays(const cs_allocator *a, cs_fitidx *x)
{
    cs__free(a, x->items);
    cs__free(a, x->cnt);
    cs__free(a, x->tmin);
    cs__free(a, x->tkey);
    cs__free(a, x->mask);
    cs__free(a, x->smax);
    x->items = NULL;
    x->cnt = NULL;
    x->tmin = NULL;
    x->tkey = NULL;
    x->mask = NULL;
    x->smax = NULL;
    x->nb = 0;
}

void cs__idx_free(cs_pool *pool, int ti)
{
    free_arrays(&pool->a, &pool->idx[ti]);
}

bool cs__idx_reserve(cs_pool *pool, int ti, size_t n)
{
    cs_fitidx *x = &pool->idx[ti];
    if (x->nb > 0 && roomy(x->nb, n))
        return true;
    size_t nb = x->nb > 0 ? x->nb : 1;
    while (!roomy(nb, n)) {
        if (nb > (SIZE_MAX / 4) / (BLK * CS_FIT_MAX_CLASSES * CS_POOL_MAX_RESOURCES * 8))
            return false;
        nb *= 2;
    }
    /* Allocate everything first: on failure the index is untouched. */
    const cs_allocator *a = &pool->a;
    size_t sbytes;
    if (!cs__mul_size(2 * nb, pool->nclass * pool->p * sizeof(int64_t), &sbytes))
        return false;
    cs_fitidx g = {
        .nb = nb,
        .items = cs__alloc_array(a, nb * BLK, sizeof *g.items),
        .cnt = cs__calloc_array(a, nb, sizeof *g.cnt),
        .tmin = cs__alloc_array(a, 2 * nb, sizeof *g.tmin),
        .tkey = cs__alloc_array(a, 2 * nb, sizeof *g.tkey),
        .mask = cs__calloc_array(a, 2 * nb, sizeof *g.mask),
        .smax = cs__alloc(a, sbytes),
    };
    if (g.items == NULL || g.cnt == NULL || g.tmin == NULL || g.tkey == NULL ||
        g.mask == NULL || g.smax == NULL) {
        free_arrays(a, &g);
        return false;
    }
    /* Gather the slots in order, then spread them over the new blocks. */
    size_t run = 0;
    for (size_t b = 0; b < x->nb; b++) {
        memcpy(g.items + run, x->items + b * BLK, x->cnt[b] * sizeof *g.items);
        run += x->cnt[b];
    }
    free_arrays(a, x);
    g.nitems = x->nitems;
    g.where = x->where;
    *x = g;
    for (size_t t = 0; t < 2 * nb; t++)
        x->tmin[t] = CS_NIL;
    spread(x, 0, nb, run);
    pull_window(pool, x, 0, nb);
    return true;
}

/* ------------------------------------------------------------------ */
/* positions                                                           */

/* Block and index of the first slot whose key is not less than k. */
static void lower_bound(const cs_pool *pool, int ti, const idx_key *k, size_t *blk, size_t *pos)
{
    const cs_fitidx *x = &pool->idx[ti];
    size_t t = 1;
    while (t < x->nb) {
        size_t r = 2 * t + 1;
        t = x->tmin[r] != CS_NIL && key_less(ti, &x->tkey[r], k) ? r : 2 * t;
    }
    size_t b = t - x->nb, lo = 0, hi = x->cnt[b];
    const uint32_t *it = x->items + b * BLK;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        idx_key km = slot_key(pool, it[mid]);
        if (key_less(ti, &km, k))
            lo = mid + 1;
        else
            hi = mid;
    }
    *blk = b;
    *pos = lo;
}

size_t cs__idx_lower_bound(const cs_pool *pool, int ti, uint32_t partition, double s,
                           uint64_t id)
{
    if (pool->idx[ti].nb == 0)
        return 0;
    idx_key k = {s, id, partition};
    size_t b, i;
    lower_bound(pool, ti, &k, &b, &i);
    return b * BLK + i;
}

size_t cs__idx_end(const cs_pool *pool, int ti)
{
    return pool->idx[ti].nb * BLK;
}

/* ------------------------------------------------------------------ */
/* insert, erase, move                                                 */

/* Put s at index i of block b (shifting the block's tail), spreading a
 * window first when b is full. */
static void place(cs_pool *pool, cs_fitidx *x, uint32_t s, size_t b, size_t i)
{
    if (x->cnt[b] < BLK) {
        uint32_t *it = x->items + b * BLK;
        memmove(it + i + 1, it + i, (x->cnt[b] - i) * sizeof *it);
        it[i] = s;
        x->cnt[b]++;
        x->where[s] = (uint32_t)b;
        if (i == 0)
            tmin_up(pool, x, b);
        fold_up(pool, x, b, s);
        return;
    }
    /* A neighbour with room takes the slot at our edge: one slot moves. */
    uint32_t *it = x->items + b * BLK;
    if (b + 1 < x->nb && x->cnt[b + 1] < BLK) {
        uint32_t *nx = x->items + (b + 1) * BLK;
        memmove(nx + 1, nx, x->cnt[b + 1] * sizeof *nx);
        x->cnt[b + 1]++;
        if (i == BLK) {
            nx[0] = s;
        } else {
            nx[0] = it[BLK - 1];
            memmove(it + i + 1, it + i, (BLK - 1 - i) * sizeof *it);
            it[i] = s;
        }
        x->where[s] = (uint32_t)b;
        x->where[nx[0]] = (uint32_t)(b + 1);
        update_up(pool, x, b + 1);
        update_up(pool, x, b);
        return;
    }
    if (b > 0 && x->cnt[b - 1] < BLK) {
        uint32_t *pv = x->items + (b - 1) * BLK;
        if (i == 0) {
            pv[x->cnt[b - 1]] = s;
        } else {
            pv[x->cnt[b - 1]] = it[0];
            memmove(it, it + 1, (i - 1) * sizeof *it);
            it[i - 1] = s;
            x->where[s] = (uint32_t)b;
        }
        x->where[pv[x->cnt[b - 1]]] = (uint32_t)(b - 1);
        x->cnt[b - 1]++;
        update_up(pool, x, b - 1);
        update_up(pool, x, b);
        return;
    }
    /* The smallest aligned window around b with room under its threshold.
     * The root always has room: cs__idx_reserve keeps n <= 3/4 of it. */
    unsigned height = 0;
    for (size_t v = x->nb; v > 1; v >>= 1)
        height++;
    size_t bl = b, w = 1, total = (size_t)x->cnt[b] + 1;
    unsigned h = 0;
    while (total > window_limit(w, h, height) && w < x->nb) {
        size_t nbl = bl & ~(2 * w - 1);
        size_t other = nbl == bl ? bl + w : nbl; /* the sibling half */
        for (size_t j = other; j < other + w; j++)
            total += x->cnt[j];
        bl = nbl;
        w *= 2;
        h++;
    }
    size_t before = 0;
    for (size_t j = bl; j < b; j++)
        before += x->cnt[j];
    size_t run = compact(x, bl, w);
    uint32_t *base = x->items + bl * BLK;
    size_t at = before + i;
    memmove(base + at + 1, base + at, (run - at) * sizeof *base);
    base[at] = s;
    spread(x, bl, w, run + 1);
    pull_window(pool, x, bl, w);
}

void cs__idx_insert(cs_pool *pool, int ti, uint32_t s)
{
    cs_fitidx *x = &pool->idx[ti];
    idx_key k = slot_key(pool, s);
    size_t b, i;
    lower_bound(pool, ti, &k, &b, &i);
    x->nitems++;
    place(pool, x, s, b, i);
}

/* Index of s within its block. */
static size_t index_in_block(const cs_fitidx *x, uint32_t s)
{
    const uint32_t *it = x->items + (size_t)x->where[s] * BLK;
    size_t i = 0;
    while (it[i] != s)
        i++;
    return i;
}

/* Take s out of its block; old_class: the class whose maxima it counted in. */
static void erase(cs_pool *pool, cs_fitidx *x, uint32_t s, unsigned old_class)
{
    size_t b = x->where[s], i = index_in_block(x, s);
    uint32_t *it = x->items + b * BLK;
    memmove(it + i, it + i + 1, (x->cnt[b] - i - 1) * sizeof *it);
    x->cnt[b]--;
    x->nitems--;
    if (i == 0)
        tmin_up(pool, x, b);
    shrink_up(pool, x, b, old_class);
}

void cs__idx_erase(cs_pool *pool, int ti, uint32_t s)
{
    erase(pool, &pool->idx[ti], s, pool->fclass[s]);
}

void cs__idx_refresh(cs_pool *pool, int ti, uint32_t s, uint8_t old_class, bool grew)
{
    cs_fitidx *x = &pool->idx[ti];
    size_t b = x->where[s];
    if (old_class == pool->fclass[s]) {
        if (grew)
            fold_up(pool, x, b, s); /* its maxima can only rise */
        else
            shrink_up(pool, x, b, old_class);
        return;
    }
    /* It left the old class (whose maxima may fall) and joined the new one
     * (whose maxima can only rise). */
    shrink_up(pool, x, b, old_class);
    fold_up(pool, x, b, s);
}

void cs__idx_move(cs_pool *pool, int ti, uint32_t s, uint8_t old_class, bool grew)
{
    cs_fitidx *x = &pool->idx[ti];
    size_t b = x->where[s], i = index_in_block(x, s), n = x->cnt[b];
    uint32_t *it = x->items + b * BLK;
    /* When the new key still falls between two other slots of the block, s
     * moves within it: no descent, one refresh. */
    bool inside = n >= 3;
    if (inside) {
        size_t first = i == 0 ? 1 : 0, last = i == n - 1 ? n - 2 : n - 1;
        inside = slot_less(pool, ti, it[first], s) && slot_less(pool, ti, s, it[last]);
    }
    if (inside) {
        memmove(it + i, it + i + 1, (n - i - 1) * sizeof *it);
        size_t j = 0;
        while (slot_less(pool, ti, it[j], s))
            j++;
        memmove(it + j + 1, it + j, (n - 1 - j) * sizeof *it);
        it[j] = s;
        if (i == 0 || j == 0)
            tmin_up(pool, x, b);
        cs__idx_refresh(pool, ti, s, old_class, grew);
        return;
    }
    erase(pool, x, s, old_class);
    cs__idx_insert(pool, ti, s);
}

/* ------------------------------------------------------------------ */
/* re-sorting in place                                                 */

static void sift_down(const cs_pool *pool, int ti, uint32_t *a, size_t i, size_t n)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && slot_less(pool, ti, a[c], a[c + 1]))
            c++;
        if (!slot_less(pool, ti, a[i], a[c]))
            return;
        uint32_t t = a[i];
        a[i] = a[c];
        a[c] = t;
        i = c;
    }
}

void cs__idx_rebuild(cs_pool *pool, int ti)
{
    cs_fitidx *x = &pool->idx[ti];
    if (x->nb == 0)
        return;
    size_t n = compact(x, 0, x->nb);
    /* Heapsort: O(n log n), in place, deterministic (keys are distinct). */
    uint32_t *a = x->items;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(pool, ti, a, i, n);
    for (size_t e = n; e-- > 1;) {
        uint32_t t = a[0];
        a[0] = a[e];
        a[e] = t;
        sift_down(pool, ti, a, 0, e);
    }
    spread(x, 0, x->nb, n);
    pull_window(pool, x, 0, x->nb);
}

/* ------------------------------------------------------------------ */
/* search                                                              */

typedef struct search {
    const cs_pool *pool;
    const cs_fitidx *x;
    const int64_t *d;
    size_t lo, hi;
    cs_idx_fn fn;
    void *ctx;
    uint32_t found;
} search;

static inline bool dominates(const int64_t *v, const int64_t *d, size_t p)
{
    for (size_t k = 0; k < p; k++)
        if (v[k] < d[k])
            return false;
    return true;
}

/* The classes of m whose maximum under t holds the demand. */
static inline unsigned passing(const search *c, size_t t, unsigned m)
{
    size_t p = c->pool->p;
    const int64_t *sm = smax_of(c->pool, c->x, t);
    for (unsigned mm = m; mm != 0; mm &= mm - 1) {
        unsigned k = (unsigned)__builtin_ctz(mm);
        if (!dominates(sm + k * p, c->d, p))
            m &= ~(1u << k);
    }
    return m;
}

/* Whether slot s (of a class in m) fits and the callback takes it. */
static inline bool try_slot(search *c, uint32_t s, unsigned m)
{
    const cs_pool *pool = c->pool;
    if (!(m >> pool->fclass[s] & 1u) ||
        !dominates(pool->free_ + (size_t)s * pool->p, c->d, pool->p))
        return false;
    if (!c->fn(c->ctx, s))
        return false;
    c->found = s;
    return true;
}

/* Tree node t covers blocks [bl, bl + w). True once the callback took a slot. */
static bool walk(search *c, size_t t, size_t bl, size_t w, unsigned m, bool reverse)
{
    if ((bl + w) * BLK <= c->lo || bl * BLK >= c->hi)
        return false;
    m = passing(c, t, m & c->x->mask[t]);
    if (m == 0)
        return false;
    if (w == 1) {
        const uint32_t *it = c->x->items + bl * BLK;
        size_t from = c->lo > bl * BLK ? c->lo - bl * BLK : 0;
        size_t to = c->x->cnt[bl];
        if (c->hi < bl * BLK + to)
            to = c->hi - bl * BLK;
        if (!reverse) {
            for (size_t i = from; i < to; i++)
                if (try_slot(c, it[i], m))
                    return true;
        } else {
            for (size_t i = to; i-- > from;)
                if (try_slot(c, it[i], m))
                    return true;
        }
        return false;
    }
    size_t h = w / 2;
    if (!reverse)
        return walk(c, 2 * t, bl, h, m, false) || walk(c, 2 * t + 1, bl + h, h, m, false);
    return walk(c, 2 * t + 1, bl + h, h, m, true) || walk(c, 2 * t, bl, h, m, true);
}

uint32_t cs__idx_search(const cs_pool *pool, int ti, size_t lo, size_t hi,
                        const int64_t *demand, bool reverse, cs_idx_fn fn, void *ctx)
{
    const cs_fitidx *x = &pool->idx[ti];
    if (x->nb == 0 || lo >= hi)
        return CS_NIL;
    search c = {pool, x, demand, lo, hi, fn, ctx, CS_NIL};
    (void)walk(&c, 1, 0, x->nb, (1u << pool->nclass) - 1, reverse);
    return c.found;
}

/* ------------------------------------------------------------------ */
/* invariant check                                                     */

cs_status cs__idx_check(const cs_pool *pool, int ti)
{
    const cs_fitidx *x = &pool->idx[ti];
    size_t p = pool->p, K = pool->nclass;
    if (x->nb == 0)
        return pool->num_nodes == 0 && x->nitems == 0 ? CS_OK : CS_ERR_STATE;
    if ((x->nb & (x->nb - 1)) != 0 || !roomy(x->nb, x->nitems))
        return CS_ERR_STATE;
    /* Slots: every live node once, in strictly increasing key order. */
    size_t n = 0;
    uint32_t prev = CS_NIL;
    for (size_t b = 0; b < x->nb; b++) {
        if (x->cnt[b] > BLK)
            return CS_ERR_STATE;
        for (size_t i = 0; i < x->cnt[b]; i++) {
            uint32_t s = x->items[b * BLK + i];
            if (s >= pool->slot_end || pool->node_id[s] == CS_ID_NONE || x->where[s] != b)
                return CS_ERR_STATE;
            if (prev != CS_NIL && !slot_less(pool, ti, prev, s))
                return CS_ERR_STATE;
            prev = s;
            n++;
        }
    }
    if (n != pool->num_nodes || n != x->nitems)
        return CS_ERR_STATE;
    /* Leaves straight from their slots, then each internal node from its
     * (already verified) children: O(n p + nb K p). */
    int64_t want[CS_FIT_MAX_CLASSES * CS_POOL_MAX_RESOURCES];
    for (size_t t = 2 * x->nb; t-- > 1;) {
        unsigned m = 0;
        uint32_t tm;
        if (t >= x->nb) {
            size_t b = t - x->nb;
            tm = x->cnt[b] > 0 ? x->items[b * BLK] : CS_NIL;
            for (size_t i = 0; i < x->cnt[b]; i++) {
                uint32_t s = x->items[b * BLK + i];
                unsigned c = pool->fclass[s];
                if (c != cs__pool_fit_class(pool, s))
                    return CS_ERR_STATE;
                if (c >= K)
                    continue;
                for (size_t k = 0; k < p; k++) {
                    int64_t f = pool->free_[(size_t)s * p + k];
                    if (!(m >> c & 1u) || f > want[c * p + k])
                        want[c * p + k] = f;
                }
                m |= 1u << c;
            }
        } else {
            size_t l = 2 * t, r = 2 * t + 1;
            tm = x->tmin[l] != CS_NIL ? x->tmin[l] : x->tmin[r];
            for (size_t side = l; side <= r; side++) {
                const int64_t *sm = smax_of(pool, x, side);
                for (unsigned c = 0; c < K; c++) {
                    if (!(x->mask[side] >> c & 1u))
                        continue;
                    for (size_t k = 0; k < p; k++)
                        if (!(m >> c & 1u) || sm[c * p + k] > want[c * p + k])
                            want[c * p + k] = sm[c * p + k];
                    m |= 1u << c;
                }
            }
        }
        if (x->mask[t] != m || x->tmin[t] != tm)
            return CS_ERR_STATE;
        if (tm != CS_NIL) {
            idx_key want_key = slot_key(pool, tm);
            if (key_less(ti, &want_key, &x->tkey[t]) || key_less(ti, &x->tkey[t], &want_key))
                return CS_ERR_STATE;
        }
        for (unsigned c = 0; c < K; c++)
            if ((m >> c & 1u) &&
                memcmp(smax_of(pool, x, t) + c * p, want + c * p, p * sizeof(int64_t)) != 0)
                return CS_ERR_STATE;
    }
    return CS_OK;
}
