/* pool_basics: a three-node GPU pool, a few allocations, and the three fit
 * orders. The smallest complete use of the pool API. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <cloudsched/cloudsched.h>

/* Stop on any error: an example should fail loudly. */
#define CHECK(call)                                                                 \
    do {                                                                            \
        cs_status st_ = (call);                                                     \
        if (st_ != CS_OK) {                                                         \
            fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #call,         \
                    cs_status_str(st_));                                            \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

int main(void)
{
    const char *names[] = {"cpu_milli", "mem_mib", "gpu"};
    cs_pool *pool;
    CHECK(cs_pool_create(3, names, NULL, NULL, &pool));

    /* Two GPU nodes in rack 1 and a CPU node in rack 2, one zone. */
    int64_t gpu_node[3] = {64000, 262144, 8}, cpu_node[3] = {32000, 131072, 0};
    cs_label a100[] = {{"gpu_model", "A100"}};
    cs_node_spec spec;
    CHECK(cs_node_spec_init(&spec, sizeof spec));
    spec.num_resources = 3;
    spec.capacity = gpu_node;
    spec.labels = a100;
    spec.num_labels = 1;
    spec.rack = 1;
    CHECK(cs_pool_add_node(pool, 1, &spec, NULL));
    CHECK(cs_pool_add_node(pool, 2, &spec, NULL));
    spec.capacity = cpu_node;
    spec.labels = NULL;
    spec.num_labels = 0;
    spec.rack = 2;
    CHECK(cs_pool_add_node(pool, 3, &spec, NULL));

    /* A 4-GPU training job on node 1, a CPU job on node 3. */
    int64_t train[3] = {16000, 65536, 4}, etl[3] = {8000, 16384, 0};
    uint64_t a_train, a_etl;
    CHECK(cs_pool_allocate(pool, 1, train, 100, &a_train));
    CHECK(cs_pool_allocate(pool, 3, etl, 101, &a_etl));

    /* Where would a 1-GPU inference task go under each fit order? */
    int64_t infer[3] = {4000, 8192, 1};
    cs_fit_query q;
    CHECK(cs_fit_query_init(&q, sizeof q));
    q.demand = infer;
    q.labels = a100;
    q.num_labels = 1;
    const char *fits[] = {"first", "best", "worst"};
    for (int how = 0; how < 3; how++) {
        uint64_t node;
        CHECK(cs_pool_fit(pool, (cs_fit)how, &q, &node));
        printf("%-5s fit for a 1-GPU A100 task: node %" PRIu64 "\n", fits[how], node);
    }

    double util[3];
    CHECK(cs_pool_utilization(pool, CS_PARTITION_ANY, util));
    printf("utilisation: cpu %.1f%%  mem %.1f%%  gpu %.1f%%\n", 100 * util[0], 100 * util[1],
           100 * util[2]);

    /* Node 1 fails: remove it by force and learn whose work was there. */
    cs_allocation_info lost[4];
    size_t n;
    CHECK(cs_pool_remove_node(pool, 1, CS_REMOVE_FORCE, lost, 4, &n));
    for (size_t i = 0; i < n; i++)
        printf("node 1 removed: allocation %" PRIu64 " of owner %" PRIu64 " released\n",
               lost[i].id, lost[i].owner);
    CHECK(cs_pool_release(pool, a_etl));
    CHECK(cs_pool_check(pool));
    printf("nodes left: %zu, allocations left: %zu\n", cs_pool_num_nodes(pool),
           cs_pool_num_allocations(pool));
    cs_pool_destroy(pool);
    return 0;
}
