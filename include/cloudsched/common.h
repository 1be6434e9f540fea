/**
 * @file common.h
 * @brief Status codes, allocator hooks, version and export macros shared by
 *        every libcloudsched module.
 *
 * Conventions used across the whole API:
 * - Every fallible call returns a ::cs_status: ::CS_OK (zero) on success, a
 *   negative code on failure.
 * - A call that fails changes nothing observable (strong guarantee), including
 *   when the allocator fails.
 * - Handles are opaque, created by `cs_X_create()` and freed by
 *   `cs_X_destroy()`; destroying NULL is a no-op.
 * - Outputs go to caller-owned buffers. A buffer that is too small yields
 *   ::CS_ERR_BUFFER_TOO_SMALL and the needed element count, as snprintf does.
 * - Public structs begin with a `size` member and are prepared by their
 *   `cs_X_init(&x, sizeof x)` function, so that later versions can add
 *   members at the end without breaking callers compiled against this one.
 * - Time is always an argument (`now`, seconds, a double); the library reads
 *   no clock, does no I/O and keeps no global mutable state.
 *
 * Thread-safety: the functions in this header are pure and may be called from
 * any thread. For handles: distinct handles are fully independent and may be
 * used from distinct threads at once; one handle must not be used from two
 * threads at the same time.
 */
#ifndef CLOUDSCHED_COMMON_H
#define CLOUDSCHED_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup common Common definitions
 *  @brief Status codes, allocator, version.
 *  @{
 */

/** @cond INTERNAL */
#if defined(_WIN32) && defined(CS_BUILDING_SHARED)
#define CS_API __declspec(dllexport)
#elif defined(_WIN32) && defined(CS_USING_SHARED)
#define CS_API __declspec(dllimport)
#elif defined(__GNUC__) || defined(__clang__)
#define CS_API __attribute__((visibility("default")))
#else
#define CS_API
#endif
/** @endcond */

/** Major version: incremented for incompatible API or ABI changes. */
#define CS_VERSION_MAJOR 0
/** Minor version: incremented for compatible additions. */
#define CS_VERSION_MINOR 1
/** Patch version: incremented for compatible fixes. */
#define CS_VERSION_PATCH 0
/** The version as one comparable number: major * 10000 + minor * 100 + patch. */
#define CS_VERSION_NUMBER \
    (CS_VERSION_MAJOR * 10000 + CS_VERSION_MINOR * 100 + CS_VERSION_PATCH)

/**
 * @brief Result of every fallible call: ::CS_OK or a negative error.
 *
 * The numeric values are part of the ABI and never change.
 */
typedef enum cs_status {
    CS_OK = 0,                    /**< Success. */
    CS_ERR_INVALID = -1,          /**< Invalid argument: NULL, NaN, Inf, negative or out-of-range value. */
    CS_ERR_NOMEM = -2,            /**< The allocator returned NULL. */
    CS_ERR_NOT_FOUND = -3,        /**< Unknown id (node, allocation, task, tenant). */
    CS_ERR_EXISTS = -4,           /**< The id is already in use. */
    CS_ERR_NO_FIT = -5,           /**< Not enough free capacity: the demand does not fit. */
    CS_ERR_OVERFLOW = -6,         /**< An integer quantity would overflow int64_t or size_t. */
    CS_ERR_INFEASIBLE = -7,       /**< The constraints admit no solution (primal infeasible). */
    CS_ERR_SINGULAR = -8,         /**< Singular or rank-deficient system where full rank is required. */
    CS_ERR_NOT_CONVERGED = -9,    /**< An iterative method reached its iteration limit. */
    CS_ERR_STATE = -10,           /**< The call is not allowed in the object's current state. */
    CS_ERR_DIMENSION = -11,       /**< Array sizes or dimensions do not match. */
    CS_ERR_BUFFER_TOO_SMALL = -12,/**< The output buffer is too small; the needed count is reported. */
    CS_ERR_UNBOUNDED = -13,       /**< The objective is unbounded below (dual infeasible). */
    CS_ERR_NUMERIC = -14,         /**< Numerical breakdown (e.g. a factorisation failed on data that should allow it). */
    CS_ERR_BUSY = -15             /**< The object is in use (e.g. a node that still holds allocations). */
} cs_status;

/**
 * @brief Human-readable description of a status.
 * @param[in] status any value; unknown values give "unknown status".
 * @return a static, NUL-terminated string; never NULL.
 */
CS_API const char *cs_status_str(cs_status status);

/**
 * @brief The enumerator name of a status, e.g. "CS_ERR_NO_FIT".
 * @param[in] status any value; unknown values give "CS_UNKNOWN".
 * @return a static, NUL-terminated string; never NULL.
 */
CS_API const char *cs_status_name(cs_status status);

/**
 * @brief The library's version as "MAJOR.MINOR.PATCH".
 * @return a static string; compare with the CS_VERSION_* macros to detect a
 *         header/library mismatch.
 */
CS_API const char *cs_version(void);

/**
 * @brief The library's version as CS_VERSION_NUMBER would give it.
 * @return major * 10000 + minor * 100 + patch of the linked library.
 */
CS_API int cs_version_number(void);

/**
 * @brief Memory allocation hooks, given to each handle at creation.
 *
 * The handle copies the struct; `ctx` must stay valid until the handle is
 * destroyed. Passing NULL instead of an allocator selects the C library's
 * malloc, realloc and free. All three functions must be set.
 * Each function receives `ctx` as its first argument.
 */
typedef struct cs_allocator {
    /** Allocate `size` bytes (size > 0), suitably aligned for any type; NULL on failure. */
    void *(*alloc)(void *ctx, size_t size);
    /** Resize a block from `alloc` (ptr != NULL, size > 0); NULL on failure, leaving `ptr` valid. */
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    /** Free a block from `alloc` or `realloc`; `ptr` may be NULL. */
    void (*free)(void *ctx, void *ptr);
    /** Opaque pointer passed to the three functions. */
    void *ctx;
} cs_allocator;

/** Sentinel for "no id" / "choose an id for me" where a 64-bit id is expected. */
#define CS_ID_NONE UINT64_MAX

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* CLOUDSCHED_COMMON_H */
