/* Task spec defaults and validation. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "cloudsched/cloudsched.h"

static const int64_t demand3[3] = {1000, 2048, 1};

static cs_task_spec valid_spec(void)
{
    cs_task_spec t;
    ck_assert_int_eq(cs_task_spec_init(&t, sizeof t), CS_OK);
    t.id = 7;
    t.demand = demand3;
    t.num_resources = 3;
    return t;
}

START_TEST(defaults)
{
    cs_task_spec t;
    ck_assert_int_eq(cs_task_spec_init(&t, sizeof t), CS_OK);
    ck_assert_uint_eq(t.size, sizeof t);
    ck_assert_uint_eq(t.count, 1);
    ck_assert_uint_eq(t.partition, CS_PARTITION_ANY);
    ck_assert(t.locality_weight == 1.0);
    ck_assert(t.runtime_estimate == 0.0);
    ck_assert_int_eq(t.topology, CS_TOPOLOGY_ANY);
    ck_assert_int_eq(cs_task_spec_init(NULL, sizeof t), CS_ERR_INVALID);
    ck_assert_int_eq(cs_task_spec_init(&t, 3), CS_ERR_INVALID);
    ck_assert_int_eq(cs_task_spec_init(&t, sizeof t + 8), CS_ERR_INVALID);
}
END_TEST

START_TEST(validation)
{
    cs_task_spec t = valid_spec();
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_OK);
    ck_assert_int_eq(cs_task_spec_validate(&t, 0), CS_OK);
    ck_assert_int_eq(cs_task_spec_validate(&t, 4), CS_ERR_DIMENSION);
    ck_assert_int_eq(cs_task_spec_validate(NULL, 3), CS_ERR_INVALID);

    t = valid_spec(); t.id = CS_ID_NONE;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    t = valid_spec(); t.count = 0;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    t = valid_spec(); t.demand = NULL;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    int64_t neg[3] = {1, -1, 0};
    t = valid_spec(); t.demand = neg;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    int64_t big[3] = {INT64_MAX / 2 + 1, 0, 0};
    t = valid_spec(); t.demand = big; t.count = 2;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_OVERFLOW);
    t.count = 1;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_OK);
    t = valid_spec(); t.runtime_estimate = (double)NAN;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    t = valid_spec(); t.runtime_estimate = -1;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    t = valid_spec(); t.runtime_estimate = (double)INFINITY;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    double feats[2] = {1.0, (double)NAN};
    t = valid_spec(); t.features = feats; t.num_features = 2;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    t.num_features = 1;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_OK);
    t = valid_spec(); t.num_features = 1;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    cs_label bad[1] = {{"", "x"}};
    t = valid_spec(); t.labels = bad; t.num_labels = 1;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    cs_label good[1] = {{"gpu", NULL}};
    t.labels = good;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_OK);
    t = valid_spec(); t.num_preferred_nodes = 2;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    t = valid_spec(); t.locality_weight = -0.5;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    t = valid_spec(); t.topology = (cs_topology)9;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    t = valid_spec(); t.count = 4; t.elastic_min = 5;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_ERR_INVALID);
    t.elastic_min = 2;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_OK);
}
END_TEST

START_TEST(older_shorter_struct_gets_defaults)
{
    /* A caller compiled against a struct that ended at `count` must still be
     * accepted, with the later members taking their defaults. */
    size_t old = offsetof(cs_task_spec, elastic_min) + sizeof(uint32_t);
    cs_task_spec t;
    ck_assert_int_eq(cs_task_spec_init(&t, old), CS_OK);
    t.id = 1;
    t.demand = demand3;
    t.num_resources = 3;
    ck_assert_int_eq(cs_task_spec_validate(&t, 3), CS_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("task");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, validation);
    tcase_add_test(tc, older_shorter_struct_gets_defaults);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
