/*
 * A map from 64-bit ids to 32-bit slots: open addressing, linear probing,
 * backward-shift deletion (no tombstones, so lookups never degrade).
 * CS_ID_NONE marks an empty bucket, which is why it is never a valid id.
 * Iteration order is never used for decisions, so hashing cannot leak into
 * the library's outputs.
 */
#ifndef CLOUDSCHED_IDMAP_H
#define CLOUDSCHED_IDMAP_H

#include "internal.h"

typedef struct cs_idmap {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap; /* power of two, or 0 */
    size_t len;
} cs_idmap;

#define CS_IDMAP_MISSING UINT32_MAX

void cs__idmap_free(const cs_allocator *a, cs_idmap *m);

/* Make room for `extra` more insertions without allocating later.
 * False on allocation failure, with the map unchanged. */
bool cs__idmap_reserve(const cs_allocator *a, cs_idmap *m, size_t extra);

/* CS_IDMAP_MISSING when absent. */
uint32_t cs__idmap_get(const cs_idmap *m, uint64_t key);

/* Insert or overwrite; the caller reserved room first. */
void cs__idmap_put(cs_idmap *m, uint64_t key, uint32_t val);

/* Remove if present. */
void cs__idmap_del(cs_idmap *m, uint64_t key);

#endif
