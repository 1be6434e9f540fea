/*
 * Containers shared by queue.c and fair.c (never installed; ids map to
 * dense indices through idmap.h):
 * - cs__heap: indexed 4-ary min-heap of (key, item) entries. Positions live in
 *   a caller array pos[item] so that an item can be removed or re-keyed in
 *   O(log n); equal keys are ordered by a caller tie function, so that the
 *   order never depends on insertion history.
 * - cs__pq: a plain binary heap of uint32_t under a caller "less", for the
 *   best-first walks that list the first k entries of a heap or a tree.
 * Every function that may allocate reserves first and leaves the container
 * untouched on failure.
 */
#ifndef CLOUDSCHED_QUEUE_INTERNAL_H
#define CLOUDSCHED_QUEUE_INTERNAL_H

#include "idmap.h"
#include "internal.h"

/* "No index". Dense indices are therefore limited to UINT32_MAX - 1. */
#define CS__NIL UINT32_MAX

/* ---- indexed 4-ary heap -------------------------------------------------- */

typedef struct cs__hentry {
    double key;
    uint32_t item;
} cs__hentry;

/* True when item a goes before item b at equal keys (a strict total order). */
typedef bool (*cs__tie_fn)(const void *ctx, uint32_t a, uint32_t b);

typedef struct cs__heap {
    cs__hentry *e;
    size_t n, cap;
} cs__heap;

/* How a heap reaches its positions and its tie order (NULL tie: by item). */
typedef struct cs__heap_ops {
    uint32_t *pos;
    cs__tie_fn tie;
    const void *ctx;
} cs__heap_ops;

void cs__heap_free(const cs_allocator *a, cs__heap *h);
bool cs__heap_reserve(const cs_allocator *a, cs__heap *h, size_t need);
/* True when entry x goes before entry y. */
bool cs__heap_before(const cs__hentry *x, const cs__hentry *y, const cs__heap_ops *ops);
/* Insert (room reserved). O(log n). */
void cs__heap_push(cs__heap *h, double key, uint32_t item, const cs__heap_ops *ops);
/* Remove the entry at index i. O(log n). */
void cs__heap_remove_at(cs__heap *h, size_t i, const cs__heap_ops *ops);
/* Change the key of the entry at index i. O(log n). */
void cs__heap_update(cs__heap *h, size_t i, double key, const cs__heap_ops *ops);
/* Restore the heap order of all entries (keys changed wholesale). O(n). */
void cs__heap_build(cs__heap *h, const cs__heap_ops *ops);

/* First child of heap index i and the number of children per node. */
#define CS__HEAP_D 4
static inline size_t cs__heap_child(size_t i)
{
    return CS__HEAP_D * i + 1;
}

/* ---- candidate heap for best-first walks ------------------------------ */

typedef bool (*cs__less_fn)(const void *ctx, uint32_t a, uint32_t b);

/* v has room for one more element. */
void cs__pq_push(uint32_t *v, size_t *n, uint32_t x, cs__less_fn less, const void *ctx);
/* *n > 0. Returns the least element and removes it. */
uint32_t cs__pq_pop(uint32_t *v, size_t *n, cs__less_fn less, const void *ctx);

/* ---- misc ------------------------------------------------------------- */

/* Sort v[0..n) ascending (heapsort: in place, no allocation). */
void cs__sort_u64(uint64_t *v, size_t n);

/* realloc through the handle allocator, alloc when ptr is NULL. */
static inline void *cs__realloc_or_alloc(const cs_allocator *a, void *ptr, size_t bytes)
{
    return ptr == NULL ? a->alloc(a->ctx, bytes) : a->realloc(a->ctx, ptr, bytes);
}

/* ---- reservation for the scheduler ---------------------------------------- */

struct cs_queue;
/* Make room so that the next n pushes of tasks of `tenant` (an existing
 * tenant for fair-share and DRF queues) cannot fail for lack of memory.
 * False, with nothing observable changed, on failure. */
bool cs__queue_reserve(struct cs_queue *q, uint64_t tenant, size_t n);

#endif /* CLOUDSCHED_QUEUE_INTERNAL_H */
