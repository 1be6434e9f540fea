/*
 * A map from 64-bit ids to 32-bit slots, shared by every module: open
 * addressing with linear probing over cells of (key, value, hash), erased
 * keys left as tombstones (O(1) erase) until the next rebuild. CS_ID_NONE
 * marks a free cell, which is why it is never a valid id. Iteration order
 * is never used for decisions, so hashing cannot leak into outputs.
 */
#ifndef CLOUDSCHED_IDMAP_H
#define CLOUDSCHED_IDMAP_H

#include "internal.h"

typedef struct cs_idcell {
    uint64_t key;  /* CS_ID_NONE: empty cell (hash 0) or tombstone (hash 1) */
    uint32_t val;
    uint32_t hash; /* low bits of the key's hash; always even for a key */
} cs_idcell;

typedef struct cs_idmap {
    cs_idcell *cell;
    size_t cap;   /* 0 or a power of two */
    size_t len;   /* keys */
    size_t tombs; /* erased cells not yet reused */
} cs_idmap;

#define CS_IDMAP_MISSING UINT32_MAX

void cs__idmap_free(const cs_allocator *a, cs_idmap *m);

/* Whether `extra` more keys fit without a rebuild. */
static inline bool cs__idmap_has_room(const cs_idmap *m, size_t extra)
{
    return m->len + extra + m->tombs <= m->cap / 2;
}

/* Make room for `extra` more keys (rebuilding the table, which also drops
 * tombstones, when they would fill half of it). False, with the map
 * untouched, on allocation failure. */
bool cs__idmap_reserve(const cs_allocator *a, cs_idmap *m, size_t extra);

/* The value stored for key, or CS_IDMAP_MISSING. */
uint32_t cs__idmap_get(const cs_idmap *m, uint64_t key);

/* Insert an absent key; room must have been reserved. */
void cs__idmap_put(cs_idmap *m, uint64_t key, uint32_t val);

/* Look key up with room for one more reserved: its value, or
 * CS_IDMAP_MISSING and in *cell where cs__idmap_put_at may insert it before
 * any other change to the map. Saves the second probe of get + put. */
uint32_t cs__idmap_probe(const cs_idmap *m, uint64_t key, size_t *cell);
void cs__idmap_put_at(cs_idmap *m, size_t cell, uint64_t key, uint32_t val);

/* Erase a present key: O(1) after the lookup, the cell becomes a tombstone. */
void cs__idmap_del(cs_idmap *m, uint64_t key);

#endif
