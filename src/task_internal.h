/* Task-spec helpers shared by queue.c and sched.c. */
#ifndef CLOUDSCHED_TASK_INTERNAL_H
#define CLOUDSCHED_TASK_INTERNAL_H

#include "cloudsched/task.h"

/* Copy a caller's (possibly older, shorter) spec into a full local one. */
cs_status cs__task_spec_import(cs_task_spec *dst, const cs_task_spec *src);

/* Validate a full spec; num_resources 0 skips the dimension check. */
cs_status cs__task_spec_check(const cs_task_spec *t, size_t num_resources);

#endif
