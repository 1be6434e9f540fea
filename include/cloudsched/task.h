/**
 * @file task.h
 * @brief The task spec: what a caller submits to a queue or the scheduler.
 *
 * A task is a unit of work with a demand vector per replica. A gang task has
 * `count` replicas placed all-or-nothing. Everything a spec points to is
 * copied by the function that receives it; the caller keeps ownership.
 *
 * Thread-safety: the functions here are pure and may be called from any
 * thread.
 */
#ifndef CLOUDSCHED_TASK_H
#define CLOUDSCHED_TASK_H

#include "cloudsched/common.h"
#include "cloudsched/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup task Task specs
 *  @brief What is submitted: demand, gang size, tenant, constraints.
 *  @{
 */

/** Where a gang's replicas should go. */
typedef enum cs_topology {
    CS_TOPOLOGY_ANY = 0,    /**< No preference; replicas may share nodes. */
    CS_TOPOLOGY_PACK = 1,   /**< Prefer one rack, then one zone, then anywhere (fewest racks/zones). */
    CS_TOPOLOGY_SPREAD = 2  /**< One replica per node (anti-affinity between replicas). */
} cs_topology;

/** A task as submitted. Prepare with ::cs_task_spec_init. */
typedef struct cs_task_spec {
    size_t size;              /**< Set by ::cs_task_spec_init. */
    uint64_t id;              /**< Caller-chosen id, unique among live tasks; not ::CS_ID_NONE. */
    uint64_t tenant;          /**< User, group or account the task is charged to; default 0. */
    int64_t priority;         /**< Higher runs first under priority policies; default 0. */
    const int64_t *demand;    /**< Demand of one replica per resource, each >= 0. */
    size_t num_resources;     /**< Entries of demand: must equal the pool's. */
    uint32_t count;           /**< Replicas (gang size), >= 1; default 1. */
    double runtime_estimate;  /**< User's runtime estimate in seconds (> 0), or 0 = unknown (default). */
    const double *features;   /**< Features for runtime prediction (finite); may be NULL. */
    size_t num_features;      /**< Number of features. */
    uint32_t partition;       /**< Partition to run in; default ::CS_PARTITION_ANY. */
    const cs_label *labels;   /**< Labels every chosen node must carry; NULL value = key present. */
    size_t num_labels;        /**< Number of required labels. */
    const uint64_t *preferred_nodes; /**< Data locality: nodes that earn the locality bonus. */
    size_t num_preferred_nodes;      /**< Number of preferred nodes. */
    const uint32_t *preferred_zones; /**< Data locality: zones that earn the locality bonus. */
    size_t num_preferred_zones;      /**< Number of preferred zones. */
    double locality_weight;   /**< Weight of the locality bonus in scored placement, >= 0; default 1. */
    cs_topology topology;     /**< Gang placement preference; default ::CS_TOPOLOGY_ANY. */
    /** Elastic tasks: minimum replicas to start with (1..count); 0 (default)
     *  means rigid, i.e. exactly `count` replicas. An elastic task may start
     *  with any number of replicas in [elastic_min, count]. */
    uint32_t elastic_min;
} cs_task_spec;

/**
 * @brief Prepare a task spec with its defaults.
 * @param[out] spec struct to fill.
 * @param[in] size sizeof(*spec) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when spec is NULL or size is impossible.
 */
CS_API cs_status cs_task_spec_init(cs_task_spec *spec, size_t size);

/**
 * @brief Check a spec on its own (without a pool or a queue).
 * @param[in] spec the spec.
 * @param[in] num_resources the dimension count it must match, or 0 to skip that check.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers with non-zero counts,
 *         ::CS_ID_NONE id, negative demand, count 0, negative or
 *         non-finite estimate, weight or features, empty label key, bad
 *         topology or elastic_min > count); ::CS_ERR_DIMENSION;
 *         ::CS_ERR_OVERFLOW when count * demand overflows int64_t.
 */
CS_API cs_status cs_task_spec_validate(const cs_task_spec *spec, size_t num_resources);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* CLOUDSCHED_TASK_H */
