/*
 * The hook between cs_fair and the queues that borrow it (never installed).
 *
 * A queue ordering tenants by fair share or DRF keeps its pending tenants in a
 * heap keyed by cs__fair_key(). When fair.c changes a tenant's key it calls
 * every attached observer with that tenant's index, and the queue re-sifts the
 * tenant: O(log T) per change. Changes that touch every key (capacity, usage
 * rescaling) call all_changed and the queue re-heapifies in O(T).
 * Observers are intrusive (embedded in the queue), so attaching cannot fail.
 */
#ifndef CLOUDSCHED_FAIR_INTERNAL_H
#define CLOUDSCHED_FAIR_INTERNAL_H

#include "cloudsched/fair.h"
#include "internal.h"

typedef struct cs__fair_observer cs__fair_observer;
struct cs__fair_observer {
    void (*tenant_changed)(cs__fair_observer *self, uint32_t index);
    void (*all_changed)(cs__fair_observer *self);
    cs__fair_observer *next;
};

/* What a tenant is ordered by (smaller first). */
typedef enum cs__fair_key_kind {
    CS__FAIR_KEY_USAGE = 0, /* usage / weight, in decay-free units: the order of
                               U_i / w_i, i.e. of decreasing fair-share factor */
    CS__FAIR_KEY_DRF = 1    /* dominant share / weight */
} cs__fair_key_kind;

void cs__fair_attach(cs_fair *f, cs__fair_observer *o);
void cs__fair_detach(cs_fair *f, cs__fair_observer *o);

double cs__fair_key(const cs_fair *f, uint32_t index, cs__fair_key_kind kind);
uint64_t cs__fair_tenant_id(const cs_fair *f, uint32_t index);

/* The index of a known tenant, or CS__NIL. */
uint32_t cs__fair_find(const cs_fair *f, uint64_t tenant);
/* The index the next created tenant will get (lets a caller reserve for it). */
uint32_t cs__fair_next_index(const cs_fair *f);

/* Find or create (default weight) a tenant and count one more pending task
 * for it, which keeps it from being removed. Fails only with CS_ERR_NOMEM
 * (or CS_ERR_OVERFLOW when the index space is exhausted), changing nothing. */
cs_status cs__fair_pin(cs_fair *f, uint64_t tenant, uint32_t *index);
void cs__fair_unpin(cs_fair *f, uint32_t index);

#endif /* CLOUDSCHED_FAIR_INTERNAL_H */
