/**
 * @file lsq.h
 * @brief Dense linear least squares: weighted, ridge, rank-revealing, bounded
 *        (NNLS), polynomial and straight-line fits, with regression statistics.
 *
 * Solves
 *
 *     min_b  sum_i w_i (x_i . b - y_i)^2  +  ridge * ||b_penalised||^2
 *
 * for an n x p matrix X (rows x_i), one or several right-hand sides y, optional
 * non-negative weights w (zero allowed: the row is ignored) and an optional
 * intercept column of ones (coefficient 0, never penalised).
 *
 * Schedulers use it to fit performance models of jobs: runtime against
 * requested resources, throughput against workers, time per step against
 * batch size (as Optimus and Pollux fit them, with coefficients >= 0 through
 * ::cs_lsq_fit_nnls).
 *
 * Numerics (OpenBLAS + LAPACKE, column-major `_work` drivers only, so that no
 * LAPACKE wrapper allocates behind the caller's allocator):
 * - **Never the normal equations.** Forming X'X squares the condition number:
 *   a problem with cond(X) = 1e8 keeps about 8 digits through QR and none
 *   through X'X b = X'y. Every path here factorises X itself.
 * - ::CS_LSQ_QR (default): Householder QR (dgeqrf + dormqr + dtrtrs, the
 *   factorisation dgels performs, without dgels's two dlange scans of the
 *   data for its over/underflow rescaling). Measured on this project's 2-core
 *   machine with OpenBLAS 0.3.21, Householder QR beats the communication-
 *   avoiding tall-skinny QR of dgetsls (::CS_LSQ_TSQR) at every size tried
 *   (1e3..1e6 rows, 4..64 columns; e.g. 1e6 x 16: 0.12 s against 0.17 s), so
 *   TSQR is offered but is not the default.
 * - Column equilibration: every column is scaled by a power of two close to
 *   its 2-norm and rank decisions and condition estimates are made on the
 *   scaled matrix. Unscaled rank tests wrongly truncate badly scaled but
 *   well-determined problems (raw polynomial bases). Householder QR commutes
 *   exactly with power-of-two column scaling, and column pivoting and
 *   singular values are invariant under its orthogonal factor, so every
 *   method factorises the unscaled copy once (Householder, or TSQR for
 *   ::CS_LSQ_TSQR), scales R, and ::CS_LSQ_COD / ::CS_LSQ_SVD then run on the
 *   small p' x p' scaled R (Chan's R-SVD): the same decomposition as on the
 *   whole equilibrated matrix, at O(p'^3) instead of O(n p'^2) for the second
 *   step. Underdetermined problems (n < p') are equilibrated and handed to
 *   dgelsy / dgelss whole.
 * - Rank-deficient problems: ::CS_LSQ_COD (QR with column pivoting and a
 *   complete orthogonal decomposition, dgelsy) and ::CS_LSQ_SVD (dgelss) return
 *   the minimum-norm solution and the effective rank: the number of singular
 *   values of the equilibrated matrix above `rcond` times the largest
 *   (dgelsy estimates this incrementally). dgelss rather than dgelsd: it
 *   returns the right singular vectors the standard errors need, and on the
 *   p' x p' R the two cost the same. The QR paths require full rank and
 *   report ::CS_ERR_SINGULAR when the condition estimate of the equilibrated R
 *   exceeds 1 / `rcond`.
 * - Ridge: the augmented system [X; sqrt(ridge) I] b = [y; 0] is factorised by
 *   the chosen method (no cross-products either).
 *
 * Matrices may be row-major (C order, numpy's default) or column-major
 * (Fortran order), each with a leading dimension, so numpy arrays and slices
 * are used in place: the library copies into its workspace, never the caller.
 *
 * A ::cs_lsq workspace is created for one shape (n, p, number of right-hand
 * sides, options) and reused: ::cs_lsq_fit, ::cs_lsq_fit_bounded and
 * ::cs_lsq_fit_nnls never allocate.
 *
 * Thread-safety: one workspace per thread; distinct workspaces are
 * independent. The functions without a workspace argument are reentrant.
 * OpenBLAS may run its own worker threads inside a call.
 */
#ifndef CLOUDSCHED_LSQ_H
#define CLOUDSCHED_LSQ_H

#include "cloudsched/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup lsq Least squares
 *  @brief Weighted, ridge, rank-revealing, bounded, polynomial and line fits.
 *  @{
 */

/** Storage order of a matrix argument (the CBLAS/LAPACKE values). */
typedef enum cs_lsq_layout {
    CS_LSQ_ROW_MAJOR = 101, /**< C order: element (i, j) at a[i * ld + j], ld >= columns. */
    CS_LSQ_COL_MAJOR = 102  /**< Fortran order: element (i, j) at a[i + j * ld], ld >= rows. */
} cs_lsq_layout;

/** Factorisation used by ::cs_lsq_fit. */
typedef enum cs_lsq_method {
    /** Householder QR (dgeqrf + dormqr). Default; needs full column rank. */
    CS_LSQ_QR = 0,
    /** Tall-skinny communication-avoiding QR (dgetsls); needs full column rank. */
    CS_LSQ_TSQR = 1,
    /** QR with column pivoting + complete orthogonal decomposition (dgelsy):
     *  rank-revealing, minimum-norm solution. */
    CS_LSQ_COD = 2,
    /** Singular value decomposition (dgelss): rank-revealing, minimum-norm
     *  solution, exact 2-norm condition number; the slowest. */
    CS_LSQ_SVD = 3
} cs_lsq_method;

/** Largest degree ::cs_lsq_polyfit accepts. */
#define CS_LSQ_POLY_MAX_DEGREE 20

/** Options of a least-squares workspace. Prepare with ::cs_lsq_options_init. */
typedef struct cs_lsq_options {
    size_t size;          /**< Set by ::cs_lsq_options_init. */
    cs_lsq_method method; /**< Factorisation; default ::CS_LSQ_QR. */
    /** Non-zero: prepend a column of ones; its coefficient is coefficient 0,
     *  it is never penalised by `ridge`, and R^2 is then centred. Default 0. */
    int intercept;
    /** Ridge penalty lambda >= 0 on the (unscaled) coefficients other than
     *  the intercept. Default 0. */
    double ridge;
    /** Rank threshold relative to the largest singular value of the
     *  equilibrated matrix, in [0, 1). 0 (default) selects
     *  max(n, p) * DBL_EPSILON. */
    double rcond;
    /** Number of right-hand sides solved together, >= 1. Default 1. */
    size_t nrhs;
} cs_lsq_options;

/**
 * Statistics of one right-hand side. Prepare with ::cs_lsq_stats_init.
 *
 * "Used rows" are rows with a positive weight. With a ridge penalty the
 * residual degrees of freedom are n_used - trace(H), H the hat matrix.
 * Undefined quantities are NaN: sigma and adj_r2 when dof <= 0, r2 when the
 * total sum of squares is zero.
 */
typedef struct cs_lsq_stats {
    size_t size;     /**< Set by ::cs_lsq_stats_init. */
    size_t rank;     /**< Effective rank of the (augmented) matrix used. */
    size_t n_used;   /**< Rows with a positive weight. */
    double dof;      /**< Residual degrees of freedom. */
    double rss;      /**< Weighted residual sum of squares (data rows only, no penalty). */
    double tss;      /**< Weighted total sum of squares, about the weighted mean when centred. */
    double sigma;    /**< Residual standard error sqrt(rss / dof). */
    double r2;       /**< 1 - rss / tss (centred with an intercept, uncentred without). */
    double adj_r2;   /**< 1 - (1 - r2) (n_used - c) / dof, c = 1 centred, 0 uncentred. */
    /** Condition number estimate of the equilibrated matrix restricted to its
     *  effective rank: 1-norm estimate of the triangular factor (dtrcon) for
     *  QR, TSQR and COD, exact 2-norm ratio of singular values for SVD. */
    double cond;
} cs_lsq_stats;

/** A fitted polynomial. Prepare with ::cs_lsq_poly_init; filled by ::cs_lsq_polyfit. */
typedef struct cs_lsq_poly {
    size_t size;     /**< Set by ::cs_lsq_poly_init. */
    size_t degree;   /**< Degree d (d + 1 coefficients). */
    double center;   /**< The fit uses t = (x - center) / scale ... */
    double scale;    /**< ... which maps the data range onto [-1, 1]. */
    /** Coefficients in t: p(x) = sum_k coef[k] t^k. Evaluate with these
     *  (::cs_lsq_poly_eval): they are well conditioned. */
    double coef[CS_LSQ_POLY_MAX_DEGREE + 1];
    /** The same polynomial in the monomial basis of x: p(x) = sum_k
     *  monomial[k] x^k. For reporting; evaluating it loses digits when the
     *  data are far from the origin. */
    double monomial[CS_LSQ_POLY_MAX_DEGREE + 1];
} cs_lsq_poly;

/** Opaque reusable workspace for fits of one shape. */
typedef struct cs_lsq cs_lsq;

/**
 * @brief Prepare options with their defaults.
 * @param[out] opts struct to fill.
 * @param[in] size sizeof(*opts) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when opts is NULL or size is impossible.
 */
CS_API cs_status cs_lsq_options_init(cs_lsq_options *opts, size_t size);

/**
 * @brief Prepare a statistics struct (sets its size; the rest is output).
 * @param[out] stats struct to fill.
 * @param[in] size sizeof(*stats) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when stats is NULL or size is impossible.
 */
CS_API cs_status cs_lsq_stats_init(cs_lsq_stats *stats, size_t size);

/**
 * @brief Prepare a polynomial struct (sets its size; the rest is output).
 * @param[out] poly struct to fill.
 * @param[in] size sizeof(*poly) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when poly is NULL or size is impossible.
 */
CS_API cs_status cs_lsq_poly_init(cs_lsq_poly *poly, size_t size);

/**
 * @brief Create a workspace for fits of n rows and p columns.
 *
 * The number of coefficients is p' = p + (intercept ? 1 : 0).
 * @param[in] n rows of X, >= 1.
 * @param[in] p columns of X (without the intercept), p' >= 1.
 * @param[in] opts options, or NULL for the defaults.
 * @param[in] alloc allocator, or NULL for malloc; copied.
 * @param[out] out the new workspace; untouched on failure.
 * @return ::CS_OK; ::CS_ERR_INVALID (out NULL, bad options: unknown method,
 *         ridge < 0 or not finite, rcond outside [0, 1), nrhs 0, incomplete
 *         allocator); ::CS_ERR_DIMENSION when n == 0 or p' == 0, or when
 *         the method is ::CS_LSQ_QR or ::CS_LSQ_TSQR, ridge is 0 and n < p';
 *         ::CS_ERR_OVERFLOW when a dimension exceeds the LAPACK integer range
 *         or the workspace size overflows; ::CS_ERR_NOMEM.
 * @note Memory: (n + p') (p' + nrhs) doubles for copies plus LAPACK's
 *       workspace and O(p'^2) for statistics; all allocated here, once.
 */
CS_API cs_status cs_lsq_create(size_t n, size_t p, const cs_lsq_options *opts,
                               const cs_allocator *alloc, cs_lsq **out);

/**
 * @brief Destroy a workspace.
 * @param[in] ws workspace, or NULL (no-op).
 */
CS_API void cs_lsq_destroy(cs_lsq *ws);

/**
 * @brief Fit: coefficients, optionally their standard errors and statistics.
 *
 * All matrices use the same `layout`. X is n x p with leading dimension ldx;
 * Y is n x nrhs with leading dimension ldy (for one right-hand side a
 * contiguous vector works with ldy = 1 row-major or ldy = n column-major);
 * coef and se are p' x nrhs with leading dimension ldcoef.
 * Coefficient 0 is the intercept when the workspace has one.
 *
 * Standard errors are sigma times the square roots of the diagonal of
 * (A'A)^-1, computed from the inverse of the triangular factor (QR, TSQR,
 * COD) or from the singular vectors (SVD), never from X'X. With a ridge
 * penalty they are the sandwich sigma^2 (A'A + L)^-1 A'A (A'A + L)^-1. When the
 * effective rank is below p' or dof <= 0 they are NaN.
 *
 * @param[in,out] ws workspace; its scratch memory is overwritten.
 * @param[in] layout ::CS_LSQ_ROW_MAJOR or ::CS_LSQ_COL_MAJOR.
 * @param[in] x the n x p matrix (may be NULL only when p == 0).
 * @param[in] ldx its leading dimension (>= p row-major, >= n column-major).
 * @param[in] y the n x nrhs right-hand sides.
 * @param[in] ldy their leading dimension (>= nrhs row-major, >= n column-major).
 * @param[in] w n weights >= 0 (zero ignores the row), or NULL for all ones.
 * @param[out] coef p' x nrhs coefficients.
 * @param[in] ldcoef leading dimension of coef and se (>= nrhs row-major,
 *            >= p' column-major).
 * @param[out] se standard errors, same shape as coef, or NULL.
 * @param[out] stats array of nrhs structs, each prepared by
 *            ::cs_lsq_stats_init with the same size, or NULL.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL workspace or required pointer, bad
 *         layout, leading dimension too small, NaN or Inf in x, y or w, a
 *         negative weight, a stats struct of an impossible size);
 *         ::CS_ERR_SINGULAR when the QR or TSQR method meets a matrix whose
 *         equilibrated condition estimate exceeds 1 / rcond (zero columns
 *         included); ::CS_ERR_NUMERIC when LAPACK fails (the SVD does not
 *         converge). On any error nothing is written.
 * @note O(n p'^2) flops, O(n p' + p'^3) with statistics. No allocation.
 */
CS_API cs_status cs_lsq_fit(cs_lsq *ws, cs_lsq_layout layout, const double *x,
                            size_t ldx, const double *y, size_t ldy, const double *w,
                            double *coef, size_t ldcoef, double *se,
                            cs_lsq_stats *stats);

/**
 * @brief Fit with simple bounds lower <= b <= upper on every coefficient.
 *
 * The matrix is reduced once by Householder QR (whatever the workspace's
 * method) to the p' x p' problem min ||R b - Q'y||, which a bounded-variable
 * active-set method (Lawson and Hanson's NNLS, generalised to two-sided
 * bounds as in Stark and Parker's BVLS) solves exactly. Each right-hand side
 * is solved separately with the same bounds. Statistics report rank = p',
 * dof = n_used - (number of coefficients strictly inside their bounds), and
 * the constrained RSS; standard errors are not defined for constrained fits.
 *
 * @param[in,out] ws workspace (needs n + ridge rows >= p' and full rank).
 * @param[in] layout ::CS_LSQ_ROW_MAJOR or ::CS_LSQ_COL_MAJOR.
 * @param[in] x the n x p matrix.
 * @param[in] ldx its leading dimension.
 * @param[in] y the n x nrhs right-hand sides.
 * @param[in] ldy their leading dimension.
 * @param[in] w n weights >= 0, or NULL.
 * @param[in] lower p' lower bounds (-INFINITY allowed), or NULL for none.
 * @param[in] upper p' upper bounds (+INFINITY allowed), or NULL for none.
 * @param[out] coef p' x nrhs coefficients.
 * @param[in] ldcoef leading dimension of coef.
 * @param[out] stats array of nrhs statistics, or NULL.
 * @return as ::cs_lsq_fit, plus ::CS_ERR_INVALID for a NaN bound, a bound of
 *         +INFINITY as lower or -INFINITY as upper, or lower > upper;
 *         ::CS_ERR_DIMENSION when n + ridge rows < p'; ::CS_ERR_NOT_CONVERGED
 *         if the active-set iteration exceeds 10 p' + 50 steps (not expected).
 * @note O(n p'^2) for the reduction plus O(p'^3) per active-set change. No
 *       allocation.
 */
CS_API cs_status cs_lsq_fit_bounded(cs_lsq *ws, cs_lsq_layout layout,
                                    const double *x, size_t ldx, const double *y,
                                    size_t ldy, const double *w, const double *lower,
                                    const double *upper, double *coef, size_t ldcoef,
                                    cs_lsq_stats *stats);

/**
 * @brief Non-negative least squares: ::cs_lsq_fit_bounded with every
 *        coefficient (the intercept included) >= 0 and no upper bound.
 * @param[in,out] ws workspace.
 * @param[in] layout ::CS_LSQ_ROW_MAJOR or ::CS_LSQ_COL_MAJOR.
 * @param[in] x the n x p matrix.
 * @param[in] ldx its leading dimension.
 * @param[in] y the n x nrhs right-hand sides.
 * @param[in] ldy their leading dimension.
 * @param[in] w n weights >= 0, or NULL.
 * @param[out] coef p' x nrhs coefficients, all >= 0.
 * @param[in] ldcoef leading dimension of coef.
 * @param[out] stats array of nrhs statistics, or NULL.
 * @return as ::cs_lsq_fit_bounded.
 * @note Lawson and Hanson, Solving Least Squares Problems (1974), ch. 23.
 */
CS_API cs_status cs_lsq_fit_nnls(cs_lsq *ws, cs_lsq_layout layout, const double *x,
                                 size_t ldx, const double *y, size_t ldy,
                                 const double *w, double *coef, size_t ldcoef,
                                 cs_lsq_stats *stats);

/**
 * @brief One-shot fit: create a workspace, ::cs_lsq_fit, destroy it.
 * @param[in] n rows.
 * @param[in] p columns.
 * @param[in] opts options, or NULL for the defaults.
 * @param[in] layout ::CS_LSQ_ROW_MAJOR or ::CS_LSQ_COL_MAJOR.
 * @param[in] x the n x p matrix.
 * @param[in] ldx its leading dimension.
 * @param[in] y the n x nrhs right-hand sides.
 * @param[in] ldy their leading dimension.
 * @param[in] w n weights >= 0, or NULL.
 * @param[out] coef p' x nrhs coefficients.
 * @param[in] ldcoef leading dimension of coef and se.
 * @param[out] se standard errors, or NULL.
 * @param[out] stats array of nrhs statistics, or NULL.
 * @param[in] alloc allocator, or NULL for malloc.
 * @return the statuses of ::cs_lsq_create and ::cs_lsq_fit.
 * @note Allocates and frees the workspace; use ::cs_lsq_create for repeated fits.
 */
CS_API cs_status cs_lsq_solve(size_t n, size_t p, const cs_lsq_options *opts,
                              cs_lsq_layout layout, const double *x, size_t ldx,
                              const double *y, size_t ldy, const double *w,
                              double *coef, size_t ldcoef, double *se,
                              cs_lsq_stats *stats, const cs_allocator *alloc);

/**
 * @brief Weighted straight line y = a x + b.
 *
 * Closed form on centred data (weighted means first, then centred sums),
 * which is the QR solution of the two-column problem in another guise and
 * keeps full accuracy even when the x are far from zero.
 * @param[in] n points, >= 2 with positive weight.
 * @param[in] x abscissae.
 * @param[in] y ordinates.
 * @param[in] w n weights >= 0, or NULL.
 * @param[out] coef {b, a}: intercept then slope (the order of ::cs_lsq_fit
 *             with an intercept).
 * @param[out] se their standard errors, or NULL (NaN when dof <= 0).
 * @param[out] stats statistics (rank 2, cond the exact 2-norm condition of the
 *             equilibrated [1 x] matrix), or NULL.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointer, NaN or Inf, negative
 *         weight, bad stats size); ::CS_ERR_DIMENSION when fewer than two
 *         points have a positive weight; ::CS_ERR_SINGULAR when all those x
 *         are equal. On error nothing is written.
 * @note O(n), three passes, no allocation.
 */
CS_API cs_status cs_lsq_line(size_t n, const double *x, const double *y,
                             const double *w, double coef[2], double se[2],
                             cs_lsq_stats *stats);

/**
 * @brief Weighted polynomial fit of degree d by QR in a centred, scaled basis.
 *
 * x is mapped to t = (x - center) / scale in [-1, 1], the Vandermonde matrix
 * in t is solved by Householder QR, and the coefficients are returned in t
 * (for evaluation) and converted exactly once to the monomial basis of x.
 * This keeps severely ill-conditioned fits accurate (NIST Filip, Wampler),
 * where the normal equations of the raw basis lose every digit.
 * @param[in] n points.
 * @param[in] x abscissae.
 * @param[in] y ordinates.
 * @param[in] w n weights >= 0, or NULL.
 * @param[in] degree d, <= ::CS_LSQ_POLY_MAX_DEGREE.
 * @param[out] poly the fit (prepared by ::cs_lsq_poly_init).
 * @param[out] se_monomial d + 1 standard errors of the monomial
 *             coefficients (the certified quantities of NIST StRD), or NULL.
 * @param[out] stats statistics (R^2 centred), or NULL.
 * @param[in] alloc allocator for the temporary workspace, or NULL.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointer, NaN or Inf, negative
 *         weight, degree too large, bad struct size); ::CS_ERR_DIMENSION when
 *         n <= d; ::CS_ERR_SINGULAR when the points do not determine the
 *         polynomial (e.g. fewer than d + 1 distinct x with positive
 *         weight); ::CS_ERR_NOMEM. On error nothing is written.
 * @note O(n d^2); allocates a temporary workspace of O(n d) doubles.
 */
CS_API cs_status cs_lsq_polyfit(size_t n, const double *x, const double *y,
                                const double *w, size_t degree, cs_lsq_poly *poly,
                                double *se_monomial, cs_lsq_stats *stats,
                                const cs_allocator *alloc);

/**
 * @brief Evaluate a fitted polynomial (Horner in the scaled variable).
 * @param[in] poly the fit.
 * @param[in] n number of points.
 * @param[in] x points (finite).
 * @param[out] out n values (may alias x).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointer with n > 0, NaN or Inf in
 *         x, a poly with degree > ::CS_LSQ_POLY_MAX_DEGREE or scale <= 0).
 *         On error nothing is written.
 * @note O(n d).
 */
CS_API cs_status cs_lsq_poly_eval(const cs_lsq_poly *poly, size_t n, const double *x,
                                  double *out);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* CLOUDSCHED_LSQ_H */
