/**
 * @file queue.h
 * @brief Pending tasks ordered by a policy: FCFS, priority with aging, SJF,
 *        HRRN, fair share and DRF.
 *
 * A ::cs_queue holds the tasks that wait to be placed and answers "which task
 * goes next at time now" (cs_queue_peek(), cs_queue_pop()) and "which k tasks
 * go next" (cs_queue_order(), for skip-ahead and backfilling). It copies from
 * each ::cs_task_spec only what ordering needs (id, tenant, priority, runtime
 * estimate) together with the task's arrival time.
 *
 * Orders (each is a strict total order; every tie ends at the task id):
 * | policy | first is the task with | ties |
 * |---|---|---|
 * | ::CS_QUEUE_FCFS | earliest arrival | id |
 * | ::CS_QUEUE_PRIORITY | highest priority + aging_slope * (now - arrival) | arrival, id |
 * | ::CS_QUEUE_SJF | shortest service time s | arrival, id |
 * | ::CS_QUEUE_HRRN | highest response ratio (now - arrival + s) / s | arrival, id |
 * | ::CS_QUEUE_FAIRSHARE | tenant with the highest fair-share factor, then FCFS within the tenant | tenant id; arrival, id |
 * | ::CS_QUEUE_DRF | tenant with the lowest weighted dominant share, then FCFS within the tenant | tenant id; arrival, id |
 *
 * s is the task's runtime estimate, or the options' default_runtime when the
 * estimate is 0 (unknown). Priority aging uses one slope for every task, so
 * the order never changes with time: the key is the static
 * priority - aging_slope * arrival. Priorities are compared as doubles
 * (exact up to 2^53 in magnitude).
 *
 * **Structures.** FCFS, priority and SJF keep a sorted run (a ring buffer that
 * takes every task sorting after the last one, as in-order arrivals do: O(1))
 * and a 4-ary heap for the others (O(log n)); cancels and re-keys are lazy
 * (a stale entry is dropped when it reaches the front, or with all the others
 * once they outnumber the live tasks), so they cost O(1) amortised, resp. one
 * heap insertion. Fair share and DRF keep the same structure per tenant plus
 * a heap of tenants. Ids are found in O(1) expected time.
 *
 * HRRN ratios are lines in time; the queue keeps them in a kinetic tournament
 * (Basch, Guibas and Hershberger, "Data structures for mobile data", 1999):
 * a tournament tree whose nodes carry the time up to which their winner is
 * certain to stay ahead, and the least such time in their subtree. Moving the
 * clock re-evaluates only the subtrees where one expired (a kinetic event,
 * O(log n) each); insert, remove and re-estimate re-evaluate one leaf-to-root
 * path, O(log n). The events at a node are bounded by the size of the upper
 * envelope of its subtree's lines, so selection is O(log^2 n) amortised per
 * operation, and nearly free while only time moves. Two tasks are compared at
 * time t by cross-multiplication, (t - a_i + s_i) * s_j versus
 * (t - a_j + s_j) * s_i, so ties are exact whenever these products are exact
 * (e.g. times and estimates that are integers, or multiples of 1/2, below
 * 2^26).
 *
 * Fair share and DRF read the borrowed ::cs_fair handle: the tenant order is
 * that of usage / weight (equivalently, decreasing factor) or of dominant
 * share / weight, and it follows every cs_fair_charge(), cs_fair_set_weight(),
 * cs_fair_allocate(), cs_fair_release() and cs_fair_set_capacity() at once
 * (O(log T) per changed tenant, O(T) for a capacity change). Pushing a task of
 * an unknown tenant creates the tenant in the fair handle with its default
 * weight; a tenant with pending tasks cannot be removed from it.
 *
 * **Requeue**: the order of a task depends only on its own fields (arrival,
 * id, priority, estimate, tenant) and on the tenants' state, never on when it
 * was pushed. A preempted or failed task pushed again with its ORIGINAL
 * arrival time therefore takes back exactly the place it had, under every
 * policy.
 *
 * **Time** is an argument to the calls that depend on it (peek, pop, order)
 * and must not decrease from one call to the next on a queue (::CS_ERR_INVALID
 * otherwise, nothing changed). Arrival times are free: any finite value.
 *
 * Thread-safety: one queue (with the fair handle it borrows) must be used by
 * one thread at a time; distinct queues with distinct fair handles are
 * independent.
 */
#ifndef CLOUDSCHED_QUEUE_H
#define CLOUDSCHED_QUEUE_H

#include <stdbool.h>

#include "cloudsched/common.h"
#include "cloudsched/fair.h"
#include "cloudsched/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup queue Task queues
 *  @brief Which pending task goes next.
 *  @{
 */

/** Ordering policy of a queue; see the table in queue.h. */
typedef enum cs_queue_policy {
    CS_QUEUE_FCFS = 0,      /**< First come, first served. */
    CS_QUEUE_PRIORITY = 1,  /**< Highest priority first, with optional linear aging. */
    CS_QUEUE_SJF = 2,       /**< Shortest (estimated) job first. */
    CS_QUEUE_HRRN = 3,      /**< Highest response ratio next. */
    CS_QUEUE_FAIRSHARE = 4, /**< Tenant with the highest fair-share factor first. */
    CS_QUEUE_DRF = 5        /**< Tenant with the lowest weighted dominant share first. */
} cs_queue_policy;

/** Options of a queue. Prepare with ::cs_queue_options_init. */
typedef struct cs_queue_options {
    size_t size;             /**< Set by ::cs_queue_options_init. */
    cs_queue_policy policy;  /**< Ordering policy; default ::CS_QUEUE_FCFS. */
    /** Priority gained per second of waiting (::CS_QUEUE_PRIORITY), finite,
     *  >= 0; default 0. */
    double aging_slope;
    /** Service time in seconds assumed for tasks whose runtime estimate is 0
     *  (unknown), for SJF and HRRN; finite, > 0; default 3600. */
    double default_runtime;
    /** Fair-share state, borrowed: required for ::CS_QUEUE_FAIRSHARE and
     *  ::CS_QUEUE_DRF (must outlive the queue), ignored otherwise; default NULL. */
    cs_fair *fair;
} cs_queue_options;

/** Opaque queue of pending tasks. */
typedef struct cs_queue cs_queue;

/**
 * @brief Prepare queue options with their defaults.
 * @param[out] options struct to fill.
 * @param[in] size sizeof(*options) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when options is NULL or size is impossible.
 */
CS_API cs_status cs_queue_options_init(cs_queue_options *options, size_t size);

/**
 * @brief Create an empty queue.
 * @param[in] options options, or NULL for the defaults (FCFS).
 * @param[in] alloc allocator (copied), or NULL for malloc.
 * @param[out] out the new queue; untouched on failure.
 * @return ::CS_OK; ::CS_ERR_INVALID for a NULL out, an incomplete allocator,
 *         a bad options size, an unknown policy, a negative or non-finite
 *         slope, a non-positive or non-finite default runtime, or a missing
 *         fair handle for fair share or DRF; ::CS_ERR_NOMEM.
 */
CS_API cs_status cs_queue_create(const cs_queue_options *options, const cs_allocator *alloc,
                                 cs_queue **out);

/**
 * @brief Free a queue (and detach it from its fair handle). NULL is a no-op.
 * @param[in] queue the queue.
 */
CS_API void cs_queue_destroy(cs_queue *queue);

/**
 * @brief Add a pending task.
 * @param[in,out] queue the queue.
 * @param[in] spec the task (validated as by cs_task_spec_validate(); the
 *            queue keeps id, tenant, priority and runtime estimate).
 * @param[in] arrival the task's arrival (submit) time, finite; a requeued task
 *            passes its original arrival to keep its place.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers, invalid spec, non-finite
 *         arrival or priority key); ::CS_ERR_OVERFLOW (spec demand * count,
 *         or 2^32 - 1 pending tasks); ::CS_ERR_EXISTS when a pending task has
 *         the same id; ::CS_ERR_NOMEM.
 * @note O(1) amortised when the task sorts after every pending task of its
 *       set (FCFS arrivals in order, also per tenant), O(log n) otherwise;
 *       HRRN O(log n) plus events; fair share and DRF add O(log T) when the
 *       tenant had no pending task, and create an unknown tenant in the fair
 *       handle. Memory: about 64 bytes per pending task, plus for PRIORITY
 *       and SJF room for 2n + 17 heap entries so that re-keys never allocate.
 */
CS_API cs_status cs_queue_push(cs_queue *queue, const cs_task_spec *spec, double arrival);

/**
 * @brief Remove a pending task (cancel).
 * @param[in,out] queue the queue.
 * @param[in] id the task id.
 * @return ::CS_OK; ::CS_ERR_INVALID for a NULL queue; ::CS_ERR_NOT_FOUND.
 * @note O(1) amortised (the entry goes stale); HRRN O(log n); fair share and
 *       DRF add O(log T) when the tenant's last pending task leaves. Never
 *       allocates.
 */
CS_API cs_status cs_queue_remove(cs_queue *queue, uint64_t id);

/**
 * @brief The task that goes next at time now, left in the queue.
 * @param[in,out] queue the queue (its clock moves to now).
 * @param[in] now finite, >= the now of every earlier peek, pop and order.
 * @param[out] id the task id.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers, bad now);
 *         ::CS_ERR_NOT_FOUND when the queue is empty (clock unchanged).
 * @note O(1) amortised (stale entries at the front are dropped); HRRN O(log n)
 *       per kinetic event up to now.
 */
CS_API cs_status cs_queue_peek(cs_queue *queue, double now, uint64_t *id);

/**
 * @brief Remove and return the task that goes next at time now.
 * @param[in,out] queue the queue (its clock moves to now).
 * @param[in] now finite, >= the now of every earlier peek, pop and order.
 * @param[out] id the task id.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers, bad now);
 *         ::CS_ERR_NOT_FOUND when the queue is empty (clock unchanged).
 * @note O(log n) amortised, O(1) from the sorted run; HRRN O(log n) plus the
 *       events up to now.
 */
CS_API cs_status cs_queue_pop(cs_queue *queue, double now, uint64_t *id);

/**
 * @brief List the first min(cap, size) task ids in policy order at time now,
 *        as successive pops would return them if nothing else changed.
 * @param[in,out] queue the queue (its clock moves to now; the tasks stay).
 * @param[in] now finite, >= the now of every earlier peek, pop and order.
 * @param[out] ids room for cap ids; may be NULL when cap is 0.
 * @param[in] cap how many ids are wanted.
 * @param[out] count how many were written: min(cap, size).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL queue or count, NULL ids with
 *         cap > 0, bad now); ::CS_ERR_NOMEM for the O(min(n, k log n))
 *         scratch, which the queue keeps for later calls.
 * @note O((k + s) log k) for FCFS, priority and SJF, where s <= n + 16 is the
 *       number of stale entries met (in practice a small fraction of k);
 *       O(k log n log k) for HRRN; plus O(T' log T) over the T' tenants listed
 *       for fair share and DRF. Never returns ::CS_ERR_BUFFER_TOO_SMALL: a
 *       short buffer gets the head.
 */
CS_API cs_status cs_queue_order(cs_queue *queue, double now, uint64_t *ids, size_t cap,
                                size_t *count);

/**
 * @brief Change a pending task's runtime estimate (e.g. refined by a predictor).
 * @param[in,out] queue the queue.
 * @param[in] id the task id.
 * @param[in] estimate seconds, finite, > 0, or 0 for unknown (default_runtime).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL queue, bad estimate);
 *         ::CS_ERR_NOT_FOUND.
 * @note O(log n) for SJF and HRRN, O(1) otherwise. Never allocates.
 */
CS_API cs_status cs_queue_set_estimate(cs_queue *queue, uint64_t id, double estimate);

/**
 * @brief Change a pending task's priority.
 * @param[in,out] queue the queue.
 * @param[in] id the task id.
 * @param[in] priority the new priority.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL queue, non-finite priority key);
 *         ::CS_ERR_NOT_FOUND.
 * @note O(log n) for ::CS_QUEUE_PRIORITY, O(1) otherwise. Never allocates.
 */
CS_API cs_status cs_queue_set_priority(cs_queue *queue, uint64_t id, int64_t priority);

/**
 * @brief Number of pending tasks.
 * @param[in] queue the queue (NULL gives 0).
 * @return the number of pending tasks.
 */
CS_API size_t cs_queue_size(const cs_queue *queue);

/**
 * @brief Whether a task is pending.
 * @param[in] queue the queue (NULL gives false).
 * @param[in] id the task id.
 * @return true when a task with this id is pending.
 * @note O(1) expected.
 */
CS_API bool cs_queue_contains(const cs_queue *queue, uint64_t id);

/**
 * @brief Check the queue's internal invariants (for tests and debugging).
 * @param[in] queue the queue.
 * @return ::CS_OK; ::CS_ERR_INVALID for NULL; ::CS_ERR_STATE when an
 *         invariant is broken (run and heap order, keys, live and stale
 *         counts, slot references, id map, tournament winners, certificates
 *         and minima at the queue's clock, tenant keys).
 * @note O(n + T) plus the id lookups.
 */
CS_API cs_status cs_queue_check(const cs_queue *queue);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* CLOUDSCHED_QUEUE_H */
