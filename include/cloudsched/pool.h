/**
 * @file pool.h
 * @brief Resource pools: nodes with multi-dimensional integer capacities,
 *        labels, topology, partitions and states; allocations; fit queries.
 *
 * A pool is created with its resource dimensions (for example "cpu_milli",
 * "mem_mib", "gpu"). Each node has a capacity vector in those dimensions,
 * optional labels (key=value strings), a zone and a rack id for topology, a
 * partition id (a sub-pool that isolates nodes: queries name the partition
 * they search), per-resource unit costs, and a state: up, draining (keeps its
 * allocations, takes no new ones) or down (the same, and the scheduler
 * requeues its tasks).
 *
 * Allocations place a demand vector on a node and are named by an id the
 * pool assigns; they are released, or resized, by that id. The pool keeps
 * free + used == capacity per node and dimension, with every step
 * overflow-checked, and ::cs_pool_check verifies it.
 *
 * Fit queries (::cs_pool_fit) answer "which node can take this demand" by
 * first, best or worst fit without scanning every node: the pool keeps the
 * nodes in each fit order in an index (a packed array under a balanced
 * binary tree) whose subtrees record, for each group of nodes short of the
 * same resource, the per-dimension maximum of free capacity, so a query
 * descends only into subtrees where some group could hold the demand.
 *
 * Thread-safety: a pool is not thread-safe; use one pool from one thread at a
 * time. Distinct pools are independent. Const functions may run concurrently
 * with each other on the same pool.
 */
#ifndef CLOUDSCHED_POOL_H
#define CLOUDSCHED_POOL_H

#include "cloudsched/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup pool Resource pools
 *  @brief Nodes, capacities, allocations and fit queries.
 *  @{
 */

/** Maximum number of resource dimensions of a pool. */
#define CS_POOL_MAX_RESOURCES 32

/** Partition value that matches every partition in a query. */
#define CS_PARTITION_ANY UINT32_MAX

/** A node's scheduling state. */
typedef enum cs_node_state {
    CS_NODE_UP = 0,       /**< Accepts new allocations. */
    CS_NODE_DRAINING = 1, /**< Keeps its allocations, accepts no new ones. */
    CS_NODE_DOWN = 2      /**< Failed or removed from service; accepts no new allocations. */
} cs_node_state;

/** A key=value label. Strings are NUL-terminated and copied by the pool. */
typedef struct cs_label {
    const char *key;   /**< Label key, non-empty. */
    const char *value; /**< Label value; in a constraint, NULL means "key present, any value". */
} cs_label;

/** The fit order of ::cs_pool_fit. */
typedef enum cs_fit {
    /** The fitting node that comes first in (partition, node id) order. */
    CS_FIT_FIRST = 0,
    /** The fitting node with the least free capacity, by the weighted norm
     *  S(node) = sum_k w_k * free_k (see ::cs_pool_options::fit_weights);
     *  ties by node id. Since S(free - demand) = S(free) - S(demand), this
     *  is also the node left with the least free capacity after placement. */
    CS_FIT_BEST = 1,
    /** The fitting node with the most free capacity by the same norm
     *  (spreads load); ties by node id. */
    CS_FIT_WORST = 2
} cs_fit;

/** Options for ::cs_pool_create. Prepare with ::cs_pool_options_init. */
typedef struct cs_pool_options {
    size_t size; /**< Set by ::cs_pool_options_init: sizeof the struct the caller compiled against. */
    /**
     * Weights w_k of the best/worst-fit norm, one per resource, finite and
     * >= 0, not all zero; copied. NULL (the default) means
     * w_k = 1 / (largest capacity in dimension k of any node ever added), so
     * that each dimension counts in units of the largest node; a new maximum
     * re-sorts the best/worst indices in O(n log n).
     */
    const double *fit_weights;
} cs_pool_options;

/**
 * @brief Prepare pool options with their defaults.
 * @param[out] options struct to fill.
 * @param[in] size sizeof(*options) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when options is NULL or size is impossible.
 */
CS_API cs_status cs_pool_options_init(cs_pool_options *options, size_t size);

/** Description of a node for ::cs_pool_add_node. Prepare with ::cs_node_spec_init. */
typedef struct cs_node_spec {
    size_t size;             /**< Set by ::cs_node_spec_init. */
    const int64_t *capacity; /**< Capacity per resource, each >= 0; required. */
    size_t num_resources;    /**< Entries of capacity (and unit_cost): must equal the pool's. */
    const cs_label *labels;  /**< Labels (keys distinct, values non-NULL); copied. May be NULL if num_labels is 0. */
    size_t num_labels;       /**< Number of labels. */
    uint32_t zone;           /**< Zone id (topology); default 0. */
    uint32_t rack;           /**< Rack id within the zone; default 0. */
    uint32_t partition;      /**< Partition (sub-pool) id; default 0. Must not be ::CS_PARTITION_ANY. */
    const double *unit_cost; /**< Cost per unit of each resource per second, finite and >= 0; NULL = all 0. */
    cs_node_state state;     /**< Initial state; default ::CS_NODE_UP. */
} cs_node_spec;

/**
 * @brief Prepare a node spec with its defaults (no labels, zone/rack/partition 0, up, no cost).
 * @param[out] spec struct to fill.
 * @param[in] size sizeof(*spec) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when spec is NULL or size is impossible.
 */
CS_API cs_status cs_node_spec_init(cs_node_spec *spec, size_t size);

/** Description of one allocation, as reported by the pool. */
typedef struct cs_allocation_info {
    uint64_t id;      /**< Allocation id. */
    uint64_t node;    /**< Node it is on. */
    uint64_t owner;   /**< Caller's tag given at allocation (e.g. a task id). */
} cs_allocation_info;

/** Opaque resource pool. */
typedef struct cs_pool cs_pool;

/**
 * @brief Create an empty pool.
 * @param[in] num_resources number of resource dimensions, 1..::CS_POOL_MAX_RESOURCES.
 * @param[in] resource_names num_resources distinct, non-empty names (copied),
 *            or NULL for "r0", "r1", ...
 * @param[in] options NULL for defaults.
 * @param[in] allocator NULL for malloc/realloc/free.
 * @param[out] out the new pool.
 * @return ::CS_OK; ::CS_ERR_INVALID for a NULL out, a bad count, empty or
 *         duplicate names, bad weights or an incomplete allocator;
 *         ::CS_ERR_NOMEM.
 */
CS_API cs_status cs_pool_create(size_t num_resources, const char *const *resource_names,
                                const cs_pool_options *options,
                                const cs_allocator *allocator, cs_pool **out);

/**
 * @brief Destroy a pool and everything it holds.
 * @param[in] pool the pool, or NULL (no-op).
 */
CS_API void cs_pool_destroy(cs_pool *pool);

/**
 * @brief Number of resource dimensions.
 * @param[in] pool the pool (non-NULL).
 * @return the count given at creation.
 */
CS_API size_t cs_pool_num_resources(const cs_pool *pool);

/**
 * @brief Name of a resource dimension.
 * @param[in] pool the pool.
 * @param[in] k dimension index.
 * @return the name (owned by the pool), or NULL when pool is NULL or k is out of range.
 */
CS_API const char *cs_pool_resource_name(const cs_pool *pool, size_t k);

/**
 * @brief Index of a resource dimension by name.
 * @param[in] pool the pool.
 * @param[in] name the name.
 * @param[out] k its index.
 * @return ::CS_OK; ::CS_ERR_INVALID for NULL arguments; ::CS_ERR_NOT_FOUND.
 */
CS_API cs_status cs_pool_resource_index(const cs_pool *pool, const char *name, size_t *k);

/**
 * @brief Add a node.
 * @param[in,out] pool the pool.
 * @param[in] id the node id, or ::CS_ID_NONE to let the pool choose one
 *            (one more than the largest id ever used).
 * @param[in] spec the node's description.
 * @param[out] out_id the node's id (may be NULL).
 * @return ::CS_OK; ::CS_ERR_INVALID for NULL pool/spec, negative capacities,
 *         bad labels, bad costs, ::CS_PARTITION_ANY as partition or an
 *         unknown state; ::CS_ERR_DIMENSION when spec->num_resources differs
 *         from the pool's; ::CS_ERR_EXISTS for a duplicate id;
 *         ::CS_ERR_OVERFLOW when pool-wide totals would overflow;
 *         ::CS_ERR_NOMEM.
 * @note O(p log n) amortised, plus O(log^2 n) amortised moves of node
 *       numbers inside the indices; O(n log n) when a new largest capacity
 *       changes the default weights.
 */
CS_API cs_status cs_pool_add_node(cs_pool *pool, uint64_t id, const cs_node_spec *spec,
                                  uint64_t *out_id);

/** Flag for ::cs_pool_remove_node: release the node's allocations too. */
#define CS_REMOVE_FORCE 1u

/**
 * @brief Remove a node.
 *
 * Without ::CS_REMOVE_FORCE a node that holds allocations is not removed
 * (::CS_ERR_BUSY). With it, its allocations are released and reported in
 * `released` (in allocation id order), so that the caller can tell whose
 * work was on the node.
 *
 * @param[in,out] pool the pool.
 * @param[in] id the node.
 * @param[in] flags 0 or ::CS_REMOVE_FORCE.
 * @param[out] released buffer for the released allocations (may be NULL when capacity is 0).
 * @param[in] capacity entries in released.
 * @param[out] count number of allocations released, or needed when the
 *             buffer is too small (may be NULL without FORCE).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pool, unknown flags, NULL count
 *         with FORCE); ::CS_ERR_NOT_FOUND; ::CS_ERR_BUSY;
 *         ::CS_ERR_BUFFER_TOO_SMALL (nothing removed, *count = needed).
 */
CS_API cs_status cs_pool_remove_node(cs_pool *pool, uint64_t id, unsigned flags,
                                     cs_allocation_info *released, size_t capacity,
                                     size_t *count);

/**
 * @brief Change a node's state.
 * @param[in,out] pool the pool.
 * @param[in] id the node.
 * @param[in] state the new state; allocations stay where they are.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND.
 * @note O(p log n).
 */
CS_API cs_status cs_pool_set_node_state(cs_pool *pool, uint64_t id, cs_node_state state);

/**
 * @brief Replace a node's capacity (e.g. a GPU went bad).
 * @param[in,out] pool the pool.
 * @param[in] id the node.
 * @param[in] capacity the new capacity, pool's dimension count entries, each
 *            >= the node's current use in that dimension.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL, negative); ::CS_ERR_NOT_FOUND;
 *         ::CS_ERR_NO_FIT when below current use; ::CS_ERR_OVERFLOW.
 */
CS_API cs_status cs_pool_set_node_capacity(cs_pool *pool, uint64_t id, const int64_t *capacity);

/** Everything about one node; see ::cs_pool_node_info. */
typedef struct cs_node_info {
    size_t size;           /**< Set by the caller: sizeof(cs_node_info). */
    uint64_t id;           /**< Node id. */
    cs_node_state state;   /**< Current state. */
    uint32_t zone;         /**< Zone id. */
    uint32_t rack;         /**< Rack id. */
    uint32_t partition;    /**< Partition id. */
    size_t num_labels;     /**< Number of labels (read them with ::cs_pool_node_label). */
    size_t num_allocations;/**< Allocations currently on the node. */
} cs_node_info;

/**
 * @brief Describe a node.
 * @param[in] pool the pool.
 * @param[in] id the node.
 * @param[in,out] info its `size` member set by the caller; the rest is filled.
 * @param[out] capacity capacity per resource (may be NULL).
 * @param[out] used used per resource (may be NULL).
 * @param[out] free_ free per resource (may be NULL).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pool or info, bad info->size); ::CS_ERR_NOT_FOUND.
 */
CS_API cs_status cs_pool_node_info(const cs_pool *pool, uint64_t id, cs_node_info *info,
                                   int64_t *capacity, int64_t *used, int64_t *free_);

/**
 * @brief One label of a node, in key order.
 * @param[in] pool the pool.
 * @param[in] id the node.
 * @param[in] index 0 .. num_labels - 1.
 * @param[out] label key and value, owned by the pool, valid until the node is removed.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND (node or index).
 */
CS_API cs_status cs_pool_node_label(const cs_pool *pool, uint64_t id, size_t index,
                                    cs_label *label);

/**
 * @brief Value of a node's label by key.
 * @param[in] pool the pool.
 * @param[in] id the node.
 * @param[in] key the label key.
 * @param[out] value the value, owned by the pool.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND (node or key).
 */
CS_API cs_status cs_pool_node_label_value(const cs_pool *pool, uint64_t id, const char *key,
                                          const char **value);

/**
 * @brief Number of nodes in the pool (in any state).
 * @param[in] pool the pool (non-NULL).
 * @return the count.
 */
CS_API size_t cs_pool_num_nodes(const cs_pool *pool);

/**
 * @brief List node ids in increasing order.
 * @param[in] pool the pool.
 * @param[out] ids buffer (may be NULL when capacity is 0).
 * @param[in] capacity entries in ids.
 * @param[out] count number of nodes.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_BUFFER_TOO_SMALL (*count = needed).
 * @note O(n) (O(n log n) after out-of-order insertions).
 */
CS_API cs_status cs_pool_nodes(const cs_pool *pool, uint64_t *ids, size_t capacity,
                               size_t *count);

/**
 * @brief Allocate a demand vector on a node.
 * @param[in,out] pool the pool.
 * @param[in] node the node; it must be up.
 * @param[in] demand per-resource amounts, each >= 0.
 * @param[in] owner caller's tag stored with the allocation.
 * @param[out] alloc_id the new allocation's id (never ::CS_ID_NONE).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL, negative demand);
 *         ::CS_ERR_NOT_FOUND; ::CS_ERR_STATE (node draining or down);
 *         ::CS_ERR_NO_FIT (some dimension short); ::CS_ERR_NOMEM.
 * @note O(p log n) amortised: the node moves in the best/worst-fit order
 *       (O(log^2 n) amortised moves of node numbers) and the subtree
 *       maxima above its old and new places are refreshed.
 */
CS_API cs_status cs_pool_allocate(cs_pool *pool, uint64_t node, const int64_t *demand,
                                  uint64_t owner, uint64_t *alloc_id);

/**
 * @brief Release an allocation; its resources become free on its node.
 * @param[in,out] pool the pool.
 * @param[in] alloc_id the allocation.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND.
 * @note Works in any node state. O(p log n) amortised, as ::cs_pool_allocate.
 */
CS_API cs_status cs_pool_release(cs_pool *pool, uint64_t alloc_id);

/**
 * @brief Change an allocation's demand in place.
 *
 * Shrinking always succeeds (in any node state); growing needs the extra
 * amount free on the node and the node up.
 * @param[in,out] pool the pool.
 * @param[in] alloc_id the allocation.
 * @param[in] demand the new demand, each >= 0.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND; ::CS_ERR_STATE
 *         (growing on a node that is not up); ::CS_ERR_NO_FIT.
 */
CS_API cs_status cs_pool_resize(cs_pool *pool, uint64_t alloc_id, const int64_t *demand);

/**
 * @brief Describe an allocation.
 * @param[in] pool the pool.
 * @param[in] alloc_id the allocation.
 * @param[out] info node and owner (may be NULL).
 * @param[out] demand its demand per resource (may be NULL).
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND.
 */
CS_API cs_status cs_pool_allocation(const cs_pool *pool, uint64_t alloc_id,
                                    cs_allocation_info *info, int64_t *demand);

/**
 * @brief List the allocations on a node, in allocation id order.
 * @param[in] pool the pool.
 * @param[in] node the node.
 * @param[out] allocs buffer (may be NULL when capacity is 0).
 * @param[in] capacity entries in allocs.
 * @param[out] count number of allocations on the node.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND;
 *         ::CS_ERR_BUFFER_TOO_SMALL (*count = needed).
 */
CS_API cs_status cs_pool_node_allocations(const cs_pool *pool, uint64_t node,
                                          cs_allocation_info *allocs, size_t capacity,
                                          size_t *count);

/**
 * @brief Total number of allocations in the pool.
 * @param[in] pool the pool (non-NULL).
 * @return the count.
 */
CS_API size_t cs_pool_num_allocations(const cs_pool *pool);

/** A constraint set for ::cs_pool_fit. Prepare with ::cs_fit_query_init. */
typedef struct cs_fit_query {
    size_t size;            /**< Set by ::cs_fit_query_init. */
    const int64_t *demand;  /**< Demand per resource, each >= 0; required. */
    uint32_t partition;     /**< Partition to search; default ::CS_PARTITION_ANY. */
    const cs_label *labels; /**< Required labels (all must match); NULL value = key present. */
    size_t num_labels;      /**< Number of required labels. */
    const uint64_t *exclude;/**< Node ids to skip (e.g. already used by a gang); may be NULL. */
    size_t num_exclude;     /**< Number of excluded ids. */
} cs_fit_query;

/**
 * @brief Prepare a fit query with its defaults (any partition, no labels, no exclusions).
 * @param[out] query struct to fill.
 * @param[in] size sizeof(*query) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID.
 */
CS_API cs_status cs_fit_query_init(cs_fit_query *query, size_t size);

/**
 * @brief Find a node that is up, in the partition, carries the labels, is
 *        not excluded, and has at least `demand` free in every dimension.
 * @param[in] pool the pool.
 * @param[in] how ::CS_FIT_FIRST, ::CS_FIT_BEST or ::CS_FIT_WORST.
 * @param[in] query the demand and constraints.
 * @param[out] node the chosen node's id.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL, negative demand, unknown fit);
 *         ::CS_ERR_NO_FIT when no node qualifies.
 * @note Descends the fit order's index and skips every subtree in which
 *       no group of nodes can hold the demand. A group is the nodes whose
 *       most exhausted resource (free / capacity) is the same, split by
 *       whether they lack some resource (e.g. CPU-only nodes); its
 *       per-dimension maximum is close to a real node, so fragmentation
 *       (spare cpu on one node, spare memory on another) rarely misleads the
 *       search: O(p log n) in practice, e.g. about 20 tree nodes per query on
 *       a pool of 100k nodes packed to 85% (bench_pool). At worst O(n p),
 *       when many subtrees pass the test without a fitting node (members of
 *       one group short of the demand in different dimensions) or many
 *       nodes fit but fail labels or exclusions. With ::CS_PARTITION_ANY,
 *       best and worst fit search each partition and compare.
 */
CS_API cs_status cs_pool_fit(const cs_pool *pool, cs_fit how, const cs_fit_query *query,
                             uint64_t *node);

/**
 * @brief Totals over the nodes of a partition (or all).
 *
 * Capacity and free count only nodes that are up; used counts every node
 * (work on draining and down nodes is still in use).
 * @param[in] pool the pool.
 * @param[in] partition a partition id or ::CS_PARTITION_ANY.
 * @param[out] capacity per resource (may be NULL).
 * @param[out] used per resource (may be NULL).
 * @param[out] free_ per resource (may be NULL).
 * @return ::CS_OK; ::CS_ERR_INVALID.
 * @note O(p) for ::CS_PARTITION_ANY and for a partition: totals are kept up
 *       to date on every change.
 */
CS_API cs_status cs_pool_totals(const cs_pool *pool, uint32_t partition, int64_t *capacity,
                                int64_t *used, int64_t *free_);

/**
 * @brief Utilisation used / capacity per resource over the up nodes of a
 *        partition (or all); 0 where the capacity is 0.
 * @param[in] pool the pool.
 * @param[in] partition a partition id or ::CS_PARTITION_ANY.
 * @param[out] utilization per resource.
 * @return ::CS_OK; ::CS_ERR_INVALID.
 */
CS_API cs_status cs_pool_utilization(const cs_pool *pool, uint32_t partition,
                                     double *utilization);

/**
 * @brief Current cost rate: sum over nodes and resources of unit_cost * used.
 * @param[in] pool the pool.
 * @param[in] partition a partition id or ::CS_PARTITION_ANY.
 * @param[out] cost_per_second the rate.
 * @return ::CS_OK; ::CS_ERR_INVALID.
 * @note O(n p).
 */
CS_API cs_status cs_pool_cost(const cs_pool *pool, uint32_t partition, double *cost_per_second);

/**
 * @brief Verify every invariant of the pool.
 *
 * free + used == capacity per node and dimension; every value >= 0; the
 * allocations on each node sum to its used vector; totals equal the sums
 * over nodes; every index holds exactly the nodes, in order, with correct
 * subtree maxima. Tests call it after every operation.
 * @param[in] pool the pool.
 * @return ::CS_OK, ::CS_ERR_INVALID for NULL, or ::CS_ERR_STATE when an
 *         invariant is broken (a bug in the library).
 * @note O(n p + a p) for a allocations.
 */
CS_API cs_status cs_pool_check(const cs_pool *pool);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* CLOUDSCHED_POOL_H */
