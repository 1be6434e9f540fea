/*
 * Containers shared by queue.c and fair.c (never installed):
 * - cs__heap: 4-ary min-heap of (key, item) entries. When indexed, positions
 *   live in a caller array pos[item] so that an item can be removed or re-keyed
 *   in O(log n); without positions it serves lazy deletion. Equal keys are
 *   ordered by a caller tie function, so that the order never depends on
 *   insertion history.
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
    uint32_t aux; /* free for the user (a generation number); not compared */
} cs__hentry;

/* True when item a goes before item b at equal keys (a strict total order). */
typedef bool (*cs__tie_fn)(const void *ctx, uint32_t a, uint32_t b);

typedef struct cs__heap {
    cs__hentry *e;
    size_t n, cap;
} cs__heap;

/* How a heap reaches its positions (NULL: none kept) and its tie order (NULL:
 * by item). */
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
void cs__heap_push(cs__heap *h, cs__hentry e, const cs__heap_ops *ops);
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

/* ---- kinetic tournament (HRRN) ------------------------------------------ */

/* The response ratio of a task at time t is (t - a + s) / s: a line in t. */
typedef struct cs__line {
    double a;      /* arrival */
    double s;      /* service time, > 0 */
    uint64_t id;   /* task id, for ties */
    uint32_t slot; /* CS__NIL for an empty node */
    uint32_t unused;
} cs__line;

/* A tournament node: its winner's line, the time up to which that winner is
 * certain to stay ahead of the other child's winner, and the least such time
 * in its subtree (both +inf at leaves). Kept together: a re-evaluation reads
 * the two children, which sit side by side. */
typedef struct cs__knode {
    cs__line w;
    double cert;
    double mincert;
} cs__knode;

/* Kinetic tournament (Basch, Guibas and Hershberger, "Data structures for
 * mobile data", J. Algorithms 1999) over slots 0..cap-1. Nodes are numbered as
 * in a binary heap: 1 is the root, i has children 2i and 2i + 1, and node
 * cap + s is the leaf of slot s. Winners and certificates describe time
 * `now`; the subtree minima let advancing the clock descend only into
 * subtrees where some certificate expires (no separate event queue). */
typedef struct cs__kinetic {
    size_t cap;        /* leaves: 0 or a power of two */
    cs__knode *node;   /* 2 * cap */
    double now;        /* the time winners and certificates describe */
    bool valid;        /* false: rebuild from the leaves at the next advance */
} cs__kinetic;

void cs__kin_free(const cs_allocator *a, cs__kinetic *k);
/* Room for slots 0..need-1; false (unchanged) on failure. Growing keeps the
 * leaves and invalidates the rest. */
bool cs__kin_reserve(const cs_allocator *a, cs__kinetic *k, size_t need);
/* Set (or replace, with `changed_line`) the line of slot, or clear it. */
void cs__kin_set(cs__kinetic *k, uint32_t slot, double a, double s, uint64_t id,
                 bool changed_line);
void cs__kin_clear(cs__kinetic *k, uint32_t slot);
/* Move the clock to t >= now (rebuilding when invalid). */
void cs__kin_advance(cs__kinetic *k, double t);
/* The slot with the highest ratio at the clock (after advance), or CS__NIL. */
static inline uint32_t cs__kin_head(const cs__kinetic *k)
{
    return k->cap == 0 ? CS__NIL : k->node[1].w.slot;
}
/* Ids of the first up to `cap` tasks in order at the clock; `room` holds
 * cs__kin_room(k, cap) candidates. Returns the number written. */
size_t cs__kin_list(const cs__kinetic *k, uint32_t *room, uint64_t *out, size_t cap);
size_t cs__kin_room(const cs__kinetic *k, size_t cap, size_t live);
/* Invariants at the clock (winners, certificates, minima). */
bool cs__kin_check(const cs__kinetic *k);

/* ---- misc ------------------------------------------------------------- */

/* Sort v[0..n) ascending (heapsort: in place, no allocation). */
void cs__sort_u64(uint64_t *v, size_t n);

/* realloc through the handle allocator, alloc when ptr is NULL. */
static inline void *cs__realloc_or_alloc(const cs_allocator *a, void *ptr, size_t bytes)
{
    return ptr == NULL ? a->alloc(a->ctx, bytes) : a->realloc(a->ctx, ptr, bytes);
}

/* ---- for the scheduler --------------------------------------------------- */

struct cs_queue;
/* Reserve the scratch cs_queue_order needs to list `cap` entries now, so
 * that such a call cannot fail for lack of memory while nothing is pushed.
 * False, with nothing observable changed, on failure. */
bool cs__queue_reserve_order(struct cs_queue *q, size_t cap);

#endif /* CLOUDSCHED_QUEUE_INTERNAL_H */
