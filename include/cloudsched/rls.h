/**
 * @file rls.h
 * @brief Streaming (recursive) least squares with a forgetting factor, in the
 *        numerically stable square-root (QR) form.
 *
 * After samples (x_1, y_1) ... (x_n, y_n) the model's coefficients minimise
 *
 *     sum_i lambda^(n-i) (y_i - x_i . b)^2  +  delta lambda^n ||b||^2
 *
 * where lambda in (0, 1] is the forgetting factor (1 = ordinary least
 * squares, smaller values track a drifting model with an effective memory of
 * about 1 / (1 - lambda) samples) and delta >= 0 the initial ridge (a prior
 * b = 0 with precision delta, forgotten at the same rate as the data).
 *
 * The state is the upper-triangular factor T = [R z; 0 rho] of the weighted
 * augmented matrix [X y] (R'R = X'WX + prior, R b = z, rho^2 = the weighted
 * residual sum of squares). A sample is absorbed by scaling T by
 * sqrt(lambda) and annihilating the new row [x y] with p + 1 Givens
 * rotations: O(p^2) per sample. This is the QR-RLS of the adaptive-filtering
 * literature (e.g. Haykin, Adaptive Filter Theory, ch. 15). The textbook
 * "P-matrix" recursion P <- (P - P x x' P / (lambda + x' P x)) / lambda updates
 * the inverse of X'X instead: it squares the condition number and loses the
 * symmetry and positive definiteness of P on ill-conditioned data; it is not
 * used here. Blocks of rows are absorbed at once by LAPACK's triangular-
 * pentagonal QR (dtpqrt), with exactly the weights of sample-by-sample
 * absorption.
 *
 * Nothing allocates after ::cs_rls_create.
 *
 * Thread-safety: one handle per thread; distinct handles are independent.
 */
#ifndef CLOUDSCHED_RLS_H
#define CLOUDSCHED_RLS_H

#include "cloudsched/common.h"
#include "cloudsched/lsq.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup rls Recursive least squares
 *  @brief QR/Givens RLS with forgetting, O(p^2) per sample.
 *  @{
 */

/** Options of an RLS model. Prepare with ::cs_rls_options_init. */
typedef struct cs_rls_options {
    size_t size;       /**< Set by ::cs_rls_options_init. */
    double forgetting; /**< lambda in (0, 1]; default 1 (no forgetting). */
    double ridge;      /**< Initial ridge delta >= 0; default 0 (no prior). */
    /** Rows absorbed per LAPACK call by ::cs_rls_update_block (>= 1; longer
     *  blocks are processed in pieces of this many rows). Default 64. */
    size_t block_rows;
} cs_rls_options;

/** State summary of an RLS model. Prepare with ::cs_rls_info_init. */
typedef struct cs_rls_info {
    size_t size;       /**< Set by ::cs_rls_info_init. */
    size_t dim;        /**< Number of coefficients p. */
    uint64_t samples;  /**< Samples absorbed since creation or the last reset. */
    double weight;     /**< Effective sample count sum_i lambda^(n-i). */
    /** Minimum of the weighted objective (residual sum of squares plus the
     *  decayed prior term): rho^2 of the factor. */
    double rss;
} cs_rls_info;

/** Opaque RLS model. */
typedef struct cs_rls cs_rls;

/**
 * @brief Prepare options with their defaults.
 * @param[out] opts struct to fill.
 * @param[in] size sizeof(*opts) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when opts is NULL or size is impossible.
 */
CS_API cs_status cs_rls_options_init(cs_rls_options *opts, size_t size);

/**
 * @brief Prepare an info struct (sets its size; the rest is output).
 * @param[out] info struct to fill.
 * @param[in] size sizeof(*info) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when info is NULL or size is impossible.
 */
CS_API cs_status cs_rls_info_init(cs_rls_info *info, size_t size);

/**
 * @brief Create a model with p coefficients.
 * @param[in] p number of coefficients (features, an intercept being a
 *            feature that is always 1), 1 <= p <= 4096.
 * @param[in] opts options, or NULL for the defaults.
 * @param[in] alloc allocator, or NULL for malloc; copied.
 * @param[out] out the new model; untouched on failure.
 * @return ::CS_OK; ::CS_ERR_INVALID (out NULL, forgetting outside (0, 1],
 *         ridge negative or not finite, block_rows 0, incomplete allocator);
 *         ::CS_ERR_DIMENSION when p is 0 or above 4096; ::CS_ERR_NOMEM.
 * @note Memory O(p^2 + block_rows p).
 */
CS_API cs_status cs_rls_create(size_t p, const cs_rls_options *opts,
                               const cs_allocator *alloc, cs_rls **out);

/**
 * @brief Destroy a model.
 * @param[in] rls model, or NULL (no-op).
 */
CS_API void cs_rls_destroy(cs_rls *rls);

/**
 * @brief Forget every sample and return to the initial prior.
 * @param[in,out] rls model.
 * @return ::CS_OK, or ::CS_ERR_INVALID when rls is NULL.
 */
CS_API cs_status cs_rls_reset(cs_rls *rls);

/**
 * @brief Absorb one sample.
 * @param[in,out] rls model.
 * @param[in] x p features (finite).
 * @param[in] y the observed value (finite).
 * @return ::CS_OK, or ::CS_ERR_INVALID (NULL pointer, NaN or Inf); on error
 *         the model is unchanged.
 * @note O(p^2): p + 1 Givens rotations.
 */
CS_API cs_status cs_rls_update(cs_rls *rls, const double *x, double y);

/**
 * @brief Absorb n samples at once, exactly as n calls of ::cs_rls_update
 *        would (up to rounding).
 * @param[in,out] rls model.
 * @param[in] layout ::CS_LSQ_ROW_MAJOR or ::CS_LSQ_COL_MAJOR.
 * @param[in] n number of samples (0 is a no-op).
 * @param[in] x the n x p features.
 * @param[in] ldx leading dimension of x (>= p row-major, >= n column-major).
 * @param[in] y the n observed values.
 * @return ::CS_OK, or ::CS_ERR_INVALID (NULL pointer with n > 0, bad layout
 *         or leading dimension, NaN or Inf anywhere); on error the model is
 *         unchanged (the whole block is checked first).
 * @note O(n p^2) in LAPACK dtpqrt calls of block_rows rows each.
 */
CS_API cs_status cs_rls_update_block(cs_rls *rls, cs_lsq_layout layout, size_t n,
                                     const double *x, size_t ldx, const double *y);

/**
 * @brief Current coefficients: the solution of R b = z.
 * @param[in,out] rls model (caches the solution until the next update).
 * @param[out] b p coefficients.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointer); ::CS_ERR_SINGULAR when
 *         the column-equilibrated R has a reciprocal condition estimate below
 *         p * DBL_EPSILON (too few samples, or collinear features, without a
 *         ridge); nothing is written then.
 * @note O(p^2) after an update, O(p) when cached.
 */
CS_API cs_status cs_rls_coefficients(cs_rls *rls, double *b);

/**
 * @brief Coefficients with an extra, non-decaying ridge mu applied at query
 *        time: argmin ||R b - z||^2 + mu ||b||^2.
 *
 * Useful with forgetting, where the initial ridge decays away and directions
 * that the data no longer excite become singular.
 * @param[in,out] rls model (its scratch memory is used; the state is not changed).
 * @param[in] mu ridge >= 0 (0 behaves as ::cs_rls_coefficients without the cache).
 * @param[out] b p coefficients.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointer, mu negative or not
 *         finite); ::CS_ERR_SINGULAR as ::cs_rls_coefficients when mu is 0.
 * @note O(p^3): p Givens row absorptions into a copy of R.
 */
CS_API cs_status cs_rls_coefficients_ridge(cs_rls *rls, double mu, double *b);

/**
 * @brief Predict y for features x with the current coefficients.
 * @param[in,out] rls model.
 * @param[in] x p features (finite).
 * @param[out] yhat x . b.
 * @return as ::cs_rls_coefficients, plus ::CS_ERR_INVALID for NaN or Inf in x.
 * @note O(p) when the coefficients are cached, O(p^2) otherwise.
 */
CS_API cs_status cs_rls_predict(cs_rls *rls, const double *x, double *yhat);

/**
 * @brief Summary of the model's state.
 * @param[in] rls model.
 * @param[out] info prepared by ::cs_rls_info_init.
 * @return ::CS_OK, or ::CS_ERR_INVALID (NULL pointer, impossible size).
 * @note O(1).
 */
CS_API cs_status cs_rls_get_info(const cs_rls *rls, cs_rls_info *info);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* CLOUDSCHED_RLS_H */
