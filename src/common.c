/* Status strings, version, default allocator and the small shared helpers
 * declared in internal.h. */
#include "internal.h"

#include <stdlib.h>

#include "cloudsched/common.h"

#define CS__STR_(x) #x
#define CS__STR(x) CS__STR_(x)

const char *cs_version(void)
{
    return CS__STR(CS_VERSION_MAJOR) "." CS__STR(CS_VERSION_MINOR) "." CS__STR(
        CS_VERSION_PATCH);
}

int cs_version_number(void)
{
    return CS_VERSION_NUMBER;
}

/* One table so that the text and the name of a status cannot drift apart. */
static const struct {
    cs_status status;
    const char *name;
    const char *text;
} status_table[] = {
    {CS_OK, "CS_OK", "success"},
    {CS_ERR_INVALID, "CS_ERR_INVALID", "invalid argument"},
    {CS_ERR_NOMEM, "CS_ERR_NOMEM", "out of memory"},
    {CS_ERR_NOT_FOUND, "CS_ERR_NOT_FOUND", "not found"},
    {CS_ERR_EXISTS, "CS_ERR_EXISTS", "already exists"},
    {CS_ERR_NO_FIT, "CS_ERR_NO_FIT", "does not fit: not enough free capacity"},
    {CS_ERR_OVERFLOW, "CS_ERR_OVERFLOW", "integer overflow"},
    {CS_ERR_INFEASIBLE, "CS_ERR_INFEASIBLE", "infeasible"},
    {CS_ERR_SINGULAR, "CS_ERR_SINGULAR", "singular or rank-deficient"},
    {CS_ERR_NOT_CONVERGED, "CS_ERR_NOT_CONVERGED", "did not converge"},
    {CS_ERR_STATE, "CS_ERR_STATE", "not allowed in the current state"},
    {CS_ERR_DIMENSION, "CS_ERR_DIMENSION", "dimension mismatch"},
    {CS_ERR_BUFFER_TOO_SMALL, "CS_ERR_BUFFER_TOO_SMALL", "output buffer too small"},
    {CS_ERR_UNBOUNDED, "CS_ERR_UNBOUNDED", "unbounded (dual infeasible)"},
    {CS_ERR_NUMERIC, "CS_ERR_NUMERIC", "numerical failure"},
    {CS_ERR_BUSY, "CS_ERR_BUSY", "in use"},
};

const char *cs_status_str(cs_status status)
{
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
        if (status_table[i].status == status)
            return status_table[i].text;
    return "unknown status";
}

const char *cs_status_name(cs_status status)
{
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
        if (status_table[i].status == status)
            return status_table[i].name;
    return "CS_UNKNOWN";
}

static void *default_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void *default_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    return realloc(ptr, size);
}

static void default_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

bool cs__allocator_resolve(cs_allocator *dst, const cs_allocator *user)
{
    if (user == NULL) {
        dst->alloc = default_alloc;
        dst->realloc = default_realloc;
        dst->free = default_free;
        dst->ctx = NULL;
        return true;
    }
    if (user->alloc == NULL || user->realloc == NULL || user->free == NULL)
        return false;
    *dst = *user;
    return true;
}

void *cs__alloc_array(const cs_allocator *a, size_t count, size_t elem)
{
    size_t bytes;
    if (!cs__mul_size(count, elem, &bytes) || bytes == 0)
        return NULL;
    return a->alloc(a->ctx, bytes);
}

void *cs__calloc_array(const cs_allocator *a, size_t count, size_t elem)
{
    void *p = cs__alloc_array(a, count, elem);
    if (p != NULL)
        memset(p, 0, count * elem);
    return p;
}

bool cs__reserve(const cs_allocator *a, void **ptr, size_t *cap, size_t need,
                 size_t elem)
{
    if (need <= *cap)
        return true;
    size_t newcap = *cap < 8 ? 8 : *cap;
    while (newcap < need) {
        if (newcap > SIZE_MAX / 2)
            return false;
        newcap *= 2;
    }
    size_t bytes;
    if (!cs__mul_size(newcap, elem, &bytes))
        return false;
    void *p = *ptr == NULL ? a->alloc(a->ctx, bytes)
                           : a->realloc(a->ctx, *ptr, bytes);
    if (p == NULL)
        return false;
    *ptr = p;
    *cap = newcap;
    return true;
}

char *cs__strdup(const cs_allocator *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = a->alloc(a->ctx, n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

cs_status cs__struct_init(void *dst, size_t size, size_t full_size,
                          size_t min_size, const void *defaults)
{
    if (dst == NULL || size < min_size || size > full_size)
        return CS_ERR_INVALID;
    memcpy(dst, defaults, size);
    memcpy(dst, &size, sizeof size); /* every public struct starts with size */
    return CS_OK;
}

bool cs__struct_import(void *dst, const void *src, size_t full_size,
                       size_t min_size, const void *defaults)
{
    if (src == NULL)
        return false;
    size_t given;
    memcpy(&given, src, sizeof given); /* every public struct starts with size */
    if (given < min_size || given > full_size)
        return false;
    memcpy(dst, defaults, full_size);
    memcpy(dst, src, given);
    return true;
}
