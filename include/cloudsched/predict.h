/**
 * @file predict.h
 * @brief Runtime (or demand) predictor learned online from completed tasks,
 *        with an error band and explicit fallbacks, for SJF and backfilling.
 *
 * Each completed task reports (key, features, user estimate, actual value):
 * the key is whatever groups similar tasks (a tenant, a user, an application
 * class). The predictor keeps one model per key and one global model over
 * all keys, each a log-linear regression
 *
 *     log(value) ~ b_0 + b_1 f_1 + ... + b_k f_k  [+ b_e log(user estimate)]
 *
 * fitted by square-root recursive least squares (see rls.h) with a
 * forgetting factor and a non-decaying ridge. Working in log space makes
 * errors relative (a 10-minute miss matters for a 20-minute job, not for a
 * 20-hour one) and predicts the median, not the mean, of a skewed runtime.
 *
 * A prediction comes from the first applicable rule, reported as a
 * ::cs_predict_source:
 * 1. the key's own model, if it has seen at least `min_samples` tasks and the
 *    task's features are present (features not NULL, and a positive user
 *    estimate when `estimate_feature` is on);
 * 2. the global model under the same conditions (when `use_global`);
 * 3. with ::CS_PREDICT_FALLBACK_HISTORY (default): the mean of the key's last
 *    two observed values (one if only one exists), the rule of Tsafrir,
 *    Etsion and Feitelson, "Backfilling using system-generated predictions
 *    rather than user runtime estimates", IEEE TPDS 18(6), 2007; then the
 *    user estimate;
 *    with ::CS_PREDICT_FALLBACK_USER: the user estimate, then the history.
 * With `cap_at_estimate` (default) a prediction never exceeds a positive
 * user estimate: batch systems kill tasks at their requested time.
 *
 * The error band: each model keeps its last `band_window` out-of-sample log
 * residuals (observed minus what the model predicted just before it saw the
 * task, recorded once the model is in use); the upper bound is
 * estimate * exp(empirical `quantile` of those residuals), never below the
 * estimate. History predictions use the larger of the two values as upper
 * bound, user estimates themselves.
 *
 * The predictor is generic: create one handle per predicted quantity
 * (runtime, memory, GPU-hours...). Values are positive reals (seconds,
 * MiB...); values below `min_value` are floored to it before the logarithm.
 *
 * Thread-safety: one handle per thread; distinct handles are independent.
 */
#ifndef CLOUDSCHED_PREDICT_H
#define CLOUDSCHED_PREDICT_H

#include "cloudsched/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup predict Runtime prediction
 *  @brief Per-key log-linear RLS models, global fallback, history and user-estimate rules.
 *  @{
 */

/** Largest number of caller features per task. */
#define CS_PREDICT_MAX_FEATURES 64
/** Largest error-band window. */
#define CS_PREDICT_MAX_WINDOW 256

/** Which rule produced a prediction. */
typedef enum cs_predict_source {
    CS_PREDICT_SOURCE_MODEL = 1,   /**< The key's own model. */
    CS_PREDICT_SOURCE_GLOBAL = 2,  /**< The global model over all keys. */
    CS_PREDICT_SOURCE_HISTORY = 3, /**< Mean of the key's last two observed values. */
    CS_PREDICT_SOURCE_USER = 4     /**< The user estimate. */
} cs_predict_source;

/** Order of the simple rules once no model applies. */
typedef enum cs_predict_fallback {
    CS_PREDICT_FALLBACK_HISTORY = 0, /**< History first, then the user estimate (default). */
    CS_PREDICT_FALLBACK_USER = 1     /**< User estimate first, then the history. */
} cs_predict_fallback;

/** Options of a predictor. Prepare with ::cs_predict_options_init. */
typedef struct cs_predict_options {
    size_t size;          /**< Set by ::cs_predict_options_init. */
    /** Caller features per task, 0..::CS_PREDICT_MAX_FEATURES. Default 0. */
    size_t num_features;
    /** Non-zero (default): log(user estimate) is a model feature; tasks
     *  without a positive estimate then cannot use or train the models. */
    int estimate_feature;
    /** Tasks a model must have seen before it is used; 0 (default) selects
     *  2 * (dimension + 1), the dimension being 1 + num_features
     *  (+ 1 with estimate_feature). */
    size_t min_samples;
    /** RLS forgetting factor in (0, 1]; default 1 (no forgetting). */
    double forgetting;
    /** Ridge on the model coefficients, >= 0, applied at every solve (it
     *  does not decay with forgetting); default 1e-3. */
    double ridge;
    /** Quantile of the error band, in (0, 1); default 0.9. */
    double quantile;
    /** Residuals kept per model for the band, 1..::CS_PREDICT_MAX_WINDOW; default 64. */
    size_t band_window;
    /** Order of the simple rules; default ::CS_PREDICT_FALLBACK_HISTORY. */
    cs_predict_fallback fallback;
    /** Non-zero (default): use the global model when the key's is not ready. */
    int use_global;
    /** Non-zero (default): never predict above a positive user estimate. */
    int cap_at_estimate;
    /** Floor applied to observed and estimated values before the log, > 0;
     *  default 1 (one second). */
    double min_value;
} cs_predict_options;

/** What a model knows. Prepare with ::cs_predict_model_info_init. */
typedef struct cs_predict_model_info {
    size_t size;          /**< Set by ::cs_predict_model_info_init. */
    size_t dim;           /**< Coefficients: 1 + num_features (+ 1 with estimate_feature). */
    uint64_t samples;     /**< Tasks the model learned from. */
    int ready;            /**< Non-zero when the model is used for predictions. */
    size_t band_count;    /**< Residuals currently in the band window. */
    size_t history_count; /**< Observed values kept for the history rule (0..2; 0 for the global model). */
} cs_predict_model_info;

/** Opaque predictor. */
typedef struct cs_predict cs_predict;

/**
 * @brief Prepare options with their defaults.
 * @param[out] opts struct to fill.
 * @param[in] size sizeof(*opts) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when opts is NULL or size is impossible.
 */
CS_API cs_status cs_predict_options_init(cs_predict_options *opts, size_t size);

/**
 * @brief Prepare a model-info struct (sets its size; the rest is output).
 * @param[out] info struct to fill.
 * @param[in] size sizeof(*info) as the caller compiled it.
 * @return ::CS_OK, or ::CS_ERR_INVALID when info is NULL or size is impossible.
 */
CS_API cs_status cs_predict_model_info_init(cs_predict_model_info *info, size_t size);

/**
 * @brief Create a predictor.
 * @param[in] opts options, or NULL for the defaults.
 * @param[in] alloc allocator, or NULL for malloc; copied.
 * @param[out] out the new predictor; untouched on failure.
 * @return ::CS_OK; ::CS_ERR_INVALID (out NULL, an option out of range,
 *         incomplete allocator); ::CS_ERR_NOMEM.
 */
CS_API cs_status cs_predict_create(const cs_predict_options *opts,
                                   const cs_allocator *alloc, cs_predict **out);

/**
 * @brief Destroy a predictor.
 * @param[in] pred predictor, or NULL (no-op).
 */
CS_API void cs_predict_destroy(cs_predict *pred);

/**
 * @brief Learn from a completed task.
 *
 * Records the value in the key's history; when the features are present,
 * first records each ready model's out-of-sample residual for the error
 * band, then updates the key's model and the global model.
 * @param[in,out] pred predictor.
 * @param[in] key task group (tenant, user, application class); not ::CS_ID_NONE.
 * @param[in] features the task's features (finite), or NULL when unknown
 *            (then only the history learns).
 * @param[in] num_features their count: must equal the option num_features
 *            when features is not NULL (ignored otherwise); pass a task
 *            spec's features and num_features as they are.
 * @param[in] user_estimate the user's estimate (> 0), or 0 when unknown.
 * @param[in] actual the observed value, >= 0.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL predictor, ::CS_ID_NONE key, NaN
 *         or Inf anywhere, negative estimate or actual); ::CS_ERR_DIMENSION
 *         when num_features does not match; ::CS_ERR_NOMEM when a new key
 *         cannot be stored. On error nothing changes.
 * @note O(d^3) with d the model dimension (two ridge solves of d x d
 *       triangles), amortised O(1) for a new key's storage.
 */
CS_API cs_status cs_predict_observe(cs_predict *pred, uint64_t key, const double *features,
                                    size_t num_features, double user_estimate, double actual);

/**
 * @brief Predict the value for a task, with an upper bound and its source.
 * @param[in] pred predictor.
 * @param[in] key task group (an unknown key uses the global model and the
 *            user estimate); not ::CS_ID_NONE.
 * @param[in] features the task's features (finite), or NULL when unknown.
 * @param[in] num_features their count (as for ::cs_predict_observe).
 * @param[in] user_estimate the user's estimate (> 0), or 0 when unknown.
 * @param[out] estimate the prediction (> 0 except when the history says 0).
 * @param[out] upper_bound the band's upper bound (>= estimate), or NULL.
 * @param[out] source the rule used, or NULL.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL predictor or estimate,
 *         ::CS_ID_NONE key, NaN or Inf, negative estimate);
 *         ::CS_ERR_DIMENSION when num_features does not match;
 *         ::CS_ERR_NOT_FOUND when no rule applies (no ready model, no
 *         history for the key and no user estimate); nothing is written then.
 * @note O(d + w log w), d the model dimension, w the band window.
 */
CS_API cs_status cs_predict_estimate(const cs_predict *pred, uint64_t key,
                                     const double *features, size_t num_features,
                                     double user_estimate, double *estimate,
                                     double *upper_bound, cs_predict_source *source);

/**
 * @brief New estimate for a task that has run past its current estimate:
 *        double it until it exceeds the elapsed time, but not beyond a user
 *        estimate that is itself still ahead.
 *
 * This keeps backfilling reservations correct after an underestimate: the
 * scheduler extends the estimate instead of assuming the task is about to
 * finish. When the user estimate is 0 or already exceeded, doubling alone
 * applies.
 * @param[in] estimate the current estimate, > 0.
 * @param[in] elapsed time the task has run, >= 0.
 * @param[in] user_estimate the user's estimate, or 0 when unknown.
 * @param[out] out the extended estimate (> elapsed; equal to `estimate` when
 *             that already exceeds elapsed).
 * @return ::CS_OK, or ::CS_ERR_INVALID (NULL out, NaN or Inf, estimate <= 0,
 *         negative elapsed or user estimate).
 * @note O(log(elapsed / estimate)); pure.
 */
CS_API cs_status cs_predict_extend(double estimate, double elapsed, double user_estimate,
                                   double *out);

/**
 * @brief Describe a key's model, or the global model.
 * @param[in] pred predictor.
 * @param[in] key a key, or ::CS_ID_NONE for the global model.
 * @param[out] info prepared by ::cs_predict_model_info_init.
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pointer, bad size);
 *         ::CS_ERR_NOT_FOUND for a key never observed.
 */
CS_API cs_status cs_predict_get_model_info(const cs_predict *pred, uint64_t key,
                                       cs_predict_model_info *info);

/**
 * @brief Copy a model's current coefficients (log-space; order: intercept,
 *        the caller features, then log(user estimate) when enabled).
 * @param[in] pred predictor.
 * @param[in] key a key, or ::CS_ID_NONE for the global model.
 * @param[out] coef buffer of `cap` doubles.
 * @param[in] cap its capacity.
 * @param[out] count the dimension d (always set unless ::CS_ERR_INVALID).
 * @return ::CS_OK; ::CS_ERR_INVALID (NULL pred or count, NULL coef with cap > 0);
 *         ::CS_ERR_NOT_FOUND for a key never observed;
 *         ::CS_ERR_BUFFER_TOO_SMALL when cap < d (nothing copied);
 *         ::CS_ERR_STATE when the model has no coefficients yet (no sample
 *         with features).
 */
CS_API cs_status cs_predict_coefficients(const cs_predict *pred, uint64_t key, double *coef,
                                         size_t cap, size_t *count);

/**
 * @brief Number of distinct keys observed.
 * @param[in] pred predictor (NULL gives 0).
 * @return the count.
 */
CS_API size_t cs_predict_num_keys(const cs_predict *pred);

/**
 * @brief Name of a source, e.g. "model".
 * @param[in] source any value; unknown values give "unknown".
 * @return a static string.
 */
CS_API const char *cs_predict_source_name(cs_predict_source source);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* CLOUDSCHED_PREDICT_H */
