/*
 * The pool's representation, shared with the scheduler (sched.c scores
 * nodes straight from these arrays). Never installed.
 *
 * Nodes live in slots (struct of arrays, p values per slot for vectors);
 * removed slots go on a free list and are reused, so slot numbers are
 * stable for a node's lifetime. Two treaps index the live nodes:
 *   BY_ID: key (partition, id)       - first fit, ordered listing
 *   BY_S:  key (partition, S, id)    - best fit (leftmost) and worst fit
 *                                      (rightmost), S = sum_k w_k free_k
 * Every treap node carries, per dimension, the maximum free capacity of the
 * up nodes in its subtree, so a fit search skips any subtree that cannot
 * hold the demand. Priorities are a hash of the node id: deterministic.
 */
#ifndef CLOUDSCHED_POOL_INTERNAL_H
#define CLOUDSCHED_POOL_INTERNAL_H

#include "cloudsched/pool.h"
#include "idmap.h"
#include "internal.h"

#define CS_NIL UINT32_MAX

enum { CS_TREAP_BY_ID = 0, CS_TREAP_BY_S = 1, CS_TREAP_COUNT = 2 };

typedef struct cs_treap {
    uint32_t root;
    uint32_t *left, *right; /* per slot */
    int64_t *max_free;      /* per slot, p values: subtree maxima, -1 for no up node */
} cs_treap;

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
    uint32_t free_slot_head; /* free list through `left` of BY_ID, CS_NIL if none */
    uint64_t *node_id;       /* CS_ID_NONE for a free slot */
    int64_t *cap;            /* slot * p */
    int64_t *free_;          /* slot * p */
    double *unit_cost;       /* slot * p */
    double *sval;            /* S(free) per slot */
    uint32_t *prio;
    uint8_t *state;
    uint32_t *zone, *rack, *partition;
    cs_label_block **labels; /* NULL when a node has none */
    uint32_t *alloc_head, *alloc_tail, *alloc_count; /* per node, allocation list */
    cs_treap treap[CS_TREAP_COUNT];
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

#endif
