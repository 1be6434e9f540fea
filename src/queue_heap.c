/* The containers of queue_internal.h: indexed 4-ary heap, candidate
 * heap and an in-place sort. */
#include "queue_internal.h"

/* ---- indexed 4-ary heap -------------------------------------------------- */

void cs__heap_free(const cs_allocator *a, cs__heap *h)
{
    cs__free(a, h->e);
    memset(h, 0, sizeof *h);
}

bool cs__heap_reserve(const cs_allocator *a, cs__heap *h, size_t need)
{
    void *p = h->e;
    if (!cs__reserve(a, &p, &h->cap, need, sizeof *h->e))
        return false;
    h->e = p;
    return true;
}

bool cs__heap_before(const cs__hentry *x, const cs__hentry *y, const cs__heap_ops *ops)
{
    if (x->key != y->key)
        return x->key < y->key;
    return ops->tie != NULL ? ops->tie(ops->ctx, x->item, y->item) : x->item < y->item;
}

static void sift_up(cs__heap *h, size_t i, const cs__heap_ops *ops)
{
    cs__hentry x = h->e[i];
    while (i > 0) {
        size_t p = (i - 1) / CS__HEAP_D;
        if (!cs__heap_before(&x, &h->e[p], ops))
            break;
        h->e[i] = h->e[p];
        if (ops->pos != NULL)
            ops->pos[h->e[i].item] = (uint32_t)i;
        i = p;
    }
    h->e[i] = x;
    if (ops->pos != NULL)
        ops->pos[x.item] = (uint32_t)i;
}

static void sift_down(cs__heap *h, size_t i, const cs__heap_ops *ops)
{
    cs__hentry x = h->e[i];
    size_t n = h->n;
    for (;;) {
        size_t c = cs__heap_child(i);
        if (c >= n)
            break;
        size_t end = c + CS__HEAP_D < n ? c + CS__HEAP_D : n, best = c;
        for (size_t j = c + 1; j < end; j++)
            if (cs__heap_before(&h->e[j], &h->e[best], ops))
                best = j;
        if (!cs__heap_before(&h->e[best], &x, ops))
            break;
        h->e[i] = h->e[best];
        if (ops->pos != NULL)
            ops->pos[h->e[i].item] = (uint32_t)i;
        i = best;
    }
    h->e[i] = x;
    if (ops->pos != NULL)
        ops->pos[x.item] = (uint32_t)i;
}

static void sift(cs__heap *h, size_t i, const cs__heap_ops *ops)
{
    if (i > 0 && cs__heap_before(&h->e[i], &h->e[(i - 1) / CS__HEAP_D], ops))
        sift_up(h, i, ops);
    else
        sift_down(h, i, ops);
}

void cs__heap_push(cs__heap *h, cs__hentry e, const cs__heap_ops *ops)
{
    h->e[h->n] = e;
    h->n++;
    sift_up(h, h->n - 1, ops);
}

void cs__heap_remove_at(cs__heap *h, size_t i, const cs__heap_ops *ops)
{
    if (ops->pos != NULL)
        ops->pos[h->e[i].item] = CS__NIL;
    h->n--;
    if (i == h->n)
        return;
    h->e[i] = h->e[h->n];
    sift(h, i, ops);
}

void cs__heap_update(cs__heap *h, size_t i, double key, const cs__heap_ops *ops)
{
    h->e[i].key = key;
    sift(h, i, ops);
}

void cs__heap_build(cs__heap *h, const cs__heap_ops *ops)
{
    if (ops->pos != NULL)
        for (size_t i = 0; i < h->n; i++)
            ops->pos[h->e[i].item] = (uint32_t)i;
    for (size_t i = h->n / CS__HEAP_D + 1; i-- > 0;)
        if (i < h->n)
            sift_down(h, i, ops);
}

/* ---- candidate heap ----------------------------------------------------- */

void cs__pq_push(uint32_t *v, size_t *n, uint32_t x, cs__less_fn less, const void *ctx)
{
    size_t i = (*n)++;
    while (i > 0 && less(ctx, x, v[(i - 1) / 2])) {
        v[i] = v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    v[i] = x;
}

uint32_t cs__pq_pop(uint32_t *v, size_t *n, cs__less_fn less, const void *ctx)
{
    uint32_t top = v[0], x = v[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && less(ctx, v[c + 1], v[c]))
            c++;
        if (!less(ctx, v[c], x))
            break;
        v[i] = v[c];
        i = c;
    }
    if (m > 0)
        v[i] = x;
    return top;
}

/* ---- sort --------------------------------------------------------------- */

static void sort_sift(uint64_t *v, size_t i, size_t n)
{
    uint64_t x = v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && v[c + 1] > v[c])
            c++;
        if (v[c] <= x)
            break;
        v[i] = v[c];
        i = c;
    }
    v[i] = x;
}

void cs__sort_u64(uint64_t *v, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sort_sift(v, i, n);
    for (size_t end = n; end > 1; end--) {
        uint64_t t = v[0];
        v[0] = v[end - 1];
        v[end - 1] = t;
        sort_sift(v, 0, end - 1);
    }
}
