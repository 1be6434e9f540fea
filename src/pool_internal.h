/*
 * The pool's representation, shared with the scheduler (sched.c scores
 * nodes straight from these arrays). Never installed.
 *
 * Nodes live in slots (struct of arrays, p values per slot for vectors);
 * removed slots go on a free list and are reused, so slot numbers are
 * stable for a node's lifetime. Two fit indices (src/pool_index.c) order
 * the live nodes:
 *   BY_ID: key (partition, id)       - first fit, ordered visits
 *   BY_S:  key (partition, S, id)    - best fit (leftmost) and worst fit
 *                                      (rightmost), S = sum_k w_k free_k
 * Each index is a packed-memory array of slot numbers cut into blocks of
 * CS_IDX_BLOCK, under an implicit (heap-ordered) binary tree. Every tree
 * node keeps, for each "fit class" of up nodes below it, the per-dimension
 * maximum of their free capacity. A node's fit class is its bottleneck
 * dimension (argmin_k free_k / cap_k), and whether it lacks some resource:
 * one maximum per class stays close to a real node under multi-dimensional
 * fragmentation, where one maximum over all nodes (cpu spare here, memory
 * spare there) admits demands that no single node can hold. See
 * pool_index.c for the measurements.
 */
#ifndef CLOUDSCHED_POOL_INTERNAL_H
#define CLOUDSCHED_POOL_INTERNAL_H

#include "cloudsched/pool.h"
#include "idmap.h"
#include "internal.h"

#define CS_NIL UINT32_MAX

enum { CS_IDX_BY_ID = 0, CS_IDX_BY_S = 1, CS_IDX_COUNT = 2 };

/* Slots per block of an index (the tree's leaves). */
#define CS_IDX_BLOCK 16
/* At most this many fit classes: a bottleneck dimension (the last ones
 * share a class), times whether the node lacks some resource. */
#define CS_FIT_MAX_CLASSES 16
/* The fit class of a node that is not up: in no class, never a candidate. */
#define CS_FIT_CLASS_NONE CS_FIT_MAX_CLASSES

/* A key of the fit order: BY_ID compares (part, id), BY_S (part, s, id). */
typedef struct cs_idx_key {
    double s;
    uint64_t id;
    uint32_t part;
} cs_idx_key;

/* One ordered fit index. Tree nodes are numbered 1 .. 2nb-1, node t has
 * children 2t and 2t+1, and leaf nb + b is block b. */
typedef struct cs_fitidx {
    size_t nb;       /* blocks: a power of two, 0 before the first reservation */
    size_t nitems;   /* slots held */
    uint32_t *items; /* nb * CS_IDX_BLOCK: block b's cnt[b] slots, in key order, at its front */
    uint8_t *cnt;    /* nb */
    uint32_t *tmin;  /* 2nb: the slot with the least key under tree node t, CS_NIL if none */
    cs_idx_key *tkey;/* 2nb: that slot's key, valid when tmin[t] != CS_NIL */
    uint16_t *mask;  /* 2nb: bit c set when some up node of class c is under t */
    int64_t *smax;   /* 2nb * nclass * p: per class and dimension, the largest free */
    uint32_t *where; /* per slot: the block holding it */
} cs_fitidx;

/* A node's labels in one block: n (key, value) pairs sorted by key, the
 * strings stored after the array. */
typedef struct cs_label_block {
    size_t n;
    cs_label items[];
} cs_label_block;

/* Per-partition totals: capacity and free over up nodes, used over all. */
typedef struct cs_partition_stats {
    uint32_t id;
    uint32_t nodes;
} cs_partition_stats;

struct cs_pool {
    cs_allocator a;
    size_t p;
    char **names;

    /* best/worst-fit norm weights; auto = 1 / max capacity ever seen */
    double *weights;
    int64_t *max_cap;
    bool auto_weights;

    /* nodes, by slot */
    size_t slot_cap;  /* allocated slots */
    size_t slot_end;  /* slots ever used: [0, slot_end) */
    size_t num_nodes; /* live nodes */
    uint32_t free_slot_head; /* free list through slot_next, CS_NIL if none */
    uint32_t *slot_next;
    uint64_t *node_id;       /* CS_ID_NONE for a free slot */
    int64_t *cap;            /* slot * p */
    int64_t *free_;          /* slot * p */
    double *unit_cost;       /* slot * p */
    double *sval;            /* S(free) per slot */
    uint8_t *fclass;         /* fit class per slot, CS_FIT_CLASS_NONE unless up */
    uint8_t *state;
    uint32_t *zone, *rack, *partition;
    cs_label_block **labels; /* NULL when a node has none */
    uint32_t *alloc_head, *alloc_tail, *alloc_count; /* per node, allocation list */
    size_t nclass;           /* fit classes: min(2p, CS_FIT_MAX_CLASSES) */
    cs_fitidx idx[CS_IDX_COUNT];
    cs_idmap node_map; /* id -> slot */
    uint64_t next_auto_id;

    /* allocations, by slot */
    size_t aslot_cap, aslot_end, num_allocs;
    uint32_t free_aslot_head; /* free list through anext */
    uint64_t *alloc_id;       /* CS_ID_NONE when free */
    uint32_t *anode;          /* node slot */
    uint64_t *owner;
    int64_t *ademand;         /* aslot * p */
    uint32_t *aprev, *anext;  /* per-node list in id order */
    cs_idmap alloc_map;
    uint64_t next_alloc_id;

    /* totals: pool-wide, then per partition (sorted by id) */
    int64_t *tot_cap_all; /* every node, any state: bounds every other sum */
    int64_t *tot_cap_up, *tot_used, *tot_free_up;
    size_t num_parts, part_cap;
    cs_partition_stats *parts;
    int64_t *part_vec; /* part index * 3p: cap_up, used, free_up */
};

/* Whether node slot s carries every label in `req` (NULL value = key only). */
bool cs__pool_labels_match(const cs_pool *pool, uint32_t s, const cs_label *req,
                           size_t nreq);

/* Index of a partition in pool->parts, or -1. */
long cs__pool_partition_index(const cs_pool *pool, uint32_t partition);

/* Visit every up node in `partition` (or any) whose free capacity holds
 * `demand` in every dimension, in (partition, id) order, skipping subtrees
 * by their maxima. The visitor returns false to stop. Labels and exclusions
 * are the visitor's business. */
typedef bool (*cs_pool_visit_fn)(void *ctx, uint32_t slot);
void cs__pool_visit_fitting(const cs_pool *pool, uint32_t partition,
                            const int64_t *demand, cs_pool_visit_fn fn, void *ctx);

/* Make room for n more allocations, so that the next n cs_pool_allocate
 * calls cannot fail for lack of memory. False (nothing changed) on failure. */
bool cs__pool_reserve_allocations(cs_pool *pool, size_t n);

/* ---- fit indices (pool_index.c) ---------------------------------------- */

/* The fit class of slot s from its state, free and capacity vectors. */
uint8_t cs__pool_fit_class(const cs_pool *pool, uint32_t s);

/* Make room for `n` slots in index ti without allocating later; may
 * rebuild the index in a larger array. False on allocation failure, with
 * the index unchanged. */
bool cs__idx_reserve(cs_pool *pool, int ti, size_t n);

/* Release the index's memory. */
void cs__idx_free(cs_pool *pool, int ti);

/* Add slot s under its current key (room reserved), or remove it. */
void cs__idx_insert(cs_pool *pool, int ti, uint32_t s);
void cs__idx_erase(cs_pool *pool, int ti, uint32_t s);

/* Slot s's free vector, state or fit class changed (from old_class; its
 * key did not): refresh the maxima. `grew`: the free vector did not shrink
 * in any dimension and the node did not leave the up state (a release), so
 * maxima can only rise: cheaper. */
void cs__idx_refresh(cs_pool *pool, int ti, uint32_t s, uint8_t old_class, bool grew);

/* Slot s's key changed too (its S, in BY_S): move it to its new place. */
void cs__idx_move(cs_pool *pool, int ti, uint32_t s, uint8_t old_class, bool grew);

/* Re-sort every live slot by its current key (after the weights changed).
 * In place: allocates nothing. */
void cs__idx_rebuild(cs_pool *pool, int ti);

/* Positions are block * CS_IDX_BLOCK + index within the block; a range of
 * keys is a range of positions. The first position whose key is not less
 * than (partition, s, id) (s is ignored by BY_ID). */
size_t cs__idx_lower_bound(const cs_pool *pool, int ti, uint32_t partition, double s,
                           uint64_t id);

/* End of the last block: past every position. */
size_t cs__idx_end(const cs_pool *pool, int ti);

/* Call fn for every up node in positions [lo, hi) of index ti whose free
 * vector holds `demand`, in key order (reverse order when `reverse`), until
 * fn returns true; returns that slot, or CS_NIL. */
typedef bool (*cs_idx_fn)(void *ctx, uint32_t slot);
uint32_t cs__idx_search(const cs_pool *pool, int ti, size_t lo, size_t hi,
                        const int64_t *demand, bool reverse, cs_idx_fn fn, void *ctx);

/* CS_OK, or CS_ERR_STATE when index ti is inconsistent with the nodes. */
cs_status cs__idx_check(const cs_pool *pool, int ti);

#endif
