/* Status strings, version, allocator resolution and the size-prefixed
 * struct helpers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cloudsched/cloudsched.h"
#include "internal.h"
#include "testutil.h"

START_TEST(status_strings_are_distinct_and_named)
{
    static const cs_status all[] = {
        CS_OK, CS_ERR_INVALID, CS_ERR_NOMEM, CS_ERR_NOT_FOUND, CS_ERR_EXISTS,
        CS_ERR_NO_FIT, CS_ERR_OVERFLOW, CS_ERR_INFEASIBLE, CS_ERR_SINGULAR,
        CS_ERR_NOT_CONVERGED, CS_ERR_STATE, CS_ERR_DIMENSION,
        CS_ERR_BUFFER_TOO_SMALL, CS_ERR_UNBOUNDED, CS_ERR_NUMERIC, CS_ERR_BUSY};
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_ne(cs_status_str(all[i]), "unknown status");
        ck_assert_str_ne(cs_status_name(all[i]), "CS_UNKNOWN");
        ck_assert(strncmp(cs_status_name(all[i]), "CS_", 3) == 0);
        for (size_t j = 0; j < i; j++) {
            ck_assert_str_ne(cs_status_str(all[i]), cs_status_str(all[j]));
            ck_assert_str_ne(cs_status_name(all[i]), cs_status_name(all[j]));
        }
    }
    ck_assert_str_eq(cs_status_name(CS_ERR_NO_FIT), "CS_ERR_NO_FIT");
    ck_assert_str_eq(cs_status_str((cs_status)-999), "unknown status");
    ck_assert_str_eq(cs_status_name((cs_status)7), "CS_UNKNOWN");
}
END_TEST

START_TEST(version_matches_build)
{
    /* CS_PROJECT_VERSION comes from meson.build, independently of the header. */
    ck_assert_str_eq(cs_version(), CS_PROJECT_VERSION);
    ck_assert_int_eq(cs_version_number(), CS_VERSION_NUMBER);
    ck_assert_int_eq(cs_version_number(),
                     CS_VERSION_MAJOR * 10000 + CS_VERSION_MINOR * 100 + CS_VERSION_PATCH);
}
END_TEST

START_TEST(allocator_resolution)
{
    cs_allocator a;
    ck_assert(cs__allocator_resolve(&a, NULL));
    void *p = cs__alloc(&a, 16);
    ck_assert_ptr_nonnull(p);
    cs__free(&a, p);

    test_alloc t = {0};
    cs_allocator user = test_alloc_make(&t);
    ck_assert(cs__allocator_resolve(&a, &user));
    p = cs__alloc(&a, 16);
    ck_assert_int_eq(t.live, 1);
    cs__free(&a, p);
    ck_assert_int_eq(t.live, 0);

    user.realloc = NULL;
    ck_assert(!cs__allocator_resolve(&a, &user));
}
END_TEST

START_TEST(reserve_keeps_array_on_failure)
{
    test_alloc t = {0};
    cs_allocator a = test_alloc_make(&t);
    int *v = NULL;
    size_t cap = 0;
    ck_assert(cs__reserve(&a, (void **)&v, &cap, 3, sizeof *v));
    ck_assert_uint_ge(cap, 3);
    v[0] = 42;
    size_t old = cap;
    test_alloc_fail_after(&t, 1);
    ck_assert(!cs__reserve(&a, (void **)&v, &cap, old + 1, sizeof *v));
    ck_assert_uint_eq(cap, old);
    ck_assert_int_eq(v[0], 42);
    ck_assert(!cs__reserve(&a, (void **)&v, &cap, SIZE_MAX / 2, sizeof *v));
    cs__free(&a, v);
    ck_assert_int_eq(t.live, 0);
    ck_assert_ptr_null(cs__alloc_array(&a, SIZE_MAX / 4, 8));
}
END_TEST

START_TEST(checked_arithmetic)
{
    int64_t r;
    ck_assert(cs__add_i64(INT64_MAX - 1, 1, &r) && r == INT64_MAX);
    ck_assert(!cs__add_i64(INT64_MAX, 1, &r));
    ck_assert(!cs__sub_i64(INT64_MIN, 1, &r));
    ck_assert(!cs__mul_i64(INT64_MAX / 2 + 1, 2, &r));
    size_t s;
    ck_assert(!cs__mul_size(SIZE_MAX / 2 + 1, 2, &s));
}
END_TEST

/* A struct shaped like every public options struct, in two versions. */
typedef struct v2 {
    size_t size;
    int a;
    double b; /* added in "version 2" */
} v2;

START_TEST(size_prefixed_structs)
{
    static const v2 defaults = {sizeof(v2), 7, 2.5};
    size_t v1size = offsetof(v2, b);
    v2 x;
    memset(&x, 0xff, sizeof x);
    ck_assert_int_eq(cs__struct_init(&x, v1size, sizeof(v2), v1size, &defaults), CS_OK);
    ck_assert_uint_eq(x.size, v1size);
    ck_assert_int_eq(x.a, 7);
    /* An old caller's struct is completed with defaults on import. */
    x.a = 3;
    v2 full;
    ck_assert(cs__struct_import(&full, &x, sizeof(v2), v1size, &defaults));
    ck_assert_int_eq(full.a, 3);
    ck_assert(full.b == 2.5);
    ck_assert_int_eq(cs__struct_init(&x, v1size - 1, sizeof(v2), v1size, &defaults),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs__struct_init(&x, sizeof(v2) + 1, sizeof(v2), v1size, &defaults),
                     CS_ERR_INVALID);
    ck_assert_int_eq(cs__struct_init(NULL, sizeof(v2), sizeof(v2), v1size, &defaults),
                     CS_ERR_INVALID);
    x.size = 1;
    ck_assert(!cs__struct_import(&full, &x, sizeof(v2), v1size, &defaults));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, status_strings_are_distinct_and_named);
    tcase_add_test(tc, version_matches_build);
    tcase_add_test(tc, allocator_resolution);
    tcase_add_test(tc, reserve_keeps_array_on_failure);
    tcase_add_test(tc, checked_arithmetic);
    tcase_add_test(tc, size_prefixed_structs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
