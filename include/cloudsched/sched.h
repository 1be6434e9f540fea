/**
 * @file sched.h
 * @brief The scheduler loop: submit tasks, step the clock, get placement
 *        decisions; gangs, backfilling, preemption and node failures.
 *
 * A scheduler borrows a ::cs_pool (the caller adds its nodes there) and owns
 * a queue (see queue.h) and the fair-share/DRF state of its tenants (see
 * fair.h). The caller drives it:
 *
 *     cs_sched_submit(s, &task, now);            // task arrives
 *     cs_sched_step(s, now, out, cap, &n);       // decisions: start / preempt
 *     ... the caller starts the work it was told to start ...
 *     cs_sched_complete(s, task_id, now);        // work finished
 *
 * and tells it about failures (cs_sched_node_down(), cs_sched_fail()),
 * drains (cs_sched_drain_node()) and cancellations (cs_sched_cancel()).
 *
 * **Time.** Every call that changes state takes `now` (seconds, finite);
 * `now` may not decrease from one call to the next (::CS_ERR_INVALID).
 *
 * **A step.** The scheduler walks pending tasks in queue-policy order. For
 * each, it plans all replicas at once (a gang starts whole or not at all;
 * an elastic task starts with as many replicas as fit, at least
 * elastic_min) on nodes of the task's partition that are up, carry its
 * labels and have room, choosing nodes by the placement strategy. What
 * happens when a task does not fit is the head-of-line rule:
 * - ::CS_HOL_STRICT: the step stops (FCFS blocks).
 * - ::CS_HOL_SKIP: later tasks may start in any free space.
 * - ::CS_HOL_BACKFILL: the first `backfill_depth` blocked tasks get a
 *   reservation at the earliest time they fit, computed from running tasks'
 *   estimated ends (runtime estimates; a task without an estimate is taken
 *   to run forever); later tasks start now only where they do not delay any
 *   reservation. Depth 1 is EASY backfilling, ::CS_BACKFILL_CONSERVATIVE
 *   reserves for every blocked task. Reservations are recomputed at every
 *   step, so a task that outlives its estimate cannot corrupt them: its end
 *   is then taken as now + the time it has already run (doubling).
 * With a predictor in the options and use_predictions set, SJF and HRRN
 * order and backfilling use the predicted runtime (see predict.h; the
 * tenant is the key), and every completion trains the predictor.
 * With preemption on, a blocked task of priority P may stop running tasks
 * of priority strictly below P on one node (fewest victims, then lowest
 * priority, then the most recently started: the least work lost). Victims
 * go back to the queue at their original position. Because priorities must
 * strictly decrease along a chain of preemptions, there are no cycles.
 *
 * **Placement strategies** (higher score wins, ties to the lower node id;
 * scores are computed after placing the replica, over the resources k with
 * capacity > 0, f_k = (used_k + demand_k) / capacity_k, weights w_k from the
 * options, default 1):
 * | strategy | rule |
 * |---|---|
 * | ::CS_PLACE_FIRST_FIT | first node in (partition, id) order |
 * | ::CS_PLACE_BEST_FIT | least free capacity, S = sum_k free_k / maxcap_k (pool index) |
 * | ::CS_PLACE_WORST_FIT | most free capacity, same S (pool index) |
 * | ::CS_PLACE_LEAST_ALLOCATED | 100 * sum_k w_k (1 - f_k) / sum_k w_k (kube LeastAllocated) |
 * | ::CS_PLACE_MOST_ALLOCATED | 100 * sum_k w_k f_k / sum_k w_k (kube MostAllocated, bin packing) |
 * | ::CS_PLACE_BALANCED | 100 * (1 - std_k(f_k)) (kube BalancedAllocation, unweighted) |
 * | ::CS_PLACE_DOT_PRODUCT | 100 * sum_k w_k (d_k / c_k) (free_k / c_k) / sum_k w_k (Tetris alignment, before placing) |
 * | ::CS_PLACE_CHEAPEST | -(sum_k unit_cost_k d_k), ties by LeastAllocated |
 * | ::CS_PLACE_LOCALITY | locality bonus only, ties by LeastAllocated |
 * | ::CS_PLACE_LOAD_BALANCE | batch placement, see below |
 * Every scored strategy (all but the three fits) adds a locality bonus of
 * 100 * locality_weight for a node in the task's preferred nodes and
 * 50 * locality_weight for a node in a preferred zone.
 *
 * **Load balancing** (::CS_PLACE_LOAD_BALANCE) places the tasks a step
 * starts as one batch. The step first chooses the tasks and a feasible
 * placement as LeastAllocated would; then the single-replica tasks among
 * them (no topology constraint) are placed again: per resource k, the
 * batch's total demand D_k is spread over the nodes by
 * ::cs_balance_utilisation_int in ::CS_BALANCE_SQUARED mode (minimise
 * sum_i ((L_ik + x_ik) / C_ik - rho_k)^2 over integers x_ik within free
 * capacity, rho_k the cluster's utilisation after the batch), and the tasks, largest dominant share
 * first, each go to the fitting node whose remaining target
 * sum_k w_k (x_ik - d_k) / C_ik is largest (ties to the lower id). If some
 * task finds no node, or the step made reservations or preemptions, the
 * first placement stands.
 *
 * **Gang topology**: ::CS_TOPOLOGY_SPREAD puts each replica on a distinct
 * node; ::CS_TOPOLOGY_PACK places the gang inside one rack if any rack can
 * hold it all, else inside one zone, else anywhere (choosing among racks or
 * zones the one with the least room left, then the lowest id).
 *
 * **Accounting**: a task's tenant is charged usage when its run ends
 * (completion, failure, preemption, cancellation while running):
 * run seconds x sum_k (replicas x demand_k / capacity_k) / p over the pool's
 * up capacity; DRF allocations follow starts and ends.
 *
 * Thread-safety: a scheduler and its pool must be used by one thread at a
 * time. Distinct schedulers with distinct pools are independent.
 */
#ifndef CLOUDSCHED_SCHED_H
#define CLOUDSCHED_SCHED_H

#include "cloudsched/common.h"
#include "cloudsched/pool.h"
#include "cloudsched/predict.h"
#include "cloudsched/queue.h"
#include "cloudsched/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup sched Scheduler loop
 *  @brief submit / step / complete, placement, backfilling, preemption.
 *  @{
 */

/** How replicas are placed on nodes (see the file comment for formulas). */
typedef enum cs_placement {
    CS_PLACE_FIRST_FIT = 0,        /**< First fitting node in (partition, id) order. */
    CS_PLACE_BEST_FIT = 1,         /**< Least free capacity left (bin packing by the pool's norm). */
    CS_PLACE_WORST_FIT = 2,        /**< Most free capacity left (spreading). */
    CS_PLACE_LEAST_ALLOCATED = 3,  /**< Lowest utilisation after placement. */
    CS_PLACE_MOST_ALLOCATED = 4,   /**< Highest utilisation after placement. */
    CS_PLACE_BALANCED = 5,         /**< Most even utilisation across resources. */
    CS_PLACE_DOT_PRODUCT = 6,      /**< Best alignment of demand and free vectors. */
    CS_PLACE_CHEAPEST = 7,         /**< Lowest cost rate of the replica. */
    CS_PLACE_LOCALITY = 8,         /**< Preferred nodes and zones first. */
    CS_PLACE_LOAD_BALANCE = 9      /**< Batch: equalise utilisations across nodes (balance.h). */
} cs_placement;

/** What a step does when a task cannot start now. */
typedef enum cs_head_of_line {
    CS_HOL_STRICT = 0,   /**< Stop: nothing behind it starts (strict order). */
    CS_HOL_SKIP = 1,     /**< Skip it: later tasks may take any free space. */
    CS_HOL_BACKFILL = 2  /**< Reserve for it; later tasks may not delay reservations. */
} cs_head_of_line;

/** Backfill depth meaning "a reservation for every blocked task". */
#define CS_BACKFILL_CONSERVATIVE UINT32_MAX

/** Options of a scheduler. Prepare with ::cs_sched_options_init. */
typedef struct cs_sched_options {
    size_t size;                  /**< Set by ::cs_sched_options_init. */
    cs_queue_policy policy;       /**< Queue order; default ::CS_QUEUE_FCFS. */
    double aging_slope;           /**< Priority per second of waiting (priority policy); default 0. */
    double default_runtime;       /**< Service time assumed for SJF/HRRN when a task has no estimate; default 3600. */
    cs_placement placement;       /**< Placement strategy; default ::CS_PLACE_FIRST_FIT. */
    cs_head_of_line head_of_line; /**< Rule for blocked tasks; default ::CS_HOL_BACKFILL. */
    uint32_t backfill_depth;      /**< Reservations per step with ::CS_HOL_BACKFILL; default 1 (EASY). */
    int preemption;               /**< Non-zero: blocked tasks may preempt lower priorities; default 0. */
    int fail_on_node_down;        /**< Non-zero: tasks on a failed node end FAILED instead of requeued; default 0. */
    uint32_t max_scan;            /**< Pending tasks examined per step; 0 (default) = all. */
    const double *resource_weights; /**< Per-resource weights of scored strategies (copied), finite, >= 0, not all 0; NULL = all 1. */
    double fair_half_life;        /**< Half-life of usage decay in seconds (fair share); default 604800 (7 days). */
    /** Runtime predictor, borrowed (must outlive the scheduler), or NULL
     *  (default). When set, every completed task's runtime is observed by
     *  it (key: the tenant; features: the task's). */
    cs_predict *predictor;
    /** Non-zero: SJF/HRRN order and backfilling use the predictor's
     *  estimate (or its fallback rules) instead of the user's; default 0. */
    int use_predictions;
} cs_sched_options;

/**
 * @brief Prepare scheduler options with their defaults.
 * @param[out] options struct to fill.
 * @param[in] size sizeof(*options) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID.
 */
CS_API cs_status cs_sched_options_init(cs_sched_options *options, size_t size);

/** A task's life cycle. */
typedef enum cs_task_state {
    CS_TASK_PENDING = 0,   /**< Waiting in the queue. */
    CS_TASK_RUNNING = 1,   /**< Started by a step; holds allocations. */
    CS_TASK_DONE = 2,      /**< Completed (::cs_sched_complete). */
    CS_TASK_CANCELLED = 3, /**< Cancelled (::cs_sched_cancel). */
    CS_TASK_FAILED = 4     /**< Failed (::cs_sched_fail, or its node went down with fail_on_node_down). */
} cs_task_state;

/** Kind of a decision. */
typedef enum cs_decision_kind {
    CS_DECISION_START = 0,  /**< Start `task` with `replicas` replicas (first on `node`). */
    CS_DECISION_PREEMPT = 1 /**< Stop `task` now; it went back to the queue. */
} cs_decision_kind;

/** Why a decision was made. */
typedef enum cs_decision_reason {
    CS_REASON_IN_ORDER = 0,         /**< Started in queue order. */
    CS_REASON_SKIP_AHEAD = 1,       /**< Started ahead of a blocked task (::CS_HOL_SKIP). */
    CS_REASON_BACKFILL = 2,         /**< Started ahead of a reservation without delaying it. */
    CS_REASON_AFTER_PREEMPTION = 3, /**< Started in room made by preemption. */
    CS_REASON_PREEMPTED = 4         /**< Preempted to make room for `related`. */
} cs_decision_reason;

/**
 * One decision of a step. Apply decisions in array order: preemptions come
 * right before the start they make room for.
 * @note An array element: its layout only changes with a new major version.
 */
typedef struct cs_decision {
    cs_decision_kind kind;     /**< Start or preempt. */
    cs_decision_reason reason; /**< Why. */
    uint64_t task;             /**< The task started or preempted. */
    uint64_t related;          /**< PREEMPT: the task it makes room for; else ::CS_ID_NONE. */
    uint64_t node;             /**< START: first replica's node; PREEMPT: node where room was made. */
    uint64_t alloc_id;         /**< START: first replica's allocation id; else ::CS_ID_NONE. */
    uint32_t replicas;         /**< START: replicas started (see ::cs_sched_task_placement). */
} cs_decision;

/** Everything about one task; see ::cs_sched_task_info. */
typedef struct cs_task_info {
    size_t size;           /**< Set by the caller: sizeof(cs_task_info). */
    cs_task_state state;   /**< Current state. */
    uint64_t tenant;       /**< Tenant. */
    int64_t priority;      /**< Priority as submitted. */
    double submit_time;    /**< When it was submitted. */
    double start_time;     /**< Start of the current or last run; NaN if never started. */
    double end_time;       /**< When it ended (done, cancelled, failed); NaN otherwise. */
    double estimate;       /**< Runtime estimate in use (0 = none). */
    uint32_t replicas;     /**< Replicas running (or that ran last). */
    uint32_t preemptions;  /**< Times it was preempted or requeued by a node failure. */
    double user_estimate;  /**< The estimate as submitted (0 = none). */
    int estimate_source;   /**< Where `estimate` came from: a ::cs_predict_source, or 0 for the submitted estimate. */
} cs_task_info;

/** Task counts by state; submitted == pending + running + done + cancelled + failed. */
typedef struct cs_sched_counts {
    size_t size;        /**< Set by the caller: sizeof(cs_sched_counts). */
    uint64_t submitted; /**< Tasks ever submitted. */
    uint64_t pending;   /**< Waiting. */
    uint64_t running;   /**< Running. */
    uint64_t done;      /**< Completed. */
    uint64_t cancelled; /**< Cancelled. */
    uint64_t failed;    /**< Failed. */
} cs_sched_counts;

/** Opaque scheduler. */
typedef struct cs_sched cs_sched;

/**
 * @brief Create a scheduler over a pool.
 * @param[in,out] pool the pool, borrowed: it must outlive the scheduler. The
 *            caller may add nodes to it directly at any time, but must send
 *            node failures and drains through this scheduler and must not
 *            release the scheduler's allocations itself.
 * @param[in] options NULL for defaults.
 * @param[in] allocator NULL for malloc/realloc/free.
 * @param[out] out the new scheduler.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pool or out, unknown enum values,
 *         bad weights, negative half-life or default runtime, incomplete
 *         allocator); ::CS_ERR_NOMEM.
 */
CS_API cs_status cs_sched_create(cs_pool *pool, const cs_sched_options *options,
                                 const cs_allocator *allocator, cs_sched **out);

/**
 * @brief Destroy a scheduler. Allocations of running tasks stay in the pool.
 * @param[in] sched the scheduler, or NULL (no-op).
 */
CS_API void cs_sched_destroy(cs_sched *sched);

/**
 * @brief Submit a task: it becomes pending.
 * @param[in,out] sched the scheduler.
 * @param[in] task the spec; everything it points to is copied.
 * @param[in] now submit time.
 * @return ::CS_OK; ::CS_ERR_INVALID (see ::cs_task_spec_validate; also a
 *         decreasing now); ::CS_ERR_DIMENSION (demand size differs from the
 *         pool's, or the feature count from the predictor's); ::CS_ERR_EXISTS (the id was used before and not
 *         forgotten); ::CS_ERR_OVERFLOW; ::CS_ERR_NOMEM.
 * @note O(log n) plus the size of the spec.
 */
CS_API cs_status cs_sched_submit(cs_sched *sched, const cs_task_spec *task, double now);

/**
 * @brief Make scheduling decisions at time now.
 *
 * Applies the decisions to the pool and the task states before returning
 * (allocations are made; preempted tasks are pending again). At most
 * `capacity` decisions are made; when the buffer fills, the step stops and
 * the next step continues (a preemption and the start it makes room for are
 * never split).
 * @param[in,out] sched the scheduler.
 * @param[in] now current time.
 * @param[out] decisions buffer.
 * @param[in] capacity entries in decisions.
 * @param[out] count decisions made.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers, capacity 0, decreasing
 *         now); ::CS_ERR_NOMEM (nothing changed).
 * @note Cost per examined task: O(log n) for the three fits without
 *       reservations; a pass over the partition's fitting nodes for scored
 *       strategies, gangs and backfilling.
 */
CS_API cs_status cs_sched_step(cs_sched *sched, double now, cs_decision *decisions,
                               size_t capacity, size_t *count);

/**
 * @brief A running task finished: release its resources, charge its tenant,
 *        and let the predictor (if any) learn its runtime.
 * @param[in,out] sched the scheduler.
 * @param[in] task the task.
 * @param[in] now end time.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL, decreasing now);
 *         ::CS_ERR_NOT_FOUND; ::CS_ERR_STATE (the task is not running);
 *         ::CS_ERR_NOMEM (the predictor could not store a new key; nothing
 *         changed).
 */
CS_API cs_status cs_sched_complete(cs_sched *sched, uint64_t task, double now);

/**
 * @brief A running task failed by itself: like complete, but it ends FAILED.
 * @param[in,out] sched the scheduler.
 * @param[in] task the task.
 * @param[in] now end time.
 * @return as ::cs_sched_complete.
 */
CS_API cs_status cs_sched_fail(cs_sched *sched, uint64_t task, double now);

/**
 * @brief Cancel a pending or running task.
 * @param[in,out] sched the scheduler.
 * @param[in] task the task.
 * @param[in] now time.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND; ::CS_ERR_STATE
 *         (already ended).
 */
CS_API cs_status cs_sched_cancel(cs_sched *sched, uint64_t task, double now);

/**
 * @brief A node failed: mark it down and requeue (or fail) every task on it.
 *
 * Each task with a replica on the node loses all its replicas (a gang does
 * not survive the loss of a member) and goes back to the queue at its
 * original position, or ends FAILED when the options say so.
 * @param[in,out] sched the scheduler.
 * @param[in] node the node.
 * @param[in] now time.
 * @param[out] affected buffer for the ids of the tasks hit, in id order (may be NULL when capacity is 0).
 * @param[in] capacity entries in affected.
 * @param[out] count number of tasks hit (may be NULL).
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND;
 *         ::CS_ERR_BUFFER_TOO_SMALL (nothing changed, *count = needed);
 *         ::CS_ERR_NOMEM.
 */
CS_API cs_status cs_sched_node_down(cs_sched *sched, uint64_t node, double now,
                                    uint64_t *affected, size_t capacity, size_t *count);

/**
 * @brief Drain a node: running tasks stay, nothing new starts there.
 * @param[in,out] sched the scheduler.
 * @param[in] node the node.
 * @param[in] now time.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND.
 */
CS_API cs_status cs_sched_drain_node(cs_sched *sched, uint64_t node, double now);

/**
 * @brief Return a drained or failed node to service.
 * @param[in,out] sched the scheduler.
 * @param[in] node the node.
 * @param[in] now time.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND.
 */
CS_API cs_status cs_sched_node_up(cs_sched *sched, uint64_t node, double now);

/**
 * @brief Describe a task.
 * @param[in] sched the scheduler.
 * @param[in] task the task.
 * @param[in,out] info its size set by the caller; the rest is filled.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND.
 */
CS_API cs_status cs_sched_task_info(const cs_sched *sched, uint64_t task, cs_task_info *info);

/**
 * @brief Where a running task runs: one (node, allocation) per replica.
 * @param[in] sched the scheduler.
 * @param[in] task the task.
 * @param[out] nodes node per replica (may be NULL).
 * @param[out] allocs allocation id per replica (may be NULL).
 * @param[in] capacity entries in each non-NULL buffer.
 * @param[out] count replicas.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND; ::CS_ERR_STATE
 *         (not running); ::CS_ERR_BUFFER_TOO_SMALL (*count = needed).
 */
CS_API cs_status cs_sched_task_placement(const cs_sched *sched, uint64_t task, uint64_t *nodes,
                                         uint64_t *allocs, size_t capacity, size_t *count);

/**
 * @brief Task counts by state.
 * @param[in] sched the scheduler.
 * @param[in,out] counts its size set by the caller; the rest is filled.
 * @return ::CS_OK; ::CS_ERR_INVALID.
 */
CS_API cs_status cs_sched_counts_get(const cs_sched *sched, cs_sched_counts *counts);

/**
 * @brief Ids of the pending tasks in the order the next step would examine them.
 * @param[in,out] sched the scheduler (the queue may refresh cached keys).
 * @param[in] now time: like every call, not earlier than the last one, and
 *            later calls may not go back before it (HRRN ratios are read at it).
 * @param[out] ids buffer (may be NULL when capacity is 0).
 * @param[in] capacity entries in ids; the first `capacity` are written.
 * @param[out] count min(capacity, pending).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers, decreasing now); ::CS_ERR_NOMEM.
 */
CS_API cs_status cs_sched_pending_order(cs_sched *sched, double now, uint64_t *ids,
                                        size_t capacity, size_t *count);

/**
 * @brief Set a tenant's fair-share weight (shares).
 * @param[in,out] sched the scheduler.
 * @param[in] tenant the tenant.
 * @param[in] weight finite, > 0.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOMEM.
 */
CS_API cs_status cs_sched_set_tenant_weight(cs_sched *sched, uint64_t tenant, double weight);

/**
 * @brief A tenant's decayed usage and current dominant share.
 * @param[in] sched the scheduler.
 * @param[in] tenant the tenant.
 * @param[in] now time (>= the last charge).
 * @param[out] usage decayed usage (may be NULL).
 * @param[out] dominant_share max_k allocated_k / capacity_k (may be NULL).
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND (no task of the tenant seen).
 */
CS_API cs_status cs_sched_tenant_usage(const cs_sched *sched, uint64_t tenant, double now,
                                       double *usage, double *dominant_share);

/**
 * @brief Drop the record of an ended task (done, cancelled or failed), so
 *        that long runs do not grow without bound; its id may be reused.
 * @param[in,out] sched the scheduler.
 * @param[in] task the task.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NOT_FOUND; ::CS_ERR_STATE (not ended).
 */
CS_API cs_status cs_sched_forget(cs_sched *sched, uint64_t task);

/**
 * @brief Verify the scheduler's invariants (and the pool's).
 *
 * Every task is in exactly one state and the counts add up; pending tasks
 * are exactly the queue's; every running task's allocations exist in the
 * pool with its demand and owner, and every allocation in the pool owned by
 * the scheduler belongs to a running task; per-tenant DRF allocations equal
 * the sums over running tasks; the pool passes ::cs_pool_check.
 * @param[in] sched the scheduler.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_STATE on a violation;
 *         ::CS_ERR_NOMEM (the per-tenant sums need a buffer).
 * @note O(tasks + allocations + nodes).
 */
CS_API cs_status cs_sched_check(const cs_sched *sched);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* CLOUDSCHED_SCHED_H */
