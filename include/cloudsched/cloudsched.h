/**
 * @file cloudsched.h
 * @brief Umbrella header: includes every public libcloudsched header.
 *
 * Thread-safety: see common.h. Distinct handles are independent; one handle
 * is used by one thread at a time.
 */
#ifndef CLOUDSCHED_CLOUDSCHED_H
#define CLOUDSCHED_CLOUDSCHED_H

#include "cloudsched/common.h"
#include "cloudsched/pool.h"
#include "cloudsched/task.h"
#include "cloudsched/fair.h"
#include "cloudsched/queue.h"
#include "cloudsched/sched.h"
#include "cloudsched/lsq.h"
#include "cloudsched/rls.h"
#include "cloudsched/predict.h"
#include "cloudsched/balance.h"
#include "cloudsched/qp.h"

#endif /* CLOUDSCHED_CLOUDSCHED_H */
