/* The shared id map; see idmap.h. */
#include "idmap.h"

/* Runs of 16 consecutive ids (the common case: ids handed out in sequence)
 * land on every other cell of one 32-cell block, so inserting and erasing
 * them touches memory in order and a probe run usually ends at the next cell;
 * the id's high part goes through the MurmurHash3 finaliser, which spreads
 * the blocks (and strided or random ids) over the table. The load stays at
 * most 1/4, so that blocks rarely collide. */
#define IDMAP_RUN_BITS 4
#define IDMAP_LOAD_INV 4

static inline size_t idmap_hash(uint64_t k)
{
    uint64_t h = k >> IDMAP_RUN_BITS;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (size_t)((h << (IDMAP_RUN_BITS + 1)) | ((k & ((1u << IDMAP_RUN_BITS) - 1)) << 1));
}

#define TOMB 1u

static inline bool cell_empty(const cs_idcell *c)
{
    return c->key == CS_ID_NONE && c->hash != TOMB;
}

void cs__idmap_free(const cs_allocator *a, cs_idmap *m)
{
    cs__free(a, m->cell);
    memset(m, 0, sizeof *m);
}

uint32_t cs__idmap_get(const cs_idmap *m, uint64_t key)
{
    if (m->cap == 0 || key == CS_ID_NONE)
        return CS_IDMAP_MISSING;
    size_t mask = m->cap - 1;
    for (size_t i = idmap_hash(key) & mask;; i = (i + 1) & mask) {
        if (m->cell[i].key == key)
            return m->cell[i].val;
        if (cell_empty(&m->cell[i]))
            return CS_IDMAP_MISSING;
    }
}

uint32_t cs__idmap_probe(const cs_idmap *m, uint64_t key, size_t *cell)
{
    size_t mask = m->cap - 1, free_cell = SIZE_MAX;
    for (size_t i = idmap_hash(key) & mask;; i = (i + 1) & mask) {
        const cs_idcell *c = &m->cell[i];
        if (c->key == key)
            return c->val;
        if (c->key == CS_ID_NONE) {
            if (free_cell == SIZE_MAX)
                free_cell = i; /* the first tombstone, or this empty cell */
            if (c->hash != TOMB) {
                *cell = free_cell;
                return CS_IDMAP_MISSING;
            }
        }
    }
}

void cs__idmap_put_at(cs_idmap *m, size_t cell, uint64_t key, uint32_t val)
{
    cs_idcell *c = &m->cell[cell];
    if (c->hash == TOMB)
        m->tombs--;
    c->key = key;
    c->val = val;
    c->hash = (uint32_t)idmap_hash(key);
    m->len++;
}

void cs__idmap_put(cs_idmap *m, uint64_t key, uint32_t val)
{
    size_t cell;
    cs__idmap_probe(m, key, &cell);
    cs__idmap_put_at(m, cell, key, val);
}

bool cs__idmap_reserve(const cs_allocator *a, cs_idmap *m, size_t extra)
{
    size_t cap, need;
    if (!cs__add_size(m->len, extra, &need))
        return false;
    if (need <= SIZE_MAX / 4 && cs__idmap_has_room(m, extra))
        return true;
    /* Rebuild at a quarter full: tombstones get a long way to go again. */
    if (!cs__mul_size(need, IDMAP_LOAD_INV, &cap))
        return false;
    size_t newcap = 64;
    while (newcap < cap) {
        if (newcap > SIZE_MAX / 2)
            return false;
        newcap *= 2;
    }
    cs_idcell *cell = cs__alloc_array(a, newcap, sizeof *cell);
    if (cell == NULL)
        return false;
    for (size_t i = 0; i < newcap; i++) {
        cell[i].key = CS_ID_NONE;
        cell[i].hash = 0;
    }
    cs_idmap old = *m;
    m->cell = cell;
    m->cap = newcap;
    m->len = 0;
    m->tombs = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.cell[i].key != CS_ID_NONE)
            cs__idmap_put(m, old.cell[i].key, old.cell[i].val);
    cs__free(a, old.cell);
    return true;
}

void cs__idmap_del(cs_idmap *m, uint64_t key)
{
    size_t mask = m->cap - 1, i = idmap_hash(key) & mask;
    while (m->cell[i].key != key)
        i = (i + 1) & mask;
    m->cell[i].key = CS_ID_NONE;
    m->cell[i].hash = TOMB;
    m->len--;
    m->tombs++;
}
