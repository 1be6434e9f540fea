/* Resource pools: unit tests per function with hand-computed values,
 * strong-guarantee loops under allocation failure, and a randomised
 * model-based test against a reference model written here (linear scans
 * over plain arrays). */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudsched/cloudsched.h"
#include "pool_internal.h" /* cs__pool_visit_fitting */
#include "testutil.h"

#define P3 3
static const char *const names3[P3] = {"cpu_milli", "mem_mib", "gpu"};

static cs_pool *make_pool(void)
{
    cs_pool *pool = NULL;
    ck_assert_int_eq(cs_pool_create(P3, names3, NULL, NULL, &pool), CS_OK);
    return pool;
}

static void add(cs_pool *pool, uint64_t id, int64_t cpu, int64_t mem, int64_t gpu,
                uint32_t partition)
{
    int64_t cap[P3] = {cpu, mem, gpu};
    cs_node_spec spec;
    ck_assert_int_eq(cs_node_spec_init(&spec, sizeof spec), CS_OK);
    spec.capacity = cap;
    spec.num_resources = P3;
    spec.partition = partition;
    ck_assert_int_eq(cs_pool_add_node(pool, id, &spec, NULL), CS_OK);
}

static uint64_t alloc3(cs_pool *pool, uint64_t node, int64_t cpu, int64_t mem, int64_t gpu)
{
    int64_t d[P3] = {cpu, mem, gpu};
    uint64_t a = CS_ID_NONE;
    ck_assert_int_eq(cs_pool_allocate(pool, node, d, 0, &a), CS_OK);
    return a;
}

static cs_status fit3(const cs_pool *pool, cs_fit how, int64_t cpu, int64_t mem, int64_t gpu,
                      uint32_t partition, uint64_t *node)
{
    int64_t d[P3] = {cpu, mem, gpu};
    cs_fit_query q;
    ck_assert_int_eq(cs_fit_query_init(&q, sizeof q), CS_OK);
    q.demand = d;
    q.partition = partition;
    return cs_pool_fit(pool, how, &q, node);
}

/* ---- observable-state snapshot, for the strong guarantee ------------ */

typedef struct snapshot {
    char text[1 << 16];
    size_t len;
} snapshot;

static void snap_printf(snapshot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void snap_printf(snapshot *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->text + s->len, sizeof s->text - s->len, fmt, ap);
    va_end(ap);
    ck_assert(n >= 0 && (size_t)n < sizeof s->text - s->len);
    s->len += (size_t)n;
}

/* Everything a caller can observe through the public API, as text. */
static void take_snapshot(const cs_pool *pool, snapshot *s)
{
    s->len = 0;
    size_t p = cs_pool_num_resources(pool), n;
    uint64_t ids[512];
    ck_assert_int_eq(cs_pool_nodes(pool, ids, 512, &n), CS_OK);
    snap_printf(s, "nodes=%zu allocs=%zu\n", n, cs_pool_num_allocations(pool));
    for (size_t i = 0; i < n; i++) {
        cs_node_info info = {.size = sizeof info};
        int64_t c[CS_POOL_MAX_RESOURCES], u[CS_POOL_MAX_RESOURCES], f[CS_POOL_MAX_RESOURCES];
        ck_assert_int_eq(cs_pool_node_info(pool, ids[i], &info, c, u, f), CS_OK);
        snap_printf(s, "node %llu st=%d z=%u r=%u part=%u nl=%zu na=%zu:",
                    (unsigned long long)ids[i], info.state, info.zone, info.rack, info.partition,
                    info.num_labels, info.num_allocations);
        for (size_t k = 0; k < p; k++)
            snap_printf(s, " %lld/%lld/%lld", (long long)c[k], (long long)u[k], (long long)f[k]);
        for (size_t l = 0; l < info.num_labels; l++) {
            cs_label lab;
            ck_assert_int_eq(cs_pool_node_label(pool, ids[i], l, &lab), CS_OK);
            snap_printf(s, " %s=%s", lab.key, lab.value);
        }
        cs_allocation_info al[64];
        size_t na;
        ck_assert_int_eq(cs_pool_node_allocations(pool, ids[i], al, 64, &na), CS_OK);
        for (size_t j = 0; j < na; j++) {
            int64_t d[CS_POOL_MAX_RESOURCES];
            ck_assert_int_eq(cs_pool_allocation(pool, al[j].id, NULL, d), CS_OK);
            snap_printf(s, " [a%llu o%llu", (unsigned long long)al[j].id,
                        (unsigned long long)al[j].owner);
            for (size_t k = 0; k < p; k++)
                snap_printf(s, " %lld", (long long)d[k]);
            snap_printf(s, "]");
        }
        snap_printf(s, "\n");
    }
    int64_t c[CS_POOL_MAX_RESOURCES], u[CS_POOL_MAX_RESOURCES], f[CS_POOL_MAX_RESOURCES];
    ck_assert_int_eq(cs_pool_totals(pool, CS_PARTITION_ANY, c, u, f), CS_OK);
    for (size_t k = 0; k < p; k++)
        snap_printf(s, "tot %lld %lld %lld\n", (long long)c[k], (long long)u[k], (long long)f[k]);
}

static void assert_unchanged(const cs_pool *pool, const snapshot *before)
{
    static snapshot after;
    take_snapshot(pool, &after);
    ck_assert_uint_eq(after.len, before->len);
    ck_assert(memcmp(after.text, before->text, before->len) == 0);
    ck_assert_int_eq(cs_pool_check(pool), CS_OK);
}

/* ---- unit tests ------------------------------------------------------ */

START_TEST(create_and_names)
{
    cs_pool *pool = make_pool();
    ck_assert_uint_eq(cs_pool_num_resources(pool), 3);
    ck_assert_str_eq(cs_pool_resource_name(pool, 1), "mem_mib");
    ck_assert_ptr_null(cs_pool_resource_name(pool, 3));
    size_t k;
    ck_assert_int_eq(cs_pool_resource_index(pool, "gpu", &k), CS_OK);
    ck_assert_uint_eq(k, 2);
    ck_assert_int_eq(cs_pool_resource_index(pool, "disk", &k), CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_pool_check(pool), CS_OK);
    cs_pool_destroy(pool);
    cs_pool_destroy(NULL);

    cs_pool *q = NULL;
    ck_assert_int_eq(cs_pool_create(2, NULL, NULL, NULL, &q), CS_OK);
    ck_assert_str_eq(cs_pool_resource_name(q, 0), "r0");
    ck_assert_str_eq(cs_pool_resource_name(q, 1), "r1");
    cs_pool_destroy(q);
    ck_assert_int_eq(cs_pool_create(12, NULL, NULL, NULL, &q), CS_OK);
    ck_assert_str_eq(cs_pool_resource_name(q, 11), "r11");
    cs_pool_destroy(q);

    const char *dup[2] = {"a", "a"}, *empty[2] = {"a", ""};
    ck_assert_int_eq(cs_pool_create(2, dup, NULL, NULL, &q), CS_ERR_INVALID);
    ck_assert_int_eq(cs_pool_create(2, empty, NULL, NULL, &q), CS_ERR_INVALID);
    ck_assert_int_eq(cs_pool_create(0, NULL, NULL, NULL, &q), CS_ERR_INVALID);
    ck_assert_int_eq(cs_pool_create(CS_POOL_MAX_RESOURCES + 1, NULL, NULL, NULL, &q),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs_pool_create(2, NULL, NULL, NULL, NULL), CS_ERR_INVALID);
    cs_allocator bad = {NULL, NULL, NULL, NULL};
    ck_assert_int_eq(cs_pool_create(2, NULL, NULL, &bad, &q), CS_ERR_INVALID);
    cs_pool_options o;
    ck_assert_int_eq(cs_pool_options_init(&o, sizeof o), CS_OK);
    double w[2] = {0.0, 0.0};
    o.fit_weights = w;
    ck_assert_int_eq(cs_pool_create(2, NULL, &o, NULL, &q), CS_ERR_INVALID);
    w[1] = (double)NAN;
    ck_assert_int_eq(cs_pool_create(2, NULL, &o, NULL, &q), CS_ERR_INVALID);
    w[1] = -1;
    ck_assert_int_eq(cs_pool_create(2, NULL, &o, NULL, &q), CS_ERR_INVALID);
    w[1] = 1;
    ck_assert_int_eq(cs_pool_create(2, NULL, &o, NULL, &q), CS_OK);
    cs_pool_destroy(q);
}
END_TEST

START_TEST(add_nodes_and_ids)
{
    cs_pool *pool = make_pool();
    int64_t cap[P3] = {4000, 8192, 1};
    cs_node_spec spec;
    cs_node_spec_init(&spec, sizeof spec);
    spec.capacity = cap;
    spec.num_resources = P3;
    uint64_t id;
    ck_assert_int_eq(cs_pool_add_node(pool, CS_ID_NONE, &spec, &id), CS_OK);
    ck_assert_uint_eq(id, 0);
    ck_assert_int_eq(cs_pool_add_node(pool, 10, &spec, &id), CS_OK);
    ck_assert_uint_eq(id, 10);
    /* Automatic ids continue after the largest ever used. */
    ck_assert_int_eq(cs_pool_add_node(pool, CS_ID_NONE, &spec, &id), CS_OK);
    ck_assert_uint_eq(id, 11);
    ck_assert_int_eq(cs_pool_add_node(pool, 10, &spec, &id), CS_ERR_EXISTS);

    snapshot before;
    take_snapshot(pool, &before);
    spec.num_resources = 2;
    ck_assert_int_eq(cs_pool_add_node(pool, 20, &spec, NULL), CS_ERR_DIMENSION);
    spec.num_resources = P3;
    int64_t neg[P3] = {1, -1, 0};
    spec.capacity = neg;
    ck_assert_int_eq(cs_pool_add_node(pool, 20, &spec, NULL), CS_ERR_INVALID);
    spec.capacity = NULL;
    ck_assert_int_eq(cs_pool_add_node(pool, 20, &spec, NULL), CS_ERR_INVALID);
    spec.capacity = cap;
    spec.partition = CS_PARTITION_ANY;
    ck_assert_int_eq(cs_pool_add_node(pool, 20, &spec, NULL), CS_ERR_INVALID);
    spec.partition = 0;
    spec.state = (cs_node_state)7;
    ck_assert_int_eq(cs_pool_add_node(pool, 20, &spec, NULL), CS_ERR_INVALID);
    spec.state = CS_NODE_UP;
    double cost[P3] = {0.1, (double)NAN, 0};
    spec.unit_cost = cost;
    ck_assert_int_eq(cs_pool_add_node(pool, 20, &spec, NULL), CS_ERR_INVALID);
    spec.unit_cost = NULL;
    cs_label dup[2] = {{"zone", "a"}, {"zone", "b"}};
    spec.labels = dup;
    spec.num_labels = 2;
    ck_assert_int_eq(cs_pool_add_node(pool, 20, &spec, NULL), CS_ERR_INVALID);
    cs_label nullval[1] = {{"zone", NULL}};
    spec.labels = nullval;
    spec.num_labels = 1;
    ck_assert_int_eq(cs_pool_add_node(pool, 20, &spec, NULL), CS_ERR_INVALID);
    spec.labels = NULL;
    ck_assert_int_eq(cs_pool_add_node(pool, 20, &spec, NULL), CS_ERR_INVALID);
    spec.num_labels = 0;
    ck_assert_int_eq(cs_pool_add_node(NULL, 20, &spec, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_pool_add_node(pool, 20, NULL, NULL), CS_ERR_INVALID);
    /* Totals that would overflow int64 are refused. */
    int64_t huge[P3] = {INT64_MAX, 0, 0};
    spec.capacity = huge;
    ck_assert_int_eq(cs_pool_add_node(pool, 20, &spec, NULL), CS_ERR_OVERFLOW);
    assert_unchanged(pool, &before);
    cs_pool_destroy(pool);
}
END_TEST

START_TEST(auto_id_overflow)
{
    cs_pool *pool = make_pool();
    add(pool, UINT64_MAX - 1, 1, 1, 1, 0);
    int64_t cap[P3] = {1, 1, 1};
    cs_node_spec spec;
    cs_node_spec_init(&spec, sizeof spec);
    spec.capacity = cap;
    spec.num_resources = P3;
    ck_assert_int_eq(cs_pool_add_node(pool, CS_ID_NONE, &spec, NULL), CS_ERR_OVERFLOW);
    ck_assert_int_eq(cs_pool_add_node(pool, 5, &spec, NULL), CS_OK);
    ck_assert_int_eq(cs_pool_check(pool), CS_OK);
    cs_pool_destroy(pool);
}
END_TEST

START_TEST(labels_and_topology)
{
    cs_pool *pool = make_pool();
    int64_t cap[P3] = {4000, 8192, 1};
    cs_label labels[3] = {{"gpu_model", "A100"}, {"arch", "x86_64"}, {"ssd", "yes"}};
    cs_node_spec spec;
    cs_node_spec_init(&spec, sizeof spec);
    spec.capacity = cap;
    spec.num_resources = P3;
    spec.labels = labels;
    spec.num_labels = 3;
    spec.zone = 2;
    spec.rack = 7;
    spec.partition = 3;
    ck_assert_int_eq(cs_pool_add_node(pool, 1, &spec, NULL), CS_OK);
    cs_node_info info = {.size = sizeof info};
    ck_assert_int_eq(cs_pool_node_info(pool, 1, &info, NULL, NULL, NULL), CS_OK);
    ck_assert_uint_eq(info.zone, 2);
    ck_assert_uint_eq(info.rack, 7);
    ck_assert_uint_eq(info.partition, 3);
    ck_assert_uint_eq(info.num_labels, 3);
    /* Labels come back in key order: arch, gpu_model, ssd. */
    cs_label l;
    ck_assert_int_eq(cs_pool_node_label(pool, 1, 0, &l), CS_OK);
    ck_assert_str_eq(l.key, "arch");
    ck_assert_int_eq(cs_pool_node_label(pool, 1, 2, &l), CS_OK);
    ck_assert_str_eq(l.key, "ssd");
    ck_assert_int_eq(cs_pool_node_label(pool, 1, 3, &l), CS_ERR_NOT_FOUND);
    const char *v;
    ck_assert_int_eq(cs_pool_node_label_value(pool, 1, "gpu_model", &v), CS_OK);
    ck_assert_str_eq(v, "A100");
    ck_assert_int_eq(cs_pool_node_label_value(pool, 1, "nvlink", &v), CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_pool_node_label_value(pool, 9, "arch", &v), CS_ERR_NOT_FOUND);

    /* The caller's strings were copied. */
    char key[8] = "zone";
    char val[8] = "eu";
    cs_label mine[1] = {{key, val}};
    spec.labels = mine;
    spec.num_labels = 1;
    ck_assert_int_eq(cs_pool_add_node(pool, 2, &spec, NULL), CS_OK);
    strcpy(val, "us");
    ck_assert_int_eq(cs_pool_node_label_value(pool, 2, "zone", &v), CS_OK);
    ck_assert_str_eq(v, "eu");

    /* Label constraints in fit queries. */
    int64_t d[P3] = {1000, 1024, 1};
    cs_fit_query q;
    cs_fit_query_init(&q, sizeof q);
    q.demand = d;
    cs_label want[1] = {{"gpu_model", "A100"}};
    q.labels = want;
    q.num_labels = 1;
    uint64_t node;
    ck_assert_int_eq(cs_pool_fit(pool, CS_FIT_FIRST, &q, &node), CS_OK);
    ck_assert_uint_eq(node, 1);
    want[0].value = "H100";
    ck_assert_int_eq(cs_pool_fit(pool, CS_FIT_FIRST, &q, &node), CS_ERR_NO_FIT);
    want[0].key = "zone";
    want[0].value = NULL; /* key present */
    ck_assert_int_eq(cs_pool_fit(pool, CS_FIT_BEST, &q, &node), CS_OK);
    ck_assert_uint_eq(node, 2);
    want[0].key = "";
    ck_assert_int_eq(cs_pool_fit(pool, CS_FIT_BEST, &q, &node), CS_ERR_INVALID);
    cs_pool_destroy(pool);
}
END_TEST

START_TEST(allocate_release_resize)
{
    cs_pool *pool = make_pool();
    add(pool, 1, 4000, 8192, 2, 0);
    uint64_t a1 = alloc3(pool, 1, 1500, 4096, 1);
    uint64_t a2 = alloc3(pool, 1, 2000, 1024, 0);
    ck_assert_uint_ne(a1, a2);
    int64_t c[P3], u[P3], f[P3];
    cs_node_info info = {.size = sizeof info};
    ck_assert_int_eq(cs_pool_node_info(pool, 1, &info, c, u, f), CS_OK);
    /* used = 1500+2000, 4096+1024, 1+0; free = capacity - used */
    ck_assert_int_eq(u[0], 3500);
    ck_assert_int_eq(u[1], 5120);
    ck_assert_int_eq(u[2], 1);
    ck_assert_int_eq(f[0], 500);
    ck_assert_int_eq(f[1], 3072);
    ck_assert_int_eq(f[2], 1);
    ck_assert_uint_eq(info.num_allocations, 2);

    snapshot before;
    take_snapshot(pool, &before);
    int64_t d[P3] = {501, 0, 0};
    uint64_t a;
    ck_assert_int_eq(cs_pool_allocate(pool, 1, d, 0, &a), CS_ERR_NO_FIT);
    d[0] = -1;
    ck_assert_int_eq(cs_pool_allocate(pool, 1, d, 0, &a), CS_ERR_INVALID);
    d[0] = 1;
    ck_assert_int_eq(cs_pool_allocate(pool, 99, d, 0, &a), CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_pool_allocate(pool, 1, NULL, 0, &a), CS_ERR_INVALID);
    ck_assert_int_eq(cs_pool_allocate(pool, 1, d, 0, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_pool_release(pool, 12345), CS_ERR_NOT_FOUND);
    int64_t grow[P3] = {2001, 1024, 0};
    ck_assert_int_eq(cs_pool_resize(pool, a1, grow), CS_ERR_NO_FIT); /* needs 501 more cpu */
    ck_assert_int_eq(cs_pool_resize(pool, 777, grow), CS_ERR_NOT_FOUND);
    assert_unchanged(pool, &before);

    /* Resize a1 from (1500,4096,1) to (2000,4096,2): uses exactly the rest of cpu and gpu. */
    int64_t r[P3] = {2000, 4096, 2};
    ck_assert_int_eq(cs_pool_resize(pool, a1, r), CS_OK);
    ck_assert_int_eq(cs_pool_node_info(pool, 1, &info, c, u, f), CS_OK);
    ck_assert_int_eq(f[0], 0);
    ck_assert_int_eq(f[2], 0);
    cs_allocation_info ai;
    int64_t ad[P3];
    ck_assert_int_eq(cs_pool_allocation(pool, a1, &ai, ad), CS_OK);
    ck_assert_uint_eq(ai.node, 1);
    ck_assert_int_eq(ad[2], 2);

    /* Draining: no new allocation, no growth, but shrink and release work. */
    ck_assert_int_eq(cs_pool_set_node_state(pool, 1, CS_NODE_DRAINING), CS_OK);
    int64_t zero[P3] = {0, 0, 0};
    ck_assert_int_eq(cs_pool_allocate(pool, 1, zero, 0, &a), CS_ERR_STATE);
    int64_t shrink[P3] = {1000, 4096, 1};
    ck_assert_int_eq(cs_pool_resize(pool, a1, shrink), CS_OK);
    ck_assert_int_eq(cs_pool_resize(pool, a1, r), CS_ERR_STATE);
    ck_assert_int_eq(cs_pool_release(pool, a2), CS_OK);
    ck_assert_int_eq(cs_pool_release(pool, a2), CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_pool_node_info(pool, 1, &info, c, u, f), CS_OK);
    ck_assert_int_eq(u[0], 1000);
    ck_assert_int_eq(u[1], 4096);
    ck_assert_int_eq(u[2], 1);
    ck_assert_uint_eq(cs_pool_num_allocations(pool), 1);
    ck_assert_int_eq(cs_pool_check(pool), CS_OK);
    cs_pool_destroy(pool);
}
END_TEST

START_TEST(remove_node_busy_and_force)
{
    cs_pool *pool = make_pool();
    add(pool, 1, 4000, 8192, 2, 0);
    add(pool, 2, 4000, 8192, 2, 0);
    uint64_t a1 = alloc3(pool, 1, 1000, 1000, 1);
    int64_t d[P3] = {500, 0, 0};
    uint64_t a2;
    ck_assert_int_eq(cs_pool_allocate(pool, 1, d, 77, &a2), CS_OK);
    snapshot before;
    take_snapshot(pool, &before);
    ck_assert_int_eq(cs_pool_remove_node(pool, 1, 0, NULL, 0, NULL), CS_ERR_BUSY);
    cs_allocation_info rel[2];
    size_t n = 0;
    ck_assert_int_eq(cs_pool_remove_node(pool, 1, CS_REMOVE_FORCE, rel, 1, &n),
                     CS_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(cs_pool_remove_node(pool, 1, CS_REMOVE_FORCE, rel, 2, NULL), CS_ERR_INVALID);
    ck_assert_int_eq(cs_pool_remove_node(pool, 1, 4, rel, 2, &n), CS_ERR_INVALID);
    ck_assert_int_eq(cs_pool_remove_node(pool, 3, 0, NULL, 0, NULL), CS_ERR_NOT_FOUND);
    assert_unchanged(pool, &before);
    ck_assert_int_eq(cs_pool_remove_node(pool, 1, CS_REMOVE_FORCE, rel, 2, &n), CS_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(rel[0].id, a1);
    ck_assert_uint_eq(rel[1].id, a2);
    ck_assert_uint_eq(rel[1].owner, 77);
    ck_assert_uint_eq(rel[1].node, 1);
    ck_assert_uint_eq(cs_pool_num_nodes(pool), 1);
    ck_assert_uint_eq(cs_pool_num_allocations(pool), 0);
    ck_assert_int_eq(cs_pool_release(pool, a1), CS_ERR_NOT_FOUND);
    /* Pool totals now reflect node 2 only. */
    int64_t c[P3], u[P3];
    cs_pool_totals(pool, CS_PARTITION_ANY, c, u, NULL);
    ck_assert_int_eq(c[0], 4000);
    ck_assert_int_eq(u[0], 0);
    /* An empty node leaves without force; its id may be reused. */
    ck_assert_int_eq(cs_pool_remove_node(pool, 2, 0, NULL, 0, NULL), CS_OK);
    ck_assert_uint_eq(cs_pool_num_nodes(pool), 0);
    add(pool, 1, 10, 10, 0, 0);
    ck_assert_int_eq(cs_pool_check(pool), CS_OK);
    cs_pool_destroy(pool);
}
END_TEST

START_TEST(fit_by_hand)
{
    /* Three nodes (cpu, mem, gpu):
     *   10: cap (8000, 16000, 0)   free after alloc (2000, 4000, 0)
     *   20: cap (8000, 16000, 0)   free (8000, 16000, 0)
     *   30: cap (4000,  8000, 0)   free (4000, 8000, 0)
     * Auto weights = 1/max cap = 1/8000, 1/16000, gpu never > 0 -> weight 0.
     * S(10) = 2000/8000 + 4000/16000 = 0.5
     * S(20) = 1 + 1 = 2
     * S(30) = 0.5 + 0.5 = 1
     * Demand (1000, 2000, 0): all fit. First = 10, best = 10 (S 0.5),
     * worst = 20 (S 2). Demand (3000, 1000, 0): 10 cannot (cpu 2000);
     * first = 20, best = 30 (S 1 < 2), worst = 20. */
    cs_pool *pool = make_pool();
    add(pool, 30, 4000, 8000, 0, 0);
    add(pool, 10, 8000, 16000, 0, 0);
    add(pool, 20, 8000, 16000, 0, 0);
    alloc3(pool, 10, 6000, 12000, 0);
    uint64_t n;
    ck_assert_int_eq(fit3(pool, CS_FIT_FIRST, 1000, 2000, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 10);
    ck_assert_int_eq(fit3(pool, CS_FIT_BEST, 1000, 2000, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 10);
    ck_assert_int_eq(fit3(pool, CS_FIT_WORST, 1000, 2000, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 20);
    ck_assert_int_eq(fit3(pool, CS_FIT_FIRST, 3000, 1000, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 20);
    ck_assert_int_eq(fit3(pool, CS_FIT_BEST, 3000, 1000, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 30);
    ck_assert_int_eq(fit3(pool, CS_FIT_WORST, 3000, 1000, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 20);
    /* Nothing holds a GPU. */
    ck_assert_int_eq(fit3(pool, CS_FIT_FIRST, 0, 0, 1, CS_PARTITION_ANY, &n), CS_ERR_NO_FIT);
    /* Draining 20 takes it out of every query. */
    ck_assert_int_eq(cs_pool_set_node_state(pool, 20, CS_NODE_DRAINING), CS_OK);
    ck_assert_int_eq(fit3(pool, CS_FIT_WORST, 3000, 1000, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 30);
    ck_assert_int_eq(fit3(pool, CS_FIT_FIRST, 5000, 1000, 0, CS_PARTITION_ANY, &n), CS_ERR_NO_FIT);
    ck_assert_int_eq(cs_pool_set_node_state(pool, 20, CS_NODE_UP), CS_OK);
    ck_assert_int_eq(fit3(pool, CS_FIT_FIRST, 5000, 1000, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 20);

    /* Worst-fit ties go to the smaller id: 40 and 50 identical and empty,
     * S = 2 like node 20; the smallest id among S = 2 is 20. */
    add(pool, 50, 8000, 16000, 0, 0);
    add(pool, 40, 8000, 16000, 0, 0);
    ck_assert_int_eq(fit3(pool, CS_FIT_WORST, 1, 1, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 20);
    alloc3(pool, 20, 1, 0, 0);
    ck_assert_int_eq(fit3(pool, CS_FIT_WORST, 1, 1, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 40);

    /* Exclusions (a gang's previous replicas). */
    uint64_t ex[2] = {40, 50};
    int64_t d[P3] = {1, 1, 0};
    cs_fit_query q;
    cs_fit_query_init(&q, sizeof q);
    q.demand = d;
    q.exclude = ex;
    q.num_exclude = 2;
    ck_assert_int_eq(cs_pool_fit(pool, CS_FIT_WORST, &q, &n), CS_OK);
    ck_assert_uint_eq(n, 20);
    q.num_exclude = 3;
    q.exclude = NULL;
    ck_assert_int_eq(cs_pool_fit(pool, CS_FIT_WORST, &q, &n), CS_ERR_INVALID);
    ck_assert_int_eq(cs_pool_fit(pool, (cs_fit)5, &q, &n), CS_ERR_INVALID);
    ck_assert_int_eq(cs_pool_check(pool), CS_OK);
    cs_pool_destroy(pool);
}
END_TEST

START_TEST(partitions_and_totals)
{
    /* Partition 1: nodes 1, 2; partition 2: node 3. */
    cs_pool *pool = make_pool();
    add(pool, 1, 1000, 100, 1, 1);
    add(pool, 2, 2000, 200, 0, 1);
    add(pool, 3, 4000, 400, 4, 2);
    alloc3(pool, 2, 500, 50, 0);
    alloc3(pool, 3, 1000, 100, 2);
    uint64_t n;
    /* Partition 2 only has node 3. */
    ck_assert_int_eq(fit3(pool, CS_FIT_FIRST, 100, 10, 0, 2, &n), CS_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(fit3(pool, CS_FIT_WORST, 100, 10, 0, 1, &n), CS_OK);
    /* S(1) = S(2) = 0.75 (worked out below): the tie goes to id 1. */
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(fit3(pool, CS_FIT_FIRST, 100, 10, 3, 1, &n), CS_ERR_NO_FIT);
    ck_assert_int_eq(fit3(pool, CS_FIT_FIRST, 100, 10, 0, 9, &n), CS_ERR_NO_FIT);
    /* Across partitions, first fit goes in (partition, id) order. */
    ck_assert_int_eq(fit3(pool, CS_FIT_FIRST, 1200, 10, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 2);
    /* Best fit across partitions compares S: weights 1/4000, 1/400, 1/4.
     * S(1) = 1000/4000 + 100/400 + 1/4 = 0.75
     * S(2) = 1500/4000 + 150/400 + 0 = 0.75
     * S(3) = 3000/4000 + 300/400 + 2/4 = 2.0
     * best for (100, 10, 0): tie S = 0.75 -> smaller id 1. worst: 3. */
    ck_assert_int_eq(fit3(pool, CS_FIT_BEST, 100, 10, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(fit3(pool, CS_FIT_WORST, 100, 10, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 3);

    int64_t c[P3], u[P3], f[P3];
    ck_assert_int_eq(cs_pool_totals(pool, 1, c, u, f), CS_OK);
    ck_assert_int_eq(c[0], 3000);
    ck_assert_int_eq(u[0], 500);
    ck_assert_int_eq(f[0], 2500);
    ck_assert_int_eq(cs_pool_totals(pool, CS_PARTITION_ANY, c, u, f), CS_OK);
    ck_assert_int_eq(c[2], 5);
    ck_assert_int_eq(u[2], 2);
    ck_assert_int_eq(cs_pool_totals(pool, 42, c, u, f), CS_OK);
    ck_assert_int_eq(c[0], 0);
    /* Utilisation over up nodes: cpu 1500/7000, gpu 2/5. Down node 3
     * leaves: cpu 500/3000, gpu 0/1; its used stays in `used`. */
    double util[P3];
    ck_assert_int_eq(cs_pool_utilization(pool, CS_PARTITION_ANY, util), CS_OK);
    ck_assert_double_eq_tol(util[0], 1500.0 / 7000.0, 1e-15);
    ck_assert_double_eq_tol(util[2], 2.0 / 5.0, 1e-15);
    ck_assert_int_eq(cs_pool_set_node_state(pool, 3, CS_NODE_DOWN), CS_OK);
    ck_assert_int_eq(cs_pool_utilization(pool, CS_PARTITION_ANY, util), CS_OK);
    ck_assert_double_eq_tol(util[0], 500.0 / 3000.0, 1e-15);
    ck_assert_double_eq_tol(util[2], 0.0, 1e-15);
    ck_assert_int_eq(cs_pool_totals(pool, CS_PARTITION_ANY, c, u, f), CS_OK);
    ck_assert_int_eq(u[0], 1500);
    ck_assert_int_eq(c[0], 3000);
    ck_assert_int_eq(cs_pool_check(pool), CS_OK);
    cs_pool_destroy(pool);
}
END_TEST

START_TEST(cost_and_capacity_change)
{
    cs_pool *pool = make_pool();
    int64_t cap[P3] = {4000, 8000, 2};
    double cost[P3] = {0.5e-3, 0.1e-3, 2.0};
    cs_node_spec spec;
    cs_node_spec_init(&spec, sizeof spec);
    spec.capacity = cap;
    spec.num_resources = P3;
    spec.unit_cost = cost;
    ck_assert_int_eq(cs_pool_add_node(pool, 1, &spec, NULL), CS_OK);
    spec.partition = 5;
    ck_assert_int_eq(cs_pool_add_node(pool, 2, &spec, NULL), CS_OK);
    alloc3(pool, 1, 2000, 1000, 1);
    alloc3(pool, 2, 1000, 0, 0);
    /* node 1: 2000*0.5e-3 + 1000*0.1e-3 + 1*2 = 1 + 0.1 + 2 = 3.1; node 2: 0.5. */
    double c;
    ck_assert_int_eq(cs_pool_cost(pool, CS_PARTITION_ANY, &c), CS_OK);
    ck_assert_double_eq_tol(c, 3.6, 1e-12);
    ck_assert_int_eq(cs_pool_cost(pool, 5, &c), CS_OK);
    ck_assert_double_eq_tol(c, 0.5, 1e-12);

    /* A GPU fails: capacity 2 -> 1 with 1 in use is fine, 0 is not. */
    int64_t less[P3] = {4000, 8000, 1};
    ck_assert_int_eq(cs_pool_set_node_capacity(pool, 1, less), CS_OK);
    int64_t zero_gpu[P3] = {4000, 8000, 0};
    ck_assert_int_eq(cs_pool_set_node_capacity(pool, 1, zero_gpu), CS_ERR_NO_FIT);
    int64_t f[P3];
    cs_node_info info = {.size = sizeof info};
    cs_pool_node_info(pool, 1, &info, NULL, NULL, f);
    ck_assert_int_eq(f[2], 0);
    ck_assert_int_eq(cs_pool_set_node_capacity(pool, 9, less), CS_ERR_NOT_FOUND);
    int64_t neg[P3] = {-1, 0, 0};
    ck_assert_int_eq(cs_pool_set_node_capacity(pool, 1, neg), CS_ERR_INVALID);
    int64_t big[P3] = {INT64_MAX, 8000, 1};
    ck_assert_int_eq(cs_pool_set_node_capacity(pool, 1, big), CS_ERR_OVERFLOW);
    ck_assert_int_eq(cs_pool_check(pool), CS_OK);
    cs_pool_destroy(pool);
}
END_TEST

START_TEST(listing_and_buffers)
{
    cs_pool *pool = make_pool();
    uint64_t order[5] = {50, 3, 17, 4, 1000};
    for (int i = 0; i < 5; i++)
        add(pool, order[i], 10, 10, 0, (uint32_t)(i % 2));
    uint64_t ids[5];
    size_t n;
    ck_assert_int_eq(cs_pool_nodes(pool, ids, 4, &n), CS_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(cs_pool_nodes(pool, ids, 5, &n), CS_OK);
    uint64_t sorted[5] = {3, 4, 17, 50, 1000};
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(ids[i], sorted[i]);
    ck_assert_int_eq(cs_pool_nodes(pool, NULL, 0, &n), CS_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(cs_pool_nodes(pool, NULL, 3, &n), CS_ERR_INVALID);
    uint64_t a = alloc3(pool, 17, 1, 1, 0);
    alloc3(pool, 17, 1, 1, 0);
    cs_allocation_info al[2];
    ck_assert_int_eq(cs_pool_node_allocations(pool, 17, al, 1, &n), CS_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(cs_pool_node_allocations(pool, 17, al, 2, &n), CS_OK);
    ck_assert_uint_eq(al[0].id, a);
    ck_assert_int_eq(cs_pool_node_allocations(pool, 18, al, 2, &n), CS_ERR_NOT_FOUND);
    cs_node_info info = {.size = 3};
    ck_assert_int_eq(cs_pool_node_info(pool, 17, &info, NULL, NULL, NULL), CS_ERR_INVALID);
    cs_pool_destroy(pool);
}
END_TEST

START_TEST(explicit_weights)
{
    /* Weights (1, 0, 0): best fit by free cpu alone. Node 1 free cpu 3000,
     * node 2 free cpu 2000 but more memory: best = 2, worst = 1. */
    double w[P3] = {1.0, 0.0, 0.0};
    cs_pool_options o;
    cs_pool_options_init(&o, sizeof o);
    o.fit_weights = w;
    cs_pool *pool;
    ck_assert_int_eq(cs_pool_create(P3, names3, &o, NULL, &pool), CS_OK);
    w[0] = 0.0; /* the pool copied them */
    add(pool, 1, 3000, 1000, 0, 0);
    add(pool, 2, 2000, 9000, 0, 0);
    uint64_t n;
    ck_assert_int_eq(fit3(pool, CS_FIT_BEST, 100, 100, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(fit3(pool, CS_FIT_WORST, 100, 100, 0, CS_PARTITION_ANY, &n), CS_OK);
    ck_assert_uint_eq(n, 1);
    cs_pool_destroy(pool);
}
END_TEST

/* ---- allocation failure: every allocating call, k = 1, 2, ... -------- */

START_TEST(oom_create)
{
    test_alloc t = {0};
    cs_allocator a = test_alloc_make(&t);
    for (long k = 1;; k++) {
        test_alloc_fail_after(&t, k);
        cs_pool *pool = NULL;
        cs_status st = cs_pool_create(P3, names3, NULL, &a, &pool);
        if (st == CS_OK) {
            cs_pool_destroy(pool);
            break;
        }
        ck_assert_int_eq(st, CS_ERR_NOMEM);
        ck_assert_int_eq(t.live, 0);
        ck_assert(k < 100);
    }
    ck_assert_int_eq(t.live, 0);
}
END_TEST

START_TEST(oom_operations)
{
    test_alloc t = {0};
    cs_allocator a = test_alloc_make(&t);
    cs_pool *pool;
    ck_assert_int_eq(cs_pool_create(P3, names3, NULL, &a, &pool), CS_OK);
    cs_label labels[2] = {{"k", "v"}, {"gpu", "A100"}};
    snapshot before;
    /* Enough nodes and allocations that arrays and maps must grow. */
    for (uint64_t id = 1; id <= 40; id++) {
        int64_t cap[P3] = {(int64_t)(1000 * id), 4096, (int64_t)(id % 3)};
        cs_node_spec spec;
        cs_node_spec_init(&spec, sizeof spec);
        spec.capacity = cap;
        spec.num_resources = P3;
        spec.labels = labels;
        spec.num_labels = id % 3;
        spec.partition = (uint32_t)(id % 5);
        for (long k = 1;; k++) {
            take_snapshot(pool, &before);
            test_alloc_fail_after(&t, k);
            cs_status st = cs_pool_add_node(pool, id, &spec, NULL);
            test_alloc_fail_after(&t, 0);
            if (st == CS_OK)
                break;
            ck_assert_int_eq(st, CS_ERR_NOMEM);
            assert_unchanged(pool, &before);
        }
        int64_t d[P3] = {500, 1000, 0};
        for (long k = 1;; k++) {
            take_snapshot(pool, &before);
            test_alloc_fail_after(&t, k);
            uint64_t aid;
            cs_status st = cs_pool_allocate(pool, id, d, id, &aid);
            test_alloc_fail_after(&t, 0);
            if (st == CS_OK)
                break;
            ck_assert_int_eq(st, CS_ERR_NOMEM);
            assert_unchanged(pool, &before);
        }
    }
    ck_assert_int_eq(cs_pool_check(pool), CS_OK);
    ck_assert_int_gt(t.failures, 40);
    cs_pool_destroy(pool);
    ck_assert_int_eq(t.live, 0);
}
END_TEST

/* ---- the model-based test -------------------------------------------- */

/* The reference model: plain arrays and linear scans, written from the
 * header's documented semantics only. */
#define MP 4
#define MAXN 160
#define MAXA 4000

typedef struct mnode {
    bool live;
    uint64_t id;
    int64_t cap[MP], free_[MP];
    int state;
    uint32_t part;
    int label; /* -1 none, else "tier" = label value index */
} mnode;

typedef struct malloc_ {
    bool live;
    uint64_t id, node;
    int64_t d[MP];
} malloc_;

typedef struct model {
    mnode n[MAXN];
    malloc_ a[MAXA];
    int64_t maxcap[MP];
    uint64_t next_alloc;
} model;

static const char *tiers[3] = {"gold", "silver", "bronze"};

static mnode *mfind(model *m, uint64_t id)
{
    for (int i = 0; i < MAXN; i++)
        if (m->n[i].live && m->n[i].id == id)
            return &m->n[i];
    return NULL;
}

static double mS(const model *m, const mnode *x)
{
    double s = 0;
    for (int k = 0; k < MP; k++)
        s += (m->maxcap[k] > 0 ? 1.0 / (double)m->maxcap[k] : 0.0) * (double)x->free_[k];
    return s;
}

static bool mqualifies(const mnode *x, const int64_t *d, uint32_t part, int label)
{
    if (!x->live || x->state != CS_NODE_UP)
        return false;
    if (part != CS_PARTITION_ANY && x->part != part)
        return false;
    if (label >= 0 && x->label != label)
        return false;
    for (int k = 0; k < MP; k++)
        if (x->free_[k] < d[k])
            return false;
    return true;
}

/* Reference fit: a linear scan applying the documented order. */
static uint64_t mfit(const model *m, cs_fit how, const int64_t *d, uint32_t part, int label)
{
    const mnode *best = NULL;
    for (int i = 0; i < MAXN; i++) {
        const mnode *x = &m->n[i];
        if (!mqualifies(x, d, part, label))
            continue;
        if (best == NULL) {
            best = x;
            continue;
        }
        bool better;
        if (how == CS_FIT_FIRST) {
            better = x->part < best->part || (x->part == best->part && x->id < best->id);
        } else {
            double sx = mS(m, x), sb = mS(m, best);
            better = how == CS_FIT_BEST ? sx < sb : sx > sb;
            better = better || (sx == sb && x->id < best->id);
        }
        if (better)
            best = x;
    }
    return best ? best->id : CS_ID_NONE;
}

static void compare_all(const cs_pool *pool, model *m)
{
    size_t count = 0;
    for (int i = 0; i < MAXN; i++) {
        mnode *x = &m->n[i];
        if (!x->live)
            continue;
        count++;
        cs_node_info info = {.size = sizeof info};
        int64_t f[MP];
        ck_assert_int_eq(cs_pool_node_info(pool, x->id, &info, NULL, NULL, f), CS_OK);
        ck_assert_int_eq(info.state, x->state);
        for (int k = 0; k < MP; k++)
            ck_assert_int_eq(f[k], x->free_[k]);
    }
    ck_assert_uint_eq(cs_pool_num_nodes(pool), count);
}

START_TEST(model_based_random_operations)
{
    static model m;
    memset(&m, 0, sizeof m);
    m.next_alloc = 1;
    test_rng rng;
    test_rng_seed(&rng, 20261123);
    cs_pool *pool;
    ck_assert_int_eq(cs_pool_create(MP, NULL, NULL, NULL, &pool), CS_OK);
    const int ops = 100000;
    long fits_ok = 0, fits_none = 0;
    for (int op = 0; op < ops; op++) {
        int kind = (int)test_rng_below(&rng, 100);
        if (kind < 8) { /* add node */
            int slot = -1;
            for (int i = 0; i < MAXN; i++)
                if (!m.n[i].live) {
                    slot = i;
                    break;
                }
            uint64_t id = test_rng_below(&rng, 400);
            bool exists = mfind(&m, id) != NULL;
            int64_t cap[MP];
            /* Small, repeated capacities make S ties common. */
            for (int k = 0; k < MP; k++)
                cap[k] = (int64_t)test_rng_below(&rng, 5) * 4;
            int label = (int)test_rng_below(&rng, 4) - 1;
            cs_label lab = {"tier", label >= 0 ? tiers[label] : NULL};
            cs_node_spec spec;
            cs_node_spec_init(&spec, sizeof spec);
            spec.capacity = cap;
            spec.num_resources = MP;
            spec.partition = (uint32_t)test_rng_below(&rng, 3);
            spec.labels = &lab;
            spec.num_labels = label >= 0 ? 1 : 0;
            if (slot < 0 && !exists)
                continue;
            cs_status st = cs_pool_add_node(pool, id, &spec, NULL);
            if (exists) {
                ck_assert_int_eq(st, CS_ERR_EXISTS);
            } else {
                ck_assert_int_eq(st, CS_OK);
                mnode *x = &m.n[slot];
                x->live = true;
                x->id = id;
                memcpy(x->cap, cap, sizeof cap);
                memcpy(x->free_, cap, sizeof cap);
                x->state = CS_NODE_UP;
                x->part = spec.partition;
                x->label = label;
                for (int k = 0; k < MP; k++)
                    if (cap[k] > m.maxcap[k])
                        m.maxcap[k] = cap[k];
            }
        } else if (kind < 11) { /* remove node, sometimes forced */
            uint64_t id = test_rng_below(&rng, 400);
            mnode *x = mfind(&m, id);
            bool force = test_rng_below(&rng, 2) == 0;
            cs_allocation_info rel[MAXA];
            size_t n = 0;
            cs_status st = cs_pool_remove_node(pool, id, force ? CS_REMOVE_FORCE : 0, rel,
                                               MAXA, &n);
            if (x == NULL) {
                ck_assert_int_eq(st, CS_ERR_NOT_FOUND);
                continue;
            }
            int held = 0;
            for (int i = 0; i < MAXA; i++)
                held += m.a[i].live && m.a[i].node == id;
            if (held > 0 && !force) {
                ck_assert_int_eq(st, CS_ERR_BUSY);
                continue;
            }
            ck_assert_int_eq(st, CS_OK);
            ck_assert_uint_eq(n, (size_t)held);
            /* Released in id order, each one ours. */
            for (size_t j = 0; j < n; j++) {
                ck_assert(j == 0 || rel[j - 1].id < rel[j].id);
                bool found = false;
                for (int i = 0; i < MAXA; i++)
                    if (m.a[i].live && m.a[i].id == rel[j].id && m.a[i].node == id) {
                        m.a[i].live = false;
                        found = true;
                    }
                ck_assert(found);
            }
            x->live = false;
        } else if (kind < 15) { /* state change */
            uint64_t id = test_rng_below(&rng, 400);
            int state = (int)test_rng_below(&rng, 3);
            mnode *x = mfind(&m, id);
            cs_status st = cs_pool_set_node_state(pool, id, (cs_node_state)state);
            ck_assert_int_eq(st, x ? CS_OK : CS_ERR_NOT_FOUND);
            if (x)
                x->state = state;
        } else if (kind < 45) { /* allocate, on a node the pool chose or a random one */
            int64_t d[MP];
            for (int k = 0; k < MP; k++)
                d[k] = (int64_t)test_rng_below(&rng, 6);
            uint64_t node = test_rng_below(&rng, 400);
            if (test_rng_below(&rng, 2) == 0) {
                cs_fit_query q;
                cs_fit_query_init(&q, sizeof q);
                q.demand = d;
                if (cs_pool_fit(pool, CS_FIT_BEST, &q, &node) != CS_OK)
                    continue;
            }
            mnode *x = mfind(&m, node);
            uint64_t aid = CS_ID_NONE;
            cs_status st = cs_pool_allocate(pool, node, d, op, &aid);
            if (x == NULL) {
                ck_assert_int_eq(st, CS_ERR_NOT_FOUND);
                continue;
            }
            if (x->state != CS_NODE_UP) {
                ck_assert_int_eq(st, CS_ERR_STATE);
                continue;
            }
            bool fits = true;
            for (int k = 0; k < MP; k++)
                fits &= d[k] <= x->free_[k];
            if (!fits) {
                ck_assert_int_eq(st, CS_ERR_NO_FIT);
                continue;
            }
            ck_assert_int_eq(st, CS_OK);
            ck_assert_uint_eq(aid, m.next_alloc);
            m.next_alloc++;
            int slot = -1;
            for (int i = 0; i < MAXA; i++)
                if (!m.a[i].live) {
                    slot = i;
                    break;
                }
            ck_assert_int_ge(slot, 0);
            m.a[slot].live = true;
            m.a[slot].id = aid;
            m.a[slot].node = node;
            memcpy(m.a[slot].d, d, sizeof d);
            for (int k = 0; k < MP; k++)
                x->free_[k] -= d[k];
        } else if (kind < 65) { /* release a live allocation, or a bogus id */
            int i = (int)test_rng_below(&rng, MAXA);
            int tries = 0;
            while (!m.a[i].live && tries++ < 50)
                i = (int)test_rng_below(&rng, MAXA);
            if (!m.a[i].live) {
                ck_assert_int_eq(cs_pool_release(pool, m.next_alloc + 5), CS_ERR_NOT_FOUND);
                continue;
            }
            ck_assert_int_eq(cs_pool_release(pool, m.a[i].id), CS_OK);
            mnode *x = mfind(&m, m.a[i].node);
            for (int k = 0; k < MP; k++)
                x->free_[k] += m.a[i].d[k];
            m.a[i].live = false;
        } else if (kind < 70) { /* resize */
            int i = (int)test_rng_below(&rng, MAXA);
            int tries = 0;
            while (!m.a[i].live && tries++ < 50)
                i = (int)test_rng_below(&rng, MAXA);
            if (!m.a[i].live)
                continue;
            int64_t d[MP];
            for (int k = 0; k < MP; k++)
                d[k] = (int64_t)test_rng_below(&rng, 6);
            mnode *x = mfind(&m, m.a[i].node);
            bool grows = false, fits = true;
            for (int k = 0; k < MP; k++) {
                if (d[k] > m.a[i].d[k]) {
                    grows = true;
                    fits &= d[k] - m.a[i].d[k] <= x->free_[k];
                }
            }
            cs_status st = cs_pool_resize(pool, m.a[i].id, d);
            cs_status want = !fits ? CS_ERR_NO_FIT
                             : (grows && x->state != CS_NODE_UP) ? CS_ERR_STATE
                                                                 : CS_OK;
            ck_assert_int_eq(st, want);
            if (st == CS_OK) {
                for (int k = 0; k < MP; k++) {
                    x->free_[k] -= d[k] - m.a[i].d[k];
                    m.a[i].d[k] = d[k];
                }
            }
        } else { /* fit queries of every kind */
            int64_t d[MP];
            for (int k = 0; k < MP; k++)
                d[k] = (int64_t)test_rng_below(&rng, 9);
            cs_fit how = (cs_fit)test_rng_below(&rng, 3);
            uint32_t part = test_rng_below(&rng, 3) == 0 ? CS_PARTITION_ANY
                                                         : (uint32_t)test_rng_below(&rng, 3);
            int label = (int)test_rng_below(&rng, 5) - 2; /* mostly none */
            cs_label want = {"tier", label >= 0 ? tiers[label] : NULL};
            cs_fit_query q;
            cs_fit_query_init(&q, sizeof q);
            q.demand = d;
            q.partition = part;
            q.labels = &want;
            q.num_labels = label >= 0 ? 1 : 0;
            uint64_t got = CS_ID_NONE;
            cs_status st = cs_pool_fit(pool, how, &q, &got);
            uint64_t expect = mfit(&m, how, d, part, label);
            if (expect == CS_ID_NONE) {
                ck_assert_int_eq(st, CS_ERR_NO_FIT);
                fits_none++;
            } else {
                ck_assert_int_eq(st, CS_OK);
                ck_assert_uint_eq(got, expect);
                fits_ok++;
            }
        }
        ck_assert_int_eq(cs_pool_check(pool), CS_OK);
        if (op % 1000 == 0)
            compare_all(pool, &m);
    }
    compare_all(pool, &m);
    /* The run exercised both outcomes many times. */
    ck_assert_int_gt(fits_ok, 2000);
    ck_assert_int_gt(fits_none, 1000);
    cs_pool_destroy(pool);
}
END_TEST



/* Two hundred identical nodes added in decreasing id order (every insert
 * lands before the others, so blocks split and spread): all S are equal,
 * so every fit order must pick the smallest id, whichever block holds it. */
START_TEST(fit_ties_across_blocks)
{
    cs_pool *pool = make_pool();
    for (uint64_t id = 1000; id >= 801; id--)
        add(pool, id, 8000, 16384, 1, 0);
    ck_assert_int_eq(cs_pool_check(pool), CS_OK);
    uint64_t node;
    for (int how = 0; how < 3; how++) {
        ck_assert_int_eq(fit3(pool, (cs_fit)how, 1000, 1024, 0, CS_PARTITION_ANY, &node), CS_OK);
        ck_assert_uint_eq(node, 801);
    }
    /* Node 801 keeps 7000 / 15360 / 1 free: the least S, so best fit stays
     * there; worst fit moves to the smallest untouched id, 802. */
    alloc3(pool, 801, 1000, 1024, 0);
    ck_assert_int_eq(fit3(pool, CS_FIT_BEST, 1000, 1024, 0, CS_PARTITION_ANY, &node), CS_OK);
    ck_assert_uint_eq(node, 801);
    ck_assert_int_eq(fit3(pool, CS_FIT_WORST, 1000, 1024, 0, CS_PARTITION_ANY, &node), CS_OK);
    ck_assert_uint_eq(node, 802);
    /* 7500 cpu fits every node but 801 (7000 free): first and best fit take 802. */
    ck_assert_int_eq(fit3(pool, CS_FIT_FIRST, 7500, 0, 0, CS_PARTITION_ANY, &node), CS_OK);
    ck_assert_uint_eq(node, 802);
    ck_assert_int_eq(fit3(pool, CS_FIT_BEST, 7500, 0, 0, CS_PARTITION_ANY, &node), CS_OK);
    ck_assert_uint_eq(node, 802);
    /* Draining every node below 1000 leaves 1000 alone. */
    for (uint64_t id = 801; id < 1000; id++)
        ck_assert_int_eq(cs_pool_set_node_state(pool, id, CS_NODE_DRAINING), CS_OK);
    for (int how = 0; how < 3; how++) {
        ck_assert_int_eq(fit3(pool, (cs_fit)how, 1, 1, 1, CS_PARTITION_ANY, &node), CS_OK);
        ck_assert_uint_eq(node, 1000);
    }
    ck_assert_int_eq(fit3(pool, CS_FIT_FIRST, 1, 1, 2, CS_PARTITION_ANY, &node), CS_ERR_NO_FIT);
    ck_assert_int_eq(cs_pool_check(pool), CS_OK);
    cs_pool_destroy(pool);
}
END_TEST

/* ---- the fit indices at scale ------------------------------------------ */

/* The model test above stays under 160 nodes: a handful of index blocks.
 * These runs grow pools to thousands of nodes with ids added out of order,
 * so the indices spread, shift and grow, and check every fit query against
 * a linear scan over the nodes' public state (cs_pool_node_info and the
 * labels), a route that never touches the indices. Capacities come from a
 * few node types, so many nodes are identical and S ties span blocks. */
#define SC_MAXP 12

/* Check's ck_assert records every passing assertion with a write(2); the
 * inner loops here run millions of times, so they only report failures. */
#define SC_REQUIRE(cond)                                                     \
    do {                                                                     \
        if (!(cond))                                                         \
            ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);            \
    } while (0)

typedef struct scale_run {
    size_t p;
    bool explicit_weights;
    size_t max_nodes;
    int ops;
    uint64_t seed;
} scale_run;

typedef struct scale_state {
    const scale_run *run;
    cs_pool *pool;
    test_rng rng;
    double w[SC_MAXP];       /* the documented S weights, kept by the test */
    int64_t maxcap[SC_MAXP];
    uint64_t *ids;           /* live node ids, unordered */
    size_t n;
    uint64_t *allocs;        /* live allocation ids, unordered */
    size_t na, acap;
} scale_state;

static const char *const scale_tiers[2] = {"gold", "silver"};

static double scale_S(const scale_state *st, const int64_t *f)
{
    double s = 0.0;
    for (size_t k = 0; k < st->run->p; k++)
        s += st->w[k] * (double)f[k];
    return s;
}

/* Auto weights: w_k = 1 / (largest capacity ever seen in dimension k). */
static void scale_see_capacity(scale_state *st, const int64_t *cap)
{
    if (st->run->explicit_weights)
        return;
    for (size_t k = 0; k < st->run->p; k++)
        if (cap[k] > st->maxcap[k]) {
            st->maxcap[k] = cap[k];
            st->w[k] = 1.0 / (double)cap[k];
        }
}

/* Reference answer: scan every node, keep the best by the documented order. */
static uint64_t scale_ref_fit(const scale_state *st, cs_fit how, const int64_t *d, uint32_t part,
                              int tier, const uint64_t *excl, size_t nexcl)
{
    size_t p = st->run->p;
    uint64_t best = CS_ID_NONE;
    uint32_t best_part = 0;
    double best_s = 0.0;
    for (size_t i = 0; i < st->n; i++) {
        uint64_t id = st->ids[i];
        cs_node_info info = {.size = sizeof info};
        int64_t f[SC_MAXP];
        SC_REQUIRE(cs_pool_node_info(st->pool, id, &info, NULL, NULL, f) == CS_OK);
        if (info.state != CS_NODE_UP || (part != CS_PARTITION_ANY && info.partition != part))
            continue;
        bool fits = true;
        for (size_t k = 0; k < p; k++)
            fits &= f[k] >= d[k];
        if (!fits)
            continue;
        if (tier >= 0) {
            const char *v;
            if (cs_pool_node_label_value(st->pool, id, "tier", &v) != CS_OK ||
                strcmp(v, scale_tiers[tier]) != 0)
                continue;
        }
        bool excluded = false;
        for (size_t j = 0; j < nexcl; j++)
            excluded |= excl[j] == id;
        if (excluded)
            continue;
        double s = scale_S(st, f);
        bool better;
        if (best == CS_ID_NONE)
            better = true;
        else if (how == CS_FIT_FIRST)
            better = info.partition < best_part || (info.partition == best_part && id < best);
        else if (s != best_s)
            better = how == CS_FIT_BEST ? s < best_s : s > best_s;
        else
            better = id < best;
        if (better) {
            best = id;
            best_part = info.partition;
            best_s = s;
        }
    }
    return best;
}

static void scale_random_demand(scale_state *st, int64_t *d)
{
    /* Mostly small, sometimes the size of a whole node: both outcomes. */
    int64_t scale = test_rng_below(&st->rng, 8) == 0 ? 64 : 8;
    for (size_t k = 0; k < st->run->p; k++)
        d[k] = (int64_t)test_rng_below(&st->rng, (uint64_t)scale);
}

static void scale_add_node(scale_state *st)
{
    size_t p = st->run->p;
    uint64_t id = test_rng_below(&st->rng, 1000000);
    int64_t cap[SC_MAXP];
    int type = (int)test_rng_below(&st->rng, 4);
    for (size_t k = 0; k < p; k++) /* four types; type 3 lacks dimension 1 */
        cap[k] = type == 3 && k == 1 ? 0 : (int64_t)(16 * (1 + (type + (int)k) % 4));
    if (test_rng_below(&st->rng, 200) == 0) /* a new largest node: the weights change */
        cap[test_rng_below(&st->rng, p)] += (int64_t)test_rng_below(&st->rng, 200);
    int tier = (int)test_rng_below(&st->rng, 3) - 1;
    cs_label lab = {"tier", tier >= 0 ? scale_tiers[tier] : NULL};
    cs_node_spec spec;
    cs_node_spec_init(&spec, sizeof spec);
    spec.capacity = cap;
    spec.num_resources = p;
    spec.partition = (uint32_t)test_rng_below(&st->rng, 3) * 7; /* 0, 7, 14 */
    spec.labels = &lab;
    spec.num_labels = tier >= 0 ? 1 : 0;
    spec.state = test_rng_below(&st->rng, 20) == 0 ? CS_NODE_DRAINING : CS_NODE_UP;
    cs_status status = cs_pool_add_node(st->pool, id, &spec, NULL);
    if (status == CS_ERR_EXISTS)
        return;
    ck_assert_int_eq(status, CS_OK);
    st->ids[st->n++] = id;
    scale_see_capacity(st, cap);
}

static void scale_keep_alloc(scale_state *st, uint64_t aid)
{
    if (st->na == st->acap) {
        st->acap = st->acap ? 2 * st->acap : 1024;
        st->allocs = realloc(st->allocs, st->acap * sizeof *st->allocs);
        ck_assert_ptr_nonnull(st->allocs);
    }
    st->allocs[st->na++] = aid;
}

static void scale_query(scale_state *st, long *ok, long *none)
{
    size_t p = st->run->p;
    int64_t d[SC_MAXP];
    scale_random_demand(st, d);
    cs_fit how = (cs_fit)test_rng_below(&st->rng, 3);
    uint32_t part = test_rng_below(&st->rng, 2) == 0 ? CS_PARTITION_ANY
                                                     : (uint32_t)test_rng_below(&st->rng, 16);
    int tier = test_rng_below(&st->rng, 4) == 0 ? (int)test_rng_below(&st->rng, 2) : -1;
    uint64_t excl[3];
    size_t nexcl = test_rng_below(&st->rng, 4) == 0 && st->n > 0 ? 3 : 0;
    for (size_t j = 0; j < nexcl; j++)
        excl[j] = st->ids[test_rng_below(&st->rng, st->n)];
    cs_label want = {"tier", tier >= 0 ? scale_tiers[tier] : NULL};
    cs_fit_query q;
    cs_fit_query_init(&q, sizeof q);
    q.demand = d;
    q.partition = part;
    q.labels = &want;
    q.num_labels = tier >= 0 ? 1 : 0;
    q.exclude = excl;
    q.num_exclude = nexcl;
    uint64_t got = CS_ID_NONE;
    cs_status status = cs_pool_fit(st->pool, how, &q, &got);
    uint64_t expect = scale_ref_fit(st, how, d, part, tier, excl, nexcl);
    if (expect == CS_ID_NONE) {
        ck_assert_int_eq(status, CS_ERR_NO_FIT);
        (*none)++;
    } else {
        ck_assert_int_eq(status, CS_OK);
        ck_assert_uint_eq(got, expect);
        (*ok)++;
    }
    (void)p;
}

typedef struct visit_log {
    const cs_pool *pool;
    uint64_t *ids;
    size_t n, cap;
} visit_log;

static bool log_visit(void *ctx, uint32_t slot)
{
    visit_log *v = ctx;
    SC_REQUIRE(v->n < v->cap);
    v->ids[v->n++] = v->pool->node_id[slot];
    return true;
}

static int cmp_part_id(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b; /* (partition, id) pairs */
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* cs__pool_visit_fitting (the scheduler's route) visits exactly the up
 * nodes that hold the demand, in (partition, id) order. */
static void scale_check_visit(scale_state *st, uint32_t part)
{
    size_t p = st->run->p;
    int64_t d[SC_MAXP];
    scale_random_demand(st, d);
    uint64_t *want = malloc(2 * (st->n + 1) * sizeof *want);
    size_t nw = 0;
    for (size_t i = 0; i < st->n; i++) {
        cs_node_info info = {.size = sizeof info};
        int64_t f[SC_MAXP];
        SC_REQUIRE(cs_pool_node_info(st->pool, st->ids[i], &info, NULL, NULL, f) == CS_OK);
        bool fits = info.state == CS_NODE_UP &&
                    (part == CS_PARTITION_ANY || info.partition == part);
        for (size_t k = 0; k < p; k++)
            fits &= f[k] >= d[k];
        if (fits) {
            want[2 * nw] = info.partition;
            want[2 * nw + 1] = st->ids[i];
            nw++;
        }
    }
    qsort(want, nw, 2 * sizeof *want, cmp_part_id);
    visit_log v = {st->pool, malloc((st->n + 1) * sizeof(uint64_t)), 0, st->n + 1};
    cs__pool_visit_fitting(st->pool, part, d, log_visit, &v);
    ck_assert_uint_eq(v.n, nw);
    for (size_t i = 0; i < nw; i++)
        SC_REQUIRE(v.ids[i] == want[2 * i + 1]);
    free(v.ids);
    free(want);
}

static void scale_run_one(const scale_run *run)
{
    scale_state st;
    memset(&st, 0, sizeof st);
    st.run = run;
    test_rng_seed(&st.rng, run->seed);
    size_t p = run->p;
    cs_pool_options opt;
    cs_pool_options_init(&opt, sizeof opt);
    double w[SC_MAXP];
    for (size_t k = 0; k < p; k++)
        w[k] = st.w[k] = 1.0 + (double)k; /* used only when explicit */
    opt.fit_weights = w;
    ck_assert_int_eq(cs_pool_create(p, NULL, run->explicit_weights ? &opt : NULL, NULL, &st.pool),
                     CS_OK);
    st.ids = malloc(run->max_nodes * sizeof *st.ids);
    long ok = 0, none = 0, removed = 0;
    /* Grow to about two thirds of the maximum before the mixed phase. */
    while (st.n < run->max_nodes * 2 / 3)
        scale_add_node(&st);
    ck_assert_int_eq(cs_pool_check(st.pool), CS_OK);
    for (int op = 0; op < run->ops; op++) {
        int kind = (int)test_rng_below(&st.rng, 100);
        if (kind < 5) {
            if (st.n < run->max_nodes)
                scale_add_node(&st);
        } else if (kind < 8 && st.n > 0) { /* remove, with its allocations */
            size_t i = test_rng_below(&st.rng, st.n);
            cs_allocation_info rel[256];
            size_t cnt = 0;
            ck_assert_int_eq(cs_pool_remove_node(st.pool, st.ids[i], CS_REMOVE_FORCE, rel, 256,
                                                 &cnt),
                             CS_OK);
            for (size_t j = 0; j < cnt; j++)
                for (size_t a = 0; a < st.na; a++)
                    if (st.allocs[a] == rel[j].id) {
                        st.allocs[a] = st.allocs[--st.na];
                        break;
                    }
            st.ids[i] = st.ids[--st.n];
            removed++;
        } else if (kind < 40 && st.n > 0) { /* allocate on a chosen node */
            int64_t d[SC_MAXP];
            scale_random_demand(&st, d);
            cs_fit_query q;
            cs_fit_query_init(&q, sizeof q);
            q.demand = d;
            uint64_t node, aid;
            if (cs_pool_fit(st.pool, (cs_fit)test_rng_below(&st.rng, 3), &q, &node) == CS_OK) {
                ck_assert_int_eq(cs_pool_allocate(st.pool, node, d, 0, &aid), CS_OK);
                scale_keep_alloc(&st, aid);
            }
        } else if (kind < 65 && st.na > 0) { /* release */
            size_t a = test_rng_below(&st.rng, st.na);
            ck_assert_int_eq(cs_pool_release(st.pool, st.allocs[a]), CS_OK);
            st.allocs[a] = st.allocs[--st.na];
        } else if (kind < 70 && st.na > 0) { /* resize: shrink always works */
            size_t a = test_rng_below(&st.rng, st.na);
            int64_t d[SC_MAXP];
            ck_assert_int_eq(cs_pool_allocation(st.pool, st.allocs[a], NULL, d), CS_OK);
            for (size_t k = 0; k < p; k++)
                d[k] = (int64_t)test_rng_below(&st.rng, (uint64_t)d[k] + 1);
            ck_assert_int_eq(cs_pool_resize(st.pool, st.allocs[a], d), CS_OK);
        } else if (kind < 74 && st.n > 0) { /* state */
            uint64_t id = st.ids[test_rng_below(&st.rng, st.n)];
            int state = test_rng_below(&st.rng, 3) == 0 ? (int)test_rng_below(&st.rng, 3) : 0;
            ck_assert_int_eq(cs_pool_set_node_state(st.pool, id, (cs_node_state)state), CS_OK);
        } else if (kind < 76 && st.n > 0) { /* capacity: used + something */
            uint64_t id = st.ids[test_rng_below(&st.rng, st.n)];
            cs_node_info info = {.size = sizeof info};
            int64_t used[SC_MAXP], cap[SC_MAXP];
            ck_assert_int_eq(cs_pool_node_info(st.pool, id, &info, NULL, used, NULL), CS_OK);
            for (size_t k = 0; k < p; k++)
                cap[k] = used[k] + (int64_t)test_rng_below(&st.rng, 80);
            ck_assert_int_eq(cs_pool_set_node_capacity(st.pool, id, cap), CS_OK);
            scale_see_capacity(&st, cap);
        } else if (kind < 78) {
            scale_check_visit(&st, test_rng_below(&st.rng, 2) ? CS_PARTITION_ANY : 7);
        } else {
            scale_query(&st, &ok, &none);
        }
        if (op % 97 == 0)
            ck_assert_int_eq(cs_pool_check(st.pool), CS_OK);
    }
    ck_assert_int_eq(cs_pool_check(st.pool), CS_OK);
    /* Both outcomes, many times; nodes came and went. */
    ck_assert_int_gt(ok, run->ops / 10);
    ck_assert_int_gt(none, run->ops / 100);
    ck_assert_int_gt(removed, run->ops / 100);
    cs_pool_destroy(st.pool);
    free(st.ids);
    free(st.allocs);
}

START_TEST(fit_index_at_scale)
{
    static const scale_run runs[] = {
        {4, false, 3000, 40000, 11},  /* the common shape */
        {1, false, 2000, 15000, 12},  /* one dimension: one fit class */
        {3, true, 2500, 15000, 13},   /* explicit weights */
        {12, false, 1500, 15000, 14}, /* more dimensions than fit classes */
    };
    scale_run_one(&runs[_i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("unit");
    tcase_add_test(tc, create_and_names);
    tcase_add_test(tc, add_nodes_and_ids);
    tcase_add_test(tc, auto_id_overflow);
    tcase_add_test(tc, labels_and_topology);
    tcase_add_test(tc, allocate_release_resize);
    tcase_add_test(tc, remove_node_busy_and_force);
    tcase_add_test(tc, fit_by_hand);
    tcase_add_test(tc, partitions_and_totals);
    tcase_add_test(tc, cost_and_capacity_change);
    tcase_add_test(tc, listing_and_buffers);
    tcase_add_test(tc, explicit_weights);
    tcase_add_test(tc, fit_ties_across_blocks);
    suite_add_tcase(s, tc);
    TCase *oom = tcase_create("oom");
    tcase_add_test(oom, oom_create);
    tcase_add_test(oom, oom_operations);
    suite_add_tcase(s, oom);
    TCase *mb = tcase_create("model");
    tcase_set_timeout(mb, 600);
    tcase_add_test(mb, model_based_random_operations);
    tcase_add_loop_test(mb, fit_index_at_scale, 0, 4);
    suite_add_tcase(s, mb);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
