#include "idmap.h"

static inline size_t id_hash(uint64_t k, size_t mask)
{
    /* A strong 64-bit mix (splitmix64 finaliser): sequential ids spread. */
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebULL;
    k ^= k >> 31;
    return (size_t)k & mask;
}

void cs__idmap_free(const cs_allocator *a, cs_idmap *m)
{
    cs__free(a, m->keys);
    cs__free(a, m->vals);
    memset(m, 0, sizeof *m);
}

static void raw_put(uint64_t *keys, uint32_t *vals, size_t mask, uint64_t key,
                    uint32_t val)
{
    size_t i = id_hash(key, mask);
    while (keys[i] != CS_ID_NONE && keys[i] != key)
        i = (i + 1) & mask;
    keys[i] = key;
    vals[i] = val;
}

bool cs__idmap_reserve(const cs_allocator *a, cs_idmap *m, size_t extra)
{
    size_t need;
    if (!cs__add_size(m->len, extra, &need))
        return false;
    /* Load factor at most 1/2 keeps linear probing short. */
    if (need <= m->cap / 2)
        return true;
    size_t cap = m->cap ? m->cap : 16;
    while (cap / 2 < need) {
        if (cap > SIZE_MAX / 4)
            return false;
        cap *= 2;
    }
    uint64_t *keys = cs__alloc_array(a, cap, sizeof *keys);
    uint32_t *vals = cs__alloc_array(a, cap, sizeof *vals);
    if (keys == NULL || vals == NULL) {
        cs__free(a, keys);
        cs__free(a, vals);
        return false;
    }
    for (size_t i = 0; i < cap; i++)
        keys[i] = CS_ID_NONE;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != CS_ID_NONE)
            raw_put(keys, vals, cap - 1, m->keys[i], m->vals[i]);
    cs__free(a, m->keys);
    cs__free(a, m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return true;
}

uint32_t cs__idmap_get(const cs_idmap *m, uint64_t key)
{
    if (m->cap == 0 || key == CS_ID_NONE)
        return CS_IDMAP_MISSING;
    size_t mask = m->cap - 1;
    for (size_t i = id_hash(key, mask);; i = (i + 1) & mask) {
        if (m->keys[i] == key)
            return m->vals[i];
        if (m->keys[i] == CS_ID_NONE)
            return CS_IDMAP_MISSING;
    }
}

void cs__idmap_put(cs_idmap *m, uint64_t key, uint32_t val)
{
    size_t mask = m->cap - 1;
    size_t i = id_hash(key, mask);
    while (m->keys[i] != CS_ID_NONE && m->keys[i] != key)
        i = (i + 1) & mask;
    if (m->keys[i] == CS_ID_NONE)
        m->len++;
    m->keys[i] = key;
    m->vals[i] = val;
}

void cs__idmap_del(cs_idmap *m, uint64_t key)
{
    if (m->cap == 0)
        return;
    size_t mask = m->cap - 1;
    size_t i = id_hash(key, mask);
    while (m->keys[i] != key) {
        if (m->keys[i] == CS_ID_NONE)
            return;
        i = (i + 1) & mask;
    }
    /* Backward-shift: pull later members of the cluster into the hole when
     * their home bucket does not lie strictly between the hole and them. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (m->keys[j] == CS_ID_NONE)
            break;
        size_t home = id_hash(m->keys[j], mask);
        bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (between)
            continue;
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        i = j;
    }
    m->keys[i] = CS_ID_NONE;
    m->len--;
}
