/**
 * @file qp.h
 * @brief Dense convex quadratic programming: an interior point method on a
 *        homogeneous embedding, with certificates of infeasibility.
 *
 * Problem:
 *
 *     minimise   1/2 x'Px + q'x
 *     subject to A x = b,   G x <= h,   l <= x <= u,
 *
 * with P symmetric positive semidefinite (zero, singular and LP-like parts
 * are fine), dense, n up to a few thousand.
 *
 * Algorithm. A primal-dual interior point method with Mehrotra's
 * predictor-corrector on the homogeneous embedding of Goulart and Chen
 * (Clarabel, 2024), which carries the quadratic objective directly: the
 * iterates (x, s, z, tau, kappa) converge either to tau > 0 (a solution,
 * x / tau) or to tau = 0, where the same vectors are certificates of primal
 * infeasibility (z with A'z = 0, b'z < 0) or of dual infeasibility (a
 * direction d with Pd = 0, Ad = 0, Gd <= 0, q'd < 0). Each iteration
 * factorises the KKT system once, in its reduced form
 * M = P + G'(Z/S)G + (bound terms) + delta I, by Cholesky (LAPACK dpotrf),
 * then the Schur complement of the equalities A M^-1 A' + delta I, also by
 * Cholesky: both are positive definite thanks to the small static
 * regularisation delta, which covers singular P and redundant equalities,
 * and iterative refinement against the unregularised system recovers the
 * accuracy the regularisation costs. Cholesky of the reduced system was
 * chosen over an LDL' (Bunch-Kaufman) factorisation of the full indefinite
 * KKT matrix because it is about twice as fast, needs no pivoting and its
 * failures are unambiguous; the price, forming G'(Z/S)G, is a matrix
 * product at BLAS-3 speed. Bounds enter M as a diagonal, so many bounds cost
 * nothing extra. The data are first equilibrated (Ruiz's iterative
 * row/column scaling and a cost scaling) so that badly scaled problems
 * behave like well scaled ones.
 *
 * Termination is decided on the caller's own, unscaled data: the solver
 * recomputes the residuals of the KKT conditions (primal feasibility,
 * stationarity, duality gap) from the original P, q, A, b, G, h, l, u
 * before it claims ::CS_OK, and likewise verifies a certificate before it
 * claims infeasibility or unboundedness.
 *
 * All memory is allocated by ::cs_qp_workspace_create for given dimensions;
 * ::cs_qp_solve allocates nothing.
 *
 * Thread-safety: a workspace is not thread-safe; use one workspace from one
 * thread at a time. Distinct workspaces are independent. (The BLAS library
 * may use threads of its own inside a call.)
 */
#ifndef CLOUDSCHED_QP_H
#define CLOUDSCHED_QP_H

#include <stddef.h>

#include "cloudsched/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup qp Dense convex QP
 *  @brief Interior point solver with infeasibility certificates.
 *  @{
 */

/** A problem. Matrices are dense and row-major. Prepare with ::cs_qp_problem_init. */
typedef struct cs_qp_problem {
    size_t size;        /**< Set by ::cs_qp_problem_init. */
    size_t n;           /**< Variables, >= 1; must equal the workspace's. */
    size_t m_eq;        /**< Equality constraints; must equal the workspace's. */
    size_t m_in;        /**< Inequality constraints; must equal the workspace's. */
    /** n x n, symmetric positive semidefinite; only the lower triangle
     *  (row i, columns j <= i) is read. NULL means P = 0 (a linear program). */
    const double *P;
    const double *q;    /**< n; NULL means 0. */
    const double *A;    /**< m_eq x n; may be NULL when m_eq is 0. */
    const double *b;    /**< m_eq; may be NULL when m_eq is 0. */
    const double *G;    /**< m_in x n; may be NULL when m_in is 0. */
    const double *h;    /**< m_in; may be NULL when m_in is 0. */
    const double *lower; /**< n, finite or -INFINITY; NULL means no lower bounds. */
    const double *upper; /**< n, finite or +INFINITY, >= lower; NULL means no upper bounds. */
} cs_qp_problem;

/**
 * @brief Prepare a problem (all zero/NULL).
 * @param[out] problem struct to fill.
 * @param[in] size sizeof(*problem) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when problem is NULL or size is impossible.
 */
CS_API cs_status cs_qp_problem_init(cs_qp_problem *problem, size_t size);

/** Solver settings. Prepare with ::cs_qp_settings_init. */
typedef struct cs_qp_settings {
    size_t size;           /**< Set by ::cs_qp_settings_init. */
    /** Absolute tolerance of the KKT residuals; default 1e-8. */
    double eps_abs;
    /** Relative tolerance of the KKT residuals (relative to the sizes of the
     *  terms that must cancel); default 1e-8. */
    double eps_rel;
    /** Tolerance of infeasibility and unboundedness certificates; default 1e-8. */
    double eps_infeasible;
    /** Iteration limit; default 100. */
    int max_iter;
    /** Ruiz equilibration passes, 0 to switch scaling off; default 10. */
    int equilibrate_iter;
    /** Static regularisation of the KKT system (in scaled units); default 1e-8. */
    double static_reg;
    /** Largest number of iterative refinement steps per linear solve; default 8. */
    int refine_iter;
} cs_qp_settings;

/**
 * @brief Prepare settings with their defaults.
 * @param[out] settings struct to fill.
 * @param[in] size sizeof(*settings) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when settings is NULL or size is impossible.
 */
CS_API cs_status cs_qp_settings_init(cs_qp_settings *settings, size_t size);

/**
 * Outputs of ::cs_qp_solve. The caller provides the arrays. Prepare with
 * ::cs_qp_result_init, then set the pointers.
 *
 * Sign conventions: at a solution,
 * P x + q + A'y + G'z + z_bound = 0, z >= 0, z_i (h - Gx)_i = 0, and
 * z_bound_j > 0 only where x_j = u_j, z_bound_j < 0 only where x_j = l_j.
 */
typedef struct cs_qp_result {
    size_t size;        /**< Set by ::cs_qp_result_init. */
    double *x;          /**< n: the solution (or a direction: see ::cs_qp_solve). Required. */
    double *y;          /**< m_eq: equality multipliers, or NULL. */
    double *z;          /**< m_in: inequality multipliers (>= 0), or NULL. */
    double *z_bound;    /**< n: bound multipliers z_upper - z_lower, or NULL. */
    double objective;   /**< 1/2 x'Px + q'x at x. */
    double dual_objective; /**< -1/2 x'Px - b'y - h'z - sum_j (u_j z_j^+ - l_j z_j^-). */
    /** max(|Ax - b|, (Gx - h)^+, (l - x)^+, (x - u)^+), infinity norm, unscaled. */
    double primal_residual;
    /** |P x + q + A'y + G'z + z_bound|, infinity norm, unscaled. */
    double dual_residual;
    double gap;         /**< |objective - dual_objective|. */
    int iterations;     /**< Interior point iterations taken. */
} cs_qp_result;

/**
 * @brief Prepare a result struct (NULL pointers, zeros).
 * @param[out] result struct to fill.
 * @param[in] size sizeof(*result) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when result is NULL or size is impossible.
 */
CS_API cs_status cs_qp_result_init(cs_qp_result *result, size_t size);

/** Opaque workspace for problems of fixed dimensions. */
typedef struct cs_qp_workspace cs_qp_workspace;

/**
 * @brief Create a workspace for problems with n variables, m_eq equalities
 *        and m_in inequalities (bounds need no room of their own).
 * @param[in] n variables, >= 1.
 * @param[in] m_eq equality constraints, >= 0.
 * @param[in] m_in inequality constraints, >= 0.
 * @param[in] allocator NULL for malloc/realloc/free; copied.
 * @param[out] out the new workspace.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL out, n = 0, incomplete allocator,
 *         sizes beyond LAPACK's int); ::CS_ERR_OVERFLOW when the memory size
 *         overflows; ::CS_ERR_NOMEM.
 * @note Memory: about 2 n^2 + 2 (m_eq + m_in) n + m_eq^2 doubles (the
 *       scaled copies of P, A, G, the factor of the reduced KKT matrix and
 *       its Schur complement), plus O(n + m_eq + m_in).
 */
CS_API cs_status cs_qp_workspace_create(size_t n, size_t m_eq, size_t m_in,
                                        const cs_allocator *allocator,
                                        cs_qp_workspace **out);

/**
 * @brief Destroy a workspace.
 * @param[in] ws the workspace; NULL is a no-op.
 */
CS_API void cs_qp_workspace_destroy(cs_qp_workspace *ws);

/**
 * @brief Solve a problem.
 *
 * Outcomes, and what is written:
 * - ::CS_OK: x, y, z, z_bound hold a solution whose unscaled KKT residuals
 *   meet the tolerances (primal and dual residuals <= eps_abs + eps_rel *
 *   scale, gap likewise); the scalar members describe it.
 * - ::CS_ERR_INFEASIBLE (primal infeasible): y, z, z_bound hold a Farkas
 *   certificate, normalised so that
 *   b'y + h'z + sum_j (u_j z_j^+ - l_j z_j^-) = -1, with
 *   A'y + G'z + z_bound = 0 to the tolerance and z >= 0 (z_j^+ only where
 *   u_j is finite, z_j^- only where l_j is). x is not written.
 * - ::CS_ERR_UNBOUNDED (dual infeasible): x holds a direction d with
 *   q'd = -1, Pd = 0, Ad = 0, Gd <= 0 to the tolerance, d_j >= 0 where l_j
 *   is finite and d_j <= 0 where u_j is. y, z, z_bound are not written.
 * - ::CS_ERR_NOT_CONVERGED (iteration limit) and ::CS_ERR_NUMERIC (the
 *   factorisation failed even with more regularisation, or the iterates
 *   stalled): the last iterate is written as for ::CS_OK, with its
 *   residuals, so the caller can judge it.
 * - any other status: nothing is written.
 *
 * @param[in,out] ws workspace created with the problem's dimensions.
 * @param[in] problem the problem (not modified; copied and scaled inside ws).
 * @param[in] settings NULL for the defaults.
 * @param[in,out] result caller's arrays (x required) and the scalar outputs.
 * @return ::CS_OK; ::CS_ERR_INFEASIBLE; ::CS_ERR_UNBOUNDED;
 *         ::CS_ERR_NOT_CONVERGED; ::CS_ERR_NUMERIC;
 *         ::CS_ERR_INVALID for NULL pointers (ws, problem, result, result->x,
 *         or a matrix or vector whose count is non-zero), a bad struct size,
 *         a non-finite entry in P, q, A, b, G or h, a NaN bound,
 *         lower = +INFINITY, upper = -INFINITY, lower > upper, or bad
 *         settings (tolerances not > 0, max_iter < 1, negative counts);
 *         ::CS_ERR_DIMENSION when the problem's sizes differ from the
 *         workspace's.
 * @note O(n^3 + m_in n^2 + m_eq^2 n) per iteration, typically 10-30
 *       iterations. Allocates nothing.
 */
CS_API cs_status cs_qp_solve(cs_qp_workspace *ws, const cs_qp_problem *problem,
                             const cs_qp_settings *settings, cs_qp_result *result);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* CLOUDSCHED_QP_H */
