/**
 * @file cloudsched.h
 * @brief Umbrella header: includes every public libcloudsched header.
 *
 * libcloudsched is the decision core of a cluster scheduler: a pool of nodes
 * (pool.h), task specs (task.h), queue policies and tenant fairness
 * (queue.h, fair.h), the scheduler loop that turns submissions and the time
 * into placement decisions (sched.h), runtime prediction (predict.h, on
 * lsq.h and rls.h) and the optimisation behind balanced placement (balance.h,
 * qp.h). Include this header, or only the ones you use, and link with
 * `-lcloudsched` (pkg-config: `cloudsched`).
 *
 * Thread-safety: the library has no global state. Distinct handles are
 * fully independent and may be used from distinct threads at once; one
 * handle (a scheduler together with the pool it borrows) is used by one
 * thread at a time. See common.h for the conventions of every module.
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
