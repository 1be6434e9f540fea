/**
 * @file fair.h
 * @brief Tenants, weights, decayed usage and dominant shares: the state that
 *        fair-share and DRF ordering read.
 *
 * A ::cs_fair handle keeps, per tenant (a user, group or account, named by a
 * caller-chosen `uint64_t` id):
 * - a **weight** (its shares; > 0, default from the options, normally 1);
 * - a **decayed usage**: cs_fair_charge() adds an amount (e.g. resource
 *   seconds) at time `now`; every amount then decays by
 *   2^(-(t - now) / half_life), as the classic fair-share scheduler of Slurm
 *   does (PriorityDecayHalfLife);
 * - an **allocation vector** for dominant resource fairness (DRF, Ghodsi et
 *   al., NSDI 2011): cs_fair_allocate() and cs_fair_release() move it, the
 *   pool capacity is set with cs_fair_set_capacity().
 *
 * **Fair-share factor** (Slurm's classic, flat formula):
 *   F_i = 2^(-U_norm / S_norm), with
 *   U_norm = U_i / sum_j U_j (decayed usage over all tenants of the handle) and
 *   S_norm = w_i / sum_j w_j (weight over all tenants of the handle);
 *   F_i = 1 while no usage at all has been charged. Because every usage decays
 *   by the same factor, U_norm, and so F_i, does not change as time passes;
 *   only charges and weights change it.
 *
 * **Dominant share**: d_i = max_k alloc_ik / capacity_k over the resources k
 *   with capacity_k > 0 (a resource with capacity 0 and a positive allocation
 *   gives +infinity); the weighted dominant share is d_i / w_i.
 *
 * Tenants are created on first use (charge, allocate, cs_fair_set_weight, or a
 * task pushed into a fair-share or DRF queue) with the default weight.
 *
 * **Time** is an argument: cs_fair_charge() and the usage query take `now`
 * (seconds, finite); `now` may never go back: an earlier `now` than the latest
 * charge gives ::CS_ERR_INVALID and changes nothing.
 *
 * Queues created with ::CS_QUEUE_FAIRSHARE or ::CS_QUEUE_DRF borrow a handle
 * and re-order their tenants whenever a charge, weight, allocation or capacity
 * changes here (O(log T) per changed tenant); see queue.h.
 *
 * Thread-safety: one handle must be used by one thread at a time, together
 * with the queues that borrow it; distinct handles are independent.
 */
#ifndef CLOUDSCHED_FAIR_H
#define CLOUDSCHED_FAIR_H

#include "cloudsched/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup fair Fair share and DRF state
 *  @brief Tenants, weights, decayed usage, dominant shares.
 *  @{
 */

/** The most resource dimensions a fair handle tracks for DRF (as a pool). */
#define CS_FAIR_MAX_RESOURCES 32

/** Opaque fair-share state. */
typedef struct cs_fair cs_fair;

/** Options of a fair handle. Prepare with ::cs_fair_options_init. */
typedef struct cs_fair_options {
    size_t size;           /**< Set by ::cs_fair_options_init. */
    /** Usage half-life in seconds, finite and >= 0; 0 means no decay.
     *  Default 604800 (7 days, Slurm's default PriorityDecayHalfLife). */
    double half_life;
    /** Resource dimensions of capacity and allocation vectors,
     *  0..::CS_FAIR_MAX_RESOURCES; 0 (default) disables DRF. */
    size_t num_resources;
    /** Weight given to tenants created on first use, finite and > 0; default 1. */
    double default_weight;
} cs_fair_options;

/**
 * @brief Prepare fair options with their defaults.
 * @param[out] options struct to fill.
 * @param[in] size sizeof(*options) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when options is NULL or size is impossible.
 */
CS_API cs_status cs_fair_options_init(cs_fair_options *options, size_t size);

/**
 * @brief Create a fair handle with no tenants and zero capacity.
 * @param[in] options options, or NULL for the defaults.
 * @param[in] alloc allocator (copied), or NULL for malloc.
 * @param[out] out the new handle; untouched on failure.
 * @return ::CS_OK; ::CS_ERR_INVALID for a NULL out, an incomplete allocator,
 *         a bad options size, a negative or non-finite half-life, too many
 *         resources or a non-positive or non-finite default weight;
 *         ::CS_ERR_NOMEM.
 */
CS_API cs_status cs_fair_create(const cs_fair_options *options, const cs_allocator *alloc,
                                cs_fair **out);

/**
 * @brief Free a handle. NULL is a no-op.
 * @param[in] fair the handle; every queue borrowing it must be destroyed first.
 */
CS_API void cs_fair_destroy(cs_fair *fair);

/**
 * @brief Set a tenant's weight, creating the tenant if it is unknown.
 * @param[in,out] fair the handle.
 * @param[in] tenant tenant id, not ::CS_ID_NONE.
 * @param[in] weight finite, > 0.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL handle, ::CS_ID_NONE, bad weight);
 *         ::CS_ERR_NOMEM when creating the tenant fails.
 * @note O(1) amortised plus O(log T) per borrowing queue that holds tasks of
 *       the tenant. Changes every tenant's factor (through sum_j w_j).
 */
CS_API cs_status cs_fair_set_weight(cs_fair *fair, uint64_t tenant, double weight);

/**
 * @brief Forget a tenant (its weight, usage and allocation).
 * @param[in,out] fair the handle.
 * @param[in] tenant tenant id.
 * @return ::CS_OK; ::CS_ERR_INVALID for a NULL handle; ::CS_ERR_NOT_FOUND for
 *         an unknown tenant; ::CS_ERR_BUSY when the tenant still holds an
 *         allocation or has tasks pending in a queue.
 * @note O(T): the usage and weight totals are summed afresh.
 */
CS_API cs_status cs_fair_remove_tenant(cs_fair *fair, uint64_t tenant);

/**
 * @brief Add usage to a tenant at time now, creating the tenant if unknown.
 * @param[in,out] fair the handle.
 * @param[in] tenant tenant id, not ::CS_ID_NONE.
 * @param[in] amount usage to add (e.g. resource seconds), finite, >= 0.
 * @param[in] now time of the charge, finite, >= the latest charge's time.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL handle, ::CS_ID_NONE, bad amount,
 *         non-finite or earlier now); ::CS_ERR_OVERFLOW when the usage would
 *         exceed the range of a double; ::CS_ERR_NOMEM when creating the
 *         tenant fails.
 * @note O(1) amortised plus O(log T) per borrowing queue. Usage is kept in
 *       decay-free units scaled to a reference time and rescaled by an exact
 *       power of two, O(T), once every 64 half-lives.
 */
CS_API cs_status cs_fair_charge(cs_fair *fair, uint64_t tenant, double amount, double now);

/**
 * @brief Set the pool capacity that dominant shares are measured against.
 * @param[in,out] fair the handle.
 * @param[in] capacity num_resources values, each >= 0.
 * @param[in] num_resources must equal the handle's.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers, negative capacity);
 *         ::CS_ERR_DIMENSION.
 * @note O(T R): every dominant share is recomputed; borrowing queues re-sort
 *       their tenants in O(T).
 */
CS_API cs_status cs_fair_set_capacity(cs_fair *fair, const int64_t *capacity,
                                      size_t num_resources);

/**
 * @brief Add a vector to a tenant's allocation (a task of the tenant started),
 *        creating the tenant if unknown.
 * @param[in,out] fair the handle.
 * @param[in] tenant tenant id, not ::CS_ID_NONE.
 * @param[in] amount num_resources values, each >= 0 (e.g. demand * count).
 * @param[in] num_resources must equal the handle's (and be > 0).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers, ::CS_ID_NONE, negative
 *         amount); ::CS_ERR_DIMENSION; ::CS_ERR_OVERFLOW when a total would
 *         exceed INT64_MAX; ::CS_ERR_NOMEM when creating the tenant fails.
 * @note O(R) plus O(log T) per borrowing queue. The allocation is not checked
 *       against the capacity: the pool does that.
 */
CS_API cs_status cs_fair_allocate(cs_fair *fair, uint64_t tenant, const int64_t *amount,
                                  size_t num_resources);

/**
 * @brief Subtract a vector from a tenant's allocation (a task finished).
 * @param[in,out] fair the handle.
 * @param[in] tenant a known tenant id.
 * @param[in] amount num_resources values, each >= 0 and <= the allocation.
 * @param[in] num_resources must equal the handle's (and be > 0).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers, negative amount, or more
 *         than allocated in some resource); ::CS_ERR_DIMENSION;
 *         ::CS_ERR_NOT_FOUND for an unknown tenant.
 * @note O(R) plus O(log T) per borrowing queue.
 */
CS_API cs_status cs_fair_release(cs_fair *fair, uint64_t tenant, const int64_t *amount,
                                 size_t num_resources);

/**
 * @brief A tenant's decayed usage at time now.
 * @param[in] fair the handle.
 * @param[in] tenant a known tenant id.
 * @param[in] now finite, >= the latest charge's time (the handle is not changed).
 * @param[out] usage sum of charges a_k made at t_k, each times 2^(-(now - t_k) / half_life).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers, bad now);
 *         ::CS_ERR_NOT_FOUND.
 * @note O(1).
 */
CS_API cs_status cs_fair_usage(const cs_fair *fair, uint64_t tenant, double now,
                               double *usage);

/**
 * @brief A tenant's fair-share factor 2^(-U_norm / S_norm) (see the file comment).
 * @param[in] fair the handle.
 * @param[in] tenant a known tenant id.
 * @param[out] factor in [0, 1]; 1 when no usage has been charged.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers); ::CS_ERR_NOT_FOUND.
 * @note O(1); independent of time (uniform decay cancels in U_norm).
 */
CS_API cs_status cs_fair_factor(const cs_fair *fair, uint64_t tenant, double *factor);

/**
 * @brief A tenant's dominant share, plain and divided by its weight.
 * @param[in] fair the handle.
 * @param[in] tenant a known tenant id.
 * @param[out] share max_k alloc_k / capacity_k (see the file comment); may be NULL.
 * @param[out] weighted share / weight; may be NULL.
 * @return ::CS_OK; ::CS_ERR_INVALID for a NULL handle; ::CS_ERR_NOT_FOUND.
 * @note O(1).
 */
CS_API cs_status cs_fair_dominant_share(const cs_fair *fair, uint64_t tenant, double *share,
                                        double *weighted);

/**
 * @brief A tenant's weight.
 * @param[in] fair the handle.
 * @param[in] tenant a known tenant id.
 * @param[out] weight the weight.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers); ::CS_ERR_NOT_FOUND.
 */
CS_API cs_status cs_fair_weight(const cs_fair *fair, uint64_t tenant, double *weight);

/**
 * @brief Copy a tenant's allocation vector.
 * @param[in] fair the handle.
 * @param[in] tenant a known tenant id.
 * @param[out] amount num_resources values.
 * @param[in] num_resources must equal the handle's (and be > 0).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers); ::CS_ERR_DIMENSION;
 *         ::CS_ERR_NOT_FOUND.
 */
CS_API cs_status cs_fair_allocation(const cs_fair *fair, uint64_t tenant, int64_t *amount,
                                    size_t num_resources);

/**
 * @brief List the tenant ids in increasing order.
 * @param[in] fair the handle.
 * @param[out] ids room for cap ids; may be NULL when cap is 0.
 * @param[in] cap capacity of ids.
 * @param[out] count number of tenants (written also when the buffer is too small).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL handle or count, NULL ids with
 *         cap > 0); ::CS_ERR_BUFFER_TOO_SMALL when cap < the tenant count
 *         (ids untouched).
 * @note O(T log T).
 */
CS_API cs_status cs_fair_tenants(const cs_fair *fair, uint64_t *ids, size_t cap,
                                 size_t *count);

/**
 * @brief Number of tenants.
 * @param[in] fair the handle (NULL gives 0).
 * @return the number of known tenants.
 */
CS_API size_t cs_fair_num_tenants(const cs_fair *fair);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* CLOUDSCHED_FAIR_H */
