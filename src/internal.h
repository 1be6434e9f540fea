/*
 * Internal helpers shared by the modules: allocation through the handle's
 * allocator, overflow-checked arithmetic, and the `size`-prefixed struct
 * convention. Never installed.
 */
#ifndef CLOUDSCHED_INTERNAL_H
#define CLOUDSCHED_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cloudsched/common.h"

#if defined(__GNUC__) || defined(__clang__)
#define CS_LIKELY(x) __builtin_expect(!!(x), 1)
#define CS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define CS_LIKELY(x) (x)
#define CS_UNLIKELY(x) (x)
#endif

/* INFINITY is a float; this is the double, for comparisons without promotion. */
#define CS__INF ((double)INFINITY)

/* ---- allocation ------------------------------------------------------ */

/* Copy `user` into `dst`, or the C library's functions when user is NULL.
 * Returns false when `user` is incomplete (a NULL function pointer). */
bool cs__allocator_resolve(cs_allocator *dst, const cs_allocator *user);

static inline void *cs__alloc(const cs_allocator *a, size_t size)
{
    return size == 0 ? NULL : a->alloc(a->ctx, size);
}

static inline void cs__free(const cs_allocator *a, void *ptr)
{
    if (ptr != NULL)
        a->free(a->ctx, ptr);
}

/* count * elem bytes, or NULL when that overflows or the allocator fails.
 * A zero count gives NULL too: callers treat "count == 0" themselves. */
void *cs__alloc_array(const cs_allocator *a, size_t count, size_t elem);

/* Zero-filled variant of cs__alloc_array. */
void *cs__calloc_array(const cs_allocator *a, size_t count, size_t elem);

/* Grow *ptr (an array of *cap elements of `elem` bytes) so that it holds at
 * least `need` elements, at least doubling. On failure *ptr and *cap are
 * unchanged and false is returned: this is how every container reserves
 * before it mutates, which gives the strong guarantee. */
bool cs__reserve(const cs_allocator *a, void **ptr, size_t *cap, size_t need,
                 size_t elem);

/* Duplicate a NUL-terminated string. */
char *cs__strdup(const cs_allocator *a, const char *s);

/* ---- checked arithmetic --------------------------------------------- */

static inline bool cs__add_i64(int64_t x, int64_t y, int64_t *out)
{
    return !__builtin_add_overflow(x, y, out);
}

static inline bool cs__sub_i64(int64_t x, int64_t y, int64_t *out)
{
    return !__builtin_sub_overflow(x, y, out);
}

static inline bool cs__mul_i64(int64_t x, int64_t y, int64_t *out)
{
    return !__builtin_mul_overflow(x, y, out);
}

static inline bool cs__mul_size(size_t x, size_t y, size_t *out)
{
    return !__builtin_mul_overflow(x, y, out);
}

static inline bool cs__add_size(size_t x, size_t y, size_t *out)
{
    return !__builtin_add_overflow(x, y, out);
}

static inline bool cs__all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

/* ---- size-prefixed public structs ------------------------------------ */

/* Body of every cs_X_init(ptr, size): check that `size` lies between the
 * first published size of the struct and the size this library knows, copy
 * that many bytes of `defaults`, and stamp `size`. */
cs_status cs__struct_init(void *dst, size_t size, size_t full_size,
                          size_t min_size, const void *defaults);

/* Copy a caller's size-prefixed struct into a full-size local one, filling
 * members the caller does not know with the defaults in `defaults`.
 * Returns false for a NULL pointer or an impossible size. */
bool cs__struct_import(void *dst, const void *src, size_t full_size,
                       size_t min_size, const void *defaults);

#endif /* CLOUDSCHED_INTERNAL_H */
