/**
 * @file balance.h
 * @brief Separable quadratic load balancing (the continuous quadratic
 *        knapsack problem), its integer version, utilisation-equalising
 *        forms, and weighted max-min fair division.
 *
 * The core problem is
 *
 *     minimise   sum_i w_i (x_i - t_i)^2
 *     subject to sum_i x_i = D,   l_i <= x_i <= u_i,   w_i > 0.
 *
 * Its solution is x_i = clamp(t_i + mu / w_i, l_i, u_i) for one scalar mu
 * (the multiplier of the sum constraint, up to a factor 2). Each x_i(mu) is
 * piecewise linear with two breakpoints, a_i = w_i (l_i - t_i) and
 * b_i = w_i (u_i - t_i), so g(mu) = sum_i x_i(mu) is nondecreasing and
 * piecewise linear, and mu solves g(mu) = D. ::cs_balance_solve finds it by
 * breakpoint search in O(n) expected time, without sorting: the median of
 * the breakpoints still inside the bracket (quickselect) halves the bracket
 * at every step (Kiwiel, "Breakpoint searching algorithms for the continuous
 * quadratic knapsack problem", Math. Program. 112, 2008). For large n a
 * sample of the elements first proposes a narrow bracket (as Floyd and
 * Rivest's selection does), so that one pass over the data leaves only a few
 * percent of the elements for the exact median search; the bracket is
 * verified exactly and widened if the sample misled it, so the answer never
 * depends on the sample. Once the active set is known, mu is computed from
 * the exact (compensated) sums over the free and fixed elements, so sum_i x_i
 * equals D to rounding.
 *
 * Built on the same solver:
 * - ::cs_balance_solve_int: integers with the same sum and integer bounds and
 *   the least objective (not merely a rounding of the continuous optimum);
 * - ::cs_balance_utilisation, ::cs_balance_utilisation_int: spread a new
 *   demand over nodes with loads and capacities so that utilisations are as
 *   equal as possible, never above capacity;
 * - ::cs_balance_multi, ::cs_balance_multi_int: the same for units of a
 *   multi-resource demand vector, all dimensions jointly (weighted sum);
 * - ::cs_balance_per_dimension: each dimension on its own;
 * - ::cs_balance_max_min, ::cs_balance_max_min_int: weighted max-min fair
 *   division of a divisible capacity among elastic demands
 *   (x_i = min(d_i, w_i * level)), which is the same problem with weights
 *   1 / w_i, targets 0 and bounds [0, d_i].
 *
 * Every solver takes a ::cs_balance_workspace, which holds the scratch
 * memory. A call of size n allocates only when the workspace has never held
 * size n (or ::cs_balance_workspace_reserve was not called for it), so a
 * scheduler's hot path does not allocate.
 *
 * Outputs are written only on success: on any error the output arrays are
 * untouched (the result struct, when given, reports the feasible range on
 * ::CS_ERR_INFEASIBLE).
 *
 * Thread-safety: a workspace is not thread-safe; use one workspace from one
 * thread at a time. Distinct workspaces are fully independent.
 */
#ifndef CLOUDSCHED_BALANCE_H
#define CLOUDSCHED_BALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "cloudsched/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup balance Separable load balancing
 *  @brief Quadratic knapsack, integer rounding, utilisation equalising, max-min fairness.
 *  @{
 */

/** Largest magnitude of an integer quantity (bound, total, load, demand)
 *  accepted by the integer solvers: 2^53, so that every such value and every
 *  candidate solution is exact in a double. */
#define CS_BALANCE_INT_MAX ((int64_t)1 << 53)

/** Opaque scratch memory for the balance solvers. */
typedef struct cs_balance_workspace cs_balance_workspace;

/**
 * @brief Create an empty workspace.
 * @param[in] allocator NULL for malloc/realloc/free; copied.
 * @param[out] out the new workspace.
 * @return ::CS_OK; ::CS_ERR_INVALID for a NULL out or an incomplete
 *         allocator; ::CS_ERR_NOMEM.
 * @note Scratch arrays are allocated on first use for a given size, or up
 *       front by ::cs_balance_workspace_reserve.
 */
CS_API cs_status cs_balance_workspace_create(const cs_allocator *allocator,
                                             cs_balance_workspace **out);

/**
 * @brief Destroy a workspace and free its memory.
 * @param[in] ws the workspace; NULL is a no-op.
 */
CS_API void cs_balance_workspace_destroy(cs_balance_workspace *ws);

/**
 * @brief Allocate scratch memory for problems of up to n elements, for every
 *        solver in this header, so that later calls do not allocate.
 * @param[in,out] ws the workspace.
 * @param[in] n number of elements (nodes, demands).
 * @return ::CS_OK; ::CS_ERR_INVALID for a NULL ws; ::CS_ERR_OVERFLOW when the
 *         byte count overflows size_t; ::CS_ERR_NOMEM (the workspace keeps
 *         its previous memory).
 * @note 128 bytes per element; ::cs_balance_solve alone needs 64 of them
 *       and reserves only those when it grows the workspace itself.
 */
CS_API cs_status cs_balance_workspace_reserve(cs_balance_workspace *ws, size_t n);

/** The continuous problem of ::cs_balance_solve. Prepare with ::cs_balance_problem_init. */
typedef struct cs_balance_problem {
    size_t size;          /**< Set by ::cs_balance_problem_init. */
    size_t n;             /**< Number of elements; 0 is allowed (then total must be 0). */
    const double *weight; /**< w_i, finite and > 0; NULL (the default) means all 1. */
    const double *target; /**< t_i, finite; NULL (the default) means all 0. */
    const double *lower;  /**< l_i, finite or -INFINITY; NULL (the default) means no lower bounds. */
    const double *upper;  /**< u_i >= l_i, finite or +INFINITY; NULL (the default) means no upper bounds. */
    double total;         /**< D, finite; default 0. */
} cs_balance_problem;

/**
 * @brief Prepare a problem with its defaults (n = 0, NULL arrays, total 0).
 * @param[out] problem struct to fill.
 * @param[in] size sizeof(*problem) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when problem is NULL or size is impossible.
 */
CS_API cs_status cs_balance_problem_init(cs_balance_problem *problem, size_t size);

/** The integer problem of ::cs_balance_solve_int. Prepare with ::cs_balance_int_problem_init. */
typedef struct cs_balance_int_problem {
    size_t size;           /**< Set by ::cs_balance_int_problem_init. */
    size_t n;              /**< Number of elements; 0 is allowed (then total must be 0). */
    const double *weight;  /**< w_i, finite and > 0; NULL (the default) means all 1. */
    const double *target;  /**< t_i, finite; NULL (the default) means all 0. */
    const int64_t *lower;  /**< l_i, |l_i| <= ::CS_BALANCE_INT_MAX; NULL (the default) means no lower bounds. */
    const int64_t *upper;  /**< u_i >= l_i, |u_i| <= ::CS_BALANCE_INT_MAX; NULL (the default) means no upper bounds. */
    int64_t total;         /**< D, |D| <= ::CS_BALANCE_INT_MAX; default 0. */
} cs_balance_int_problem;

/**
 * @brief Prepare an integer problem with its defaults (n = 0, NULL arrays, total 0).
 * @param[out] problem struct to fill.
 * @param[in] size sizeof(*problem) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when problem is NULL or size is impossible.
 */
CS_API cs_status cs_balance_int_problem_init(cs_balance_int_problem *problem, size_t size);

/** What a solve reports besides the solution. Prepare with ::cs_balance_result_init. */
typedef struct cs_balance_result {
    size_t size;          /**< Set by ::cs_balance_result_init. */
    /** The multiplier: x_i = clamp(t_i + mu / w_i, l_i, u_i) for the
     *  continuous optimum (for max-min: the water level). When D is the sum
     *  of the upper (lower) bounds, the smallest (largest) such value. On
     *  ::CS_ERR_INFEASIBLE, that value for the nearest bound vector. */
    double mu;
    /** sum_i w_i (x_i - t_i)^2 of the returned solution. */
    double objective;
    /** The same objective for the continuous optimum (a lower bound for the
     *  integer solvers; equal to `objective` for the continuous ones). */
    double objective_continuous;
    /** sum_i x_i of the returned solution, summed with compensation. */
    double sum;
    /** sum_i l_i (-INFINITY when some l_i is): the smallest feasible total. */
    double min_total;
    /** sum_i u_i (+INFINITY when some u_i is): the largest feasible total. */
    double max_total;
    size_t num_lower;     /**< Elements at their lower bound (l_i = u_i counts here). */
    size_t num_upper;     /**< Elements at their upper bound. */
    size_t num_free;      /**< Elements strictly between their bounds. */
    size_t iterations;    /**< Median-of-breakpoints steps taken. */
    size_t passes;        /**< Full passes over the input (2 normally, 3 when the sampled bracket was wrong). */
} cs_balance_result;

/**
 * @brief Prepare a result struct (all zero).
 * @param[out] result struct to fill.
 * @param[in] size sizeof(*result) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when result is NULL or size is impossible.
 */
CS_API cs_status cs_balance_result_init(cs_balance_result *result, size_t size);

/**
 * @brief Solve the continuous problem exactly by breakpoint search.
 * @param[in,out] ws workspace (scratch only).
 * @param[in] problem the problem.
 * @param[out] x n entries: the optimum, written only on success.
 * @param[out] result may be NULL; filled on success and on ::CS_ERR_INFEASIBLE
 *             (mu, min_total, max_total; the other members are then zero).
 * @return ::CS_OK;
 *         ::CS_ERR_INVALID for NULL ws/problem/x (x may be NULL when n is 0),
 *         a bad struct size, a weight that is not finite and > 0, a target or
 *         total that is not finite, a NaN bound, l_i = +INFINITY,
 *         u_i = -INFINITY, or l_i > u_i;
 *         ::CS_ERR_INFEASIBLE when D lies outside [sum l, sum u] (beyond a
 *         relative rounding tolerance of 8 eps);
 *         ::CS_ERR_NUMERIC when the data overflow the double range (1 / w_i,
 *         the sums of the search or the multiplier are not finite);
 *         ::CS_ERR_NOMEM when the workspace had to grow and could not.
 * @note O(n) expected time; two passes over the input plus work on the few
 *       percent of elements left in the sampled bracket. The solution is
 *       unique (the objective is strictly convex); sum_i x_i equals D to
 *       rounding (see result->sum).
 */
CS_API cs_status cs_balance_solve(cs_balance_workspace *ws,
                                  const cs_balance_problem *problem, double *x,
                                  cs_balance_result *result);

/**
 * @brief Solve the problem over the integers: x_i integer, l_i <= x_i <= u_i,
 *        sum_i x_i = D exactly, least sum_i w_i (x_i - t_i)^2.
 *
 * The continuous optimum gives a threshold on the marginal costs
 * w_i (2 (v - t_i) + 1) of raising x_i from v to v + 1; every unit cheaper
 * than it is taken, and the remaining (at most about n / 2) units are added
 * or removed greedily by marginal cost. The result is an exact optimum of the
 * integer problem (the proof is in src/balance.c); among optima with equal
 * marginal costs, lower indices receive units first, so ties are broken by
 * index and the answer is deterministic.
 *
 * @param[in,out] ws workspace (scratch only).
 * @param[in] problem the problem.
 * @param[out] x n integers, written only on success.
 * @param[out] result may be NULL; as for ::cs_balance_solve, with objective
 *             that of the integer solution and objective_continuous that of
 *             the continuous relaxation.
 * @return ::CS_OK; ::CS_ERR_INVALID (as for ::cs_balance_solve, and for
 *         integer values beyond ::CS_BALANCE_INT_MAX); ::CS_ERR_INFEASIBLE when
 *         D lies outside [sum l, sum u] (checked exactly); ::CS_ERR_OVERFLOW
 *         when a sum of bounds or an unbounded solution leaves the integer
 *         range; ::CS_ERR_NUMERIC; ::CS_ERR_NOMEM.
 * @note O(n + k log n) time, k <= about n / 2 the number of greedy units
 *       (k is small in practice).
 */
CS_API cs_status cs_balance_solve_int(cs_balance_workspace *ws,
                                      const cs_balance_int_problem *problem,
                                      int64_t *x, cs_balance_result *result);

/** How the utilisation-equalising forms measure "as equal as possible". */
typedef enum cs_balance_mode {
    /** Minimise sum_i ((L_i + x_i) / C_i - rho)^2, rho = (sum L + D) / sum C:
     *  squared deviation of each node's utilisation from the cluster's
     *  (weights 1 / C_i^2, targets rho C_i - L_i). Every node counts the same. */
    CS_BALANCE_SQUARED = 0,
    /** Minimise sum_i (L_i + x_i)^2 / C_i (weights 1 / C_i, targets -L_i):
     *  water-filling, where every node strictly inside its bounds ends at
     *  the same utilisation mu; equivalently the capacity-weighted squared
     *  deviation sum_i C_i (util_i - rho)^2. */
    CS_BALANCE_LEVEL = 1
} cs_balance_mode;

/**
 * @brief Spread a new demand D over n nodes so that utilisations
 *        (L_i + x_i) / C_i are as equal as possible (see ::cs_balance_mode),
 *        with x_i >= 0 and L_i + x_i <= C_i.
 * @param[in,out] ws workspace.
 * @param[in] n number of nodes.
 * @param[in] load current loads L_i, finite and >= 0.
 * @param[in] capacity capacities C_i, finite and >= 0. A node with C_i = 0, or
 *            already at or above capacity, receives 0.
 * @param[in] demand D, finite and >= 0.
 * @param[in] mode ::CS_BALANCE_SQUARED or ::CS_BALANCE_LEVEL.
 * @param[out] x n amounts, written only on success.
 * @param[out] result may be NULL; mu and objective refer to the weighted
 *             problem of the mode.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointers, negative or non-finite
 *         values, unknown mode); ::CS_ERR_INFEASIBLE when D exceeds the total
 *         free capacity sum_i max(0, C_i - L_i); ::CS_ERR_NUMERIC;
 *         ::CS_ERR_NOMEM.
 * @note O(n) expected.
 */
CS_API cs_status cs_balance_utilisation(cs_balance_workspace *ws, size_t n,
                                        const double *load, const double *capacity,
                                        double demand, cs_balance_mode mode,
                                        double *x, cs_balance_result *result);

/**
 * @brief Integer version of ::cs_balance_utilisation: integer amounts with
 *        sum exactly D, 0 <= x_i <= C_i - L_i, optimal for the mode's
 *        objective over the integers (ties by index).
 * @param[in,out] ws workspace.
 * @param[in] n number of nodes.
 * @param[in] load loads L_i, 0 <= L_i <= ::CS_BALANCE_INT_MAX.
 * @param[in] capacity capacities C_i, 0 <= C_i <= ::CS_BALANCE_INT_MAX.
 * @param[in] demand D, 0 <= D <= ::CS_BALANCE_INT_MAX.
 * @param[in] mode ::CS_BALANCE_SQUARED or ::CS_BALANCE_LEVEL.
 * @param[out] x n amounts, written only on success.
 * @param[out] result may be NULL.
 * @return as ::cs_balance_utilisation, plus ::CS_ERR_OVERFLOW when a sum of
 *         loads or capacities overflows.
 * @note O(n + k log n), k <= about n / 2.
 */
CS_API cs_status cs_balance_utilisation_int(cs_balance_workspace *ws, size_t n,
                                            const int64_t *load,
                                            const int64_t *capacity, int64_t demand,
                                            cs_balance_mode mode, int64_t *x,
                                            cs_balance_result *result);

/**
 * @brief Place `units` copies of a multi-resource unit demand d (one replica
 *        of a task, say) on n nodes, choosing x_i >= 0 copies per node with
 *        sum x_i = units, every dimension within capacity, and utilisations
 *        as equal as possible jointly over the dimensions.
 *
 * With p dimensions, loads L_ir and capacities C_ir (row-major, node i at
 * row i), rho_r = (sum_i L_ir + units d_r) / sum_i C_ir and dimension
 * weights a_r, ::CS_BALANCE_SQUARED minimises
 * sum_r a_r sum_i ((L_ir + x_i d_r) / C_ir - rho_r)^2 and ::CS_BALANCE_LEVEL
 * minimises sum_r a_r sum_i (L_ir + x_i d_r)^2 / C_ir. Both are separable in
 * i (a sum of quadratics in x_i is one quadratic), so they reduce exactly to
 * ::cs_balance_solve with u_i = min_r (C_ir - L_ir) / d_r over d_r > 0.
 * Dimensions with d_r = 0 do not constrain or weigh the placement.
 *
 * @param[in,out] ws workspace.
 * @param[in] n number of nodes.
 * @param[in] p number of dimensions, >= 1.
 * @param[in] load n * p loads, finite and >= 0.
 * @param[in] capacity n * p capacities, finite and >= 0.
 * @param[in] unit p demands of one unit, finite and >= 0, not all 0.
 * @param[in] dim_weight p weights a_r, finite and >= 0, not all zero where
 *            unit is non-zero; NULL means all 1.
 * @param[in] units the number of units to place, finite and >= 0.
 * @param[in] mode ::CS_BALANCE_SQUARED or ::CS_BALANCE_LEVEL.
 * @param[out] x n amounts (units per node), written only on success.
 * @param[out] result may be NULL.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_INFEASIBLE when the units do
 *         not fit; ::CS_ERR_NUMERIC; ::CS_ERR_NOMEM.
 * @note O(n p) to build the problem, then O(n) expected.
 */
CS_API cs_status cs_balance_multi(cs_balance_workspace *ws, size_t n, size_t p,
                                  const double *load, const double *capacity,
                                  const double *unit, const double *dim_weight,
                                  double units, cs_balance_mode mode, double *x,
                                  cs_balance_result *result);

/**
 * @brief Integer version of ::cs_balance_multi: whole units per node, with
 *        x_i d_r <= C_ir - L_ir in every dimension and sum x_i = units exactly.
 * @param[in,out] ws workspace.
 * @param[in] n number of nodes.
 * @param[in] p number of dimensions, >= 1.
 * @param[in] load n * p loads, 0 <= L_ir <= ::CS_BALANCE_INT_MAX.
 * @param[in] capacity n * p capacities, 0 <= C_ir <= ::CS_BALANCE_INT_MAX.
 * @param[in] unit p demands of one unit, 0 <= d_r <= ::CS_BALANCE_INT_MAX, not all 0.
 * @param[in] dim_weight p weights, as for ::cs_balance_multi; NULL means all 1.
 * @param[in] units 0 <= units <= ::CS_BALANCE_INT_MAX.
 * @param[in] mode ::CS_BALANCE_SQUARED or ::CS_BALANCE_LEVEL.
 * @param[out] x n unit counts, written only on success.
 * @param[out] result may be NULL.
 * @return as ::cs_balance_multi, plus ::CS_ERR_OVERFLOW when a sum overflows.
 * @note O(n p + n + k log n).
 */
CS_API cs_status cs_balance_multi_int(cs_balance_workspace *ws, size_t n, size_t p,
                                      const int64_t *load, const int64_t *capacity,
                                      const int64_t *unit, const double *dim_weight,
                                      int64_t units, cs_balance_mode mode,
                                      int64_t *x, cs_balance_result *result);

/**
 * @brief Balance each dimension on its own: for every r, spread demand[r] over
 *        the nodes as ::cs_balance_utilisation does with loads L_ir and
 *        capacities C_ir.
 * @param[in,out] ws workspace.
 * @param[in] n number of nodes.
 * @param[in] p number of dimensions, >= 1.
 * @param[in] load n * p loads (row-major), finite and >= 0.
 * @param[in] capacity n * p capacities, finite and >= 0.
 * @param[in] demand p new demands, finite and >= 0.
 * @param[in] mode ::CS_BALANCE_SQUARED or ::CS_BALANCE_LEVEL.
 * @param[out] x n * p amounts (row-major), written only when every dimension succeeds.
 * @param[out] results p results, or NULL.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_INFEASIBLE when some dimension
 *         does not fit (its result tells which: max_total < demand);
 *         ::CS_ERR_NUMERIC; ::CS_ERR_NOMEM.
 * @note O(n p) expected.
 */
CS_API cs_status cs_balance_per_dimension(cs_balance_workspace *ws, size_t n, size_t p,
                                          const double *load, const double *capacity,
                                          const double *demand, cs_balance_mode mode,
                                          double *x, cs_balance_result *results);

/**
 * @brief Weighted max-min fair division of a divisible capacity among
 *        elastic demands: x_i = min(d_i, w_i * level), with the level chosen
 *        so that sum_i x_i = min(capacity, sum_i d_i). Capacity left by
 *        satisfied demands flows to the others (progressive filling).
 *
 * This is the problem min sum_i x_i^2 / w_i, sum_i x_i = C, 0 <= x_i <= d_i,
 * solved by the same breakpoint search; result->mu is the level (when every
 * demand is met, the smallest level that meets them: max_i d_i / w_i).
 * Example: capacity 10, demands 2, 4, 10, equal weights give 2, 4, 4.
 *
 * @param[in,out] ws workspace.
 * @param[in] n number of demands.
 * @param[in] demand d_i, finite and >= 0.
 * @param[in] weight w_i, finite and > 0; NULL means all 1.
 * @param[in] capacity C, finite and >= 0.
 * @param[out] x n shares, written only on success.
 * @param[out] result may be NULL; objective is sum x_i^2 / w_i.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_NUMERIC; ::CS_ERR_NOMEM.
 * @note O(n) expected.
 */
CS_API cs_status cs_balance_max_min(cs_balance_workspace *ws, size_t n,
                                    const double *demand, const double *weight,
                                    double capacity, double *x,
                                    cs_balance_result *result);

/**
 * @brief Integer (unit) weighted max-min division: whole units, 0 <= x_i <= d_i,
 *        sum_i x_i = min(C, sum_i d_i) exactly.
 *
 * The optimum of min sum x_i^2 / w_i over the integers: the unit after v
 * units goes to the demand with the least (2 v + 1) / w_i, i.e. the
 * Sainte-Lague (Webster) divisor method, ties to the lower index. With equal
 * weights every pair of demands ends within one unit of each other unless the
 * smaller is fully met.
 *
 * @param[in,out] ws workspace.
 * @param[in] n number of demands.
 * @param[in] demand d_i, 0 <= d_i <= ::CS_BALANCE_INT_MAX.
 * @param[in] weight w_i, finite and > 0; NULL means all 1.
 * @param[in] capacity 0 <= C <= ::CS_BALANCE_INT_MAX.
 * @param[out] x n shares, written only on success.
 * @param[out] result may be NULL; mu is the continuous level.
 * @return ::CS_OK; ::CS_ERR_INVALID; ::CS_ERR_OVERFLOW when sum d overflows;
 *         ::CS_ERR_NUMERIC; ::CS_ERR_NOMEM.
 * @note O(n + k log n), k <= about n / 2.
 */
CS_API cs_status cs_balance_max_min_int(cs_balance_workspace *ws, size_t n,
                                        const int64_t *demand, const double *weight,
                                        int64_t capacity, int64_t *x,
                                        cs_balance_result *result);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* CLOUDSCHED_BALANCE_H */
