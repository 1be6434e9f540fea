/* Task spec defaults and validation, shared by the queue and the scheduler. */
#include "cloudsched/task.h"

#include "internal.h"
#include "task_internal.h"

static const cs_task_spec task_spec_defaults = {
    .size = sizeof(cs_task_spec),
    .id = 0,
    .count = 1,
    .partition = CS_PARTITION_ANY,
    .locality_weight = 1.0,
    .topology = CS_TOPOLOGY_ANY,
};

/* The first published version ends with elastic_min. */
#define TASK_SPEC_MIN_SIZE (offsetof(cs_task_spec, elastic_min) + sizeof(uint32_t))

cs_status cs_task_spec_init(cs_task_spec *spec, size_t size)
{
    return cs__struct_init(spec, size, sizeof(cs_task_spec), TASK_SPEC_MIN_SIZE,
                           &task_spec_defaults);
}

cs_status cs__task_spec_import(cs_task_spec *dst, const cs_task_spec *src)
{
    if (!cs__struct_import(dst, src, sizeof *dst, TASK_SPEC_MIN_SIZE, &task_spec_defaults))
        return CS_ERR_INVALID;
    return CS_OK;
}

static bool labels_valid(const cs_label *labels, size_t n)
{
    if (n > 0 && labels == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (labels[i].key == NULL || labels[i].key[0] == '\0')
            return false;
    return true;
}

cs_status cs__task_spec_check(const cs_task_spec *t, size_t num_resources)
{
    if (t->id == CS_ID_NONE || t->count == 0 || t->demand == NULL ||
        t->num_resources == 0 || t->num_resources > CS_POOL_MAX_RESOURCES)
        return CS_ERR_INVALID;
    if (num_resources != 0 && t->num_resources != num_resources)
        return CS_ERR_DIMENSION;
    for (size_t k = 0; k < t->num_resources; k++) {
        int64_t total;
        if (t->demand[k] < 0)
            return CS_ERR_INVALID;
        if (!cs__mul_i64(t->demand[k], (int64_t)t->count, &total))
            return CS_ERR_OVERFLOW;
    }
    if (!isfinite(t->runtime_estimate) || t->runtime_estimate < 0.0)
        return CS_ERR_INVALID;
    if ((t->num_features > 0 && t->features == NULL) ||
        !cs__all_finite(t->features, t->num_features))
        return CS_ERR_INVALID;
    if (!labels_valid(t->labels, t->num_labels))
        return CS_ERR_INVALID;
    if ((t->num_preferred_nodes > 0 && t->preferred_nodes == NULL) ||
        (t->num_preferred_zones > 0 && t->preferred_zones == NULL))
        return CS_ERR_INVALID;
    if (!isfinite(t->locality_weight) || t->locality_weight < 0.0)
        return CS_ERR_INVALID;
    if (t->topology != CS_TOPOLOGY_ANY && t->topology != CS_TOPOLOGY_PACK &&
        t->topology != CS_TOPOLOGY_SPREAD)
        return CS_ERR_INVALID;
    if (t->elastic_min > t->count)
        return CS_ERR_INVALID;
    return CS_OK;
}

cs_status cs_task_spec_validate(const cs_task_spec *spec, size_t num_resources)
{
    cs_task_spec t;
    cs_status st = cs__task_spec_import(&t, spec);
    if (st != CS_OK)
        return st;
    return cs__task_spec_check(&t, num_resources);
}
