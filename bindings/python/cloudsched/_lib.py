"""The one place that knows the C ABI: library lookup, struct mirrors,
``argtypes``/``restype`` of every function, and the error choke point.

Nothing else in the package declares a prototype or turns a status into an
exception. Every size-prefixed struct mirrored here is prepared through its
``cs_X_init(&x, sizeof x)`` (see :func:`init_struct`), so a layout mistake shows
up as ``InvalidArgument`` from the library instead of silent corruption; the
tests also compare each ``ctypes.sizeof`` with what the C side accepts.

The library is located lazily, on the first call (or by an explicit
:func:`load_library`), in this order:

1. the ``path`` given to :func:`load_library`;
2. the ``CLOUDSCHED_LIBRARY`` environment variable;
3. the meson build directories of a source checkout, ``build*/src/`` next to
   the ``bindings/`` directory that holds this package (``build`` first, then
   the others by name);
4. ``ctypes.util.find_library("cloudsched")`` (an installed library).

An explicit path or the environment variable is final: when it cannot be
loaded, the later places are not tried. When nothing loads, ``ImportError``
lists every place tried and why it failed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from ctypes import (POINTER, Structure, c_bool, c_char_p, c_double, c_int, c_int64,
                    c_size_t, c_uint32, c_uint64, c_void_p)
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .errors import ClosedError, Status, error_for

#: Major version of the C ABI these bindings are written for.
ABI_MAJOR = 0

#: ``CS_ID_NONE``: "no id" (never a valid task, node or allocation id).
ID_NONE = (1 << 64) - 1
#: ``CS_PARTITION_ANY``: a query or task that may use every partition.
PARTITION_ANY = (1 << 32) - 1
#: ``CS_BACKFILL_CONSERVATIVE``: backfill depth "a reservation for every blocked task".
BACKFILL_CONSERVATIVE = (1 << 32) - 1
#: ``CS_POOL_MAX_RESOURCES``.
POOL_MAX_RESOURCES = 32
#: ``CS_LSQ_POLY_MAX_DEGREE``.
POLY_MAX_DEGREE = 20
#: ``CS_BALANCE_INT_MAX``: largest magnitude of the integer balance solvers' values.
BALANCE_INT_MAX = 1 << 53
#: ``CS_REMOVE_FORCE``.
REMOVE_FORCE = 1
#: ``CS_LSQ_ROW_MAJOR`` / ``CS_LSQ_COL_MAJOR`` (CBLAS values).
ROW_MAJOR = 101
COL_MAJOR = 102

# --------------------------------------------------------------------------
# Struct mirrors (member order and types exactly as in include/cloudsched/*.h;
# C enums are int-sized on every supported ABI).
# --------------------------------------------------------------------------

c_enum = c_int
ALLOC_FN = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_size_t)
REALLOC_FN = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_size_t)
FREE_FN = ctypes.CFUNCTYPE(None, c_void_p, c_void_p)


class cs_allocator(Structure):
    _fields_ = [("alloc", ALLOC_FN), ("realloc", REALLOC_FN), ("free", FREE_FN),
                ("ctx", c_void_p)]


class cs_label(Structure):
    _fields_ = [("key", c_char_p), ("value", c_char_p)]


class cs_pool_options(Structure):
    _fields_ = [("size", c_size_t), ("fit_weights", POINTER(c_double))]


class cs_node_spec(Structure):
    _fields_ = [("size", c_size_t), ("capacity", POINTER(c_int64)),
                ("num_resources", c_size_t), ("labels", POINTER(cs_label)),
                ("num_labels", c_size_t), ("zone", c_uint32), ("rack", c_uint32),
                ("partition", c_uint32), ("unit_cost", POINTER(c_double)),
                ("state", c_enum)]


class cs_allocation_info(Structure):
    _fields_ = [("id", c_uint64), ("node", c_uint64), ("owner", c_uint64)]


class cs_node_info(Structure):
    _fields_ = [("size", c_size_t), ("id", c_uint64), ("state", c_enum),
                ("zone", c_uint32), ("rack", c_uint32), ("partition", c_uint32),
                ("num_labels", c_size_t), ("num_allocations", c_size_t)]


class cs_fit_query(Structure):
    _fields_ = [("size", c_size_t), ("demand", POINTER(c_int64)),
                ("partition", c_uint32), ("labels", POINTER(cs_label)),
                ("num_labels", c_size_t), ("exclude", POINTER(c_uint64)),
                ("num_exclude", c_size_t)]


class cs_task_spec(Structure):
    _fields_ = [("size", c_size_t), ("id", c_uint64), ("tenant", c_uint64),
                ("priority", c_int64), ("demand", POINTER(c_int64)),
                ("num_resources", c_size_t), ("count", c_uint32),
                ("runtime_estimate", c_double), ("features", POINTER(c_double)),
                ("num_features", c_size_t), ("partition", c_uint32),
                ("labels", POINTER(cs_label)), ("num_labels", c_size_t),
                ("preferred_nodes", POINTER(c_uint64)), ("num_preferred_nodes", c_size_t),
                ("preferred_zones", POINTER(c_uint32)), ("num_preferred_zones", c_size_t),
                ("locality_weight", c_double), ("topology", c_enum),
                ("elastic_min", c_uint32)]


class cs_fair_options(Structure):
    _fields_ = [("size", c_size_t), ("half_life", c_double),
                ("num_resources", c_size_t), ("default_weight", c_double)]


class cs_queue_options(Structure):
    _fields_ = [("size", c_size_t), ("policy", c_enum), ("aging_slope", c_double),
                ("default_runtime", c_double), ("fair", c_void_p)]


class cs_sched_options(Structure):
    _fields_ = [("size", c_size_t), ("policy", c_enum), ("aging_slope", c_double),
                ("default_runtime", c_double), ("placement", c_enum),
                ("head_of_line", c_enum), ("backfill_depth", c_uint32),
                ("preemption", c_int), ("fail_on_node_down", c_int),
                ("max_scan", c_uint32), ("resource_weights", POINTER(c_double)),
                ("fair_half_life", c_double), ("predictor", c_void_p),
                ("use_predictions", c_int)]


class cs_decision(Structure):
    _fields_ = [("kind", c_enum), ("reason", c_enum), ("task", c_uint64),
                ("related", c_uint64), ("node", c_uint64), ("alloc_id", c_uint64),
                ("replicas", c_uint32)]


class cs_task_info(Structure):
    _fields_ = [("size", c_size_t), ("state", c_enum), ("tenant", c_uint64),
                ("priority", c_int64), ("submit_time", c_double),
                ("start_time", c_double), ("end_time", c_double),
                ("estimate", c_double), ("replicas", c_uint32),
                ("preemptions", c_uint32), ("user_estimate", c_double),
                ("estimate_source", c_int)]


class cs_sched_counts(Structure):
    _fields_ = [("size", c_size_t), ("submitted", c_uint64), ("pending", c_uint64),
                ("running", c_uint64), ("done", c_uint64), ("cancelled", c_uint64),
                ("failed", c_uint64)]


class cs_lsq_options(Structure):
    _fields_ = [("size", c_size_t), ("method", c_enum), ("intercept", c_int),
                ("ridge", c_double), ("rcond", c_double), ("nrhs", c_size_t)]


class cs_lsq_stats(Structure):
    _fields_ = [("size", c_size_t), ("rank", c_size_t), ("n_used", c_size_t),
                ("dof", c_double), ("rss", c_double), ("tss", c_double),
                ("sigma", c_double), ("r2", c_double), ("adj_r2", c_double),
                ("cond", c_double)]


class cs_lsq_poly(Structure):
    _fields_ = [("size", c_size_t), ("degree", c_size_t), ("center", c_double),
                ("scale", c_double), ("coef", c_double * (POLY_MAX_DEGREE + 1)),
                ("monomial", c_double * (POLY_MAX_DEGREE + 1))]


class cs_rls_options(Structure):
    _fields_ = [("size", c_size_t), ("forgetting", c_double), ("ridge", c_double),
                ("block_rows", c_size_t)]


class cs_rls_info(Structure):
    _fields_ = [("size", c_size_t), ("dim", c_size_t), ("samples", c_uint64),
                ("weight", c_double), ("rss", c_double)]


class cs_predict_options(Structure):
    _fields_ = [("size", c_size_t), ("num_features", c_size_t),
                ("estimate_feature", c_int), ("min_samples", c_size_t),
                ("forgetting", c_double), ("ridge", c_double), ("quantile", c_double),
                ("band_window", c_size_t), ("fallback", c_enum), ("use_global", c_int),
                ("cap_at_estimate", c_int), ("min_value", c_double)]


class cs_predict_model_info(Structure):
    _fields_ = [("size", c_size_t), ("dim", c_size_t), ("samples", c_uint64),
                ("ready", c_int), ("band_count", c_size_t), ("history_count", c_size_t)]


class cs_balance_problem(Structure):
    _fields_ = [("size", c_size_t), ("n", c_size_t), ("weight", POINTER(c_double)),
                ("target", POINTER(c_double)), ("lower", POINTER(c_double)),
                ("upper", POINTER(c_double)), ("total", c_double)]


class cs_balance_int_problem(Structure):
    _fields_ = [("size", c_size_t), ("n", c_size_t), ("weight", POINTER(c_double)),
                ("target", POINTER(c_double)), ("lower", POINTER(c_int64)),
                ("upper", POINTER(c_int64)), ("total", c_int64)]


class cs_balance_result(Structure):
    _fields_ = [("size", c_size_t), ("mu", c_double), ("objective", c_double),
                ("objective_continuous", c_double), ("sum", c_double),
                ("min_total", c_double), ("max_total", c_double),
                ("num_lower", c_size_t), ("num_upper", c_size_t), ("num_free", c_size_t),
                ("iterations", c_size_t), ("passes", c_size_t)]


class cs_qp_problem(Structure):
    _fields_ = [("size", c_size_t), ("n", c_size_t), ("m_eq", c_size_t),
                ("m_in", c_size_t), ("P", POINTER(c_double)), ("q", POINTER(c_double)),
                ("A", POINTER(c_double)), ("b", POINTER(c_double)),
                ("G", POINTER(c_double)), ("h", POINTER(c_double)),
                ("lower", POINTER(c_double)), ("upper", POINTER(c_double))]


class cs_qp_settings(Structure):
    _fields_ = [("size", c_size_t), ("eps_abs", c_double), ("eps_rel", c_double),
                ("eps_infeasible", c_double), ("max_iter", c_int),
                ("equilibrate_iter", c_int), ("static_reg", c_double),
                ("refine_iter", c_int)]


class cs_qp_result(Structure):
    _fields_ = [("size", c_size_t), ("x", POINTER(c_double)), ("y", POINTER(c_double)),
                ("z", POINTER(c_double)), ("z_bound", POINTER(c_double)),
                ("objective", c_double), ("dual_objective", c_double),
                ("primal_residual", c_double), ("dual_residual", c_double),
                ("gap", c_double), ("iterations", c_int)]


#: Size-prefixed structs and the C function that prepares each; the tests
#: check that the library accepts exactly ``sizeof`` of every one of them.
INIT_FUNCTIONS: Dict[type, str] = {
    cs_pool_options: "cs_pool_options_init",
    cs_node_spec: "cs_node_spec_init",
    cs_fit_query: "cs_fit_query_init",
    cs_task_spec: "cs_task_spec_init",
    cs_fair_options: "cs_fair_options_init",
    cs_queue_options: "cs_queue_options_init",
    cs_sched_options: "cs_sched_options_init",
    cs_lsq_options: "cs_lsq_options_init",
    cs_lsq_stats: "cs_lsq_stats_init",
    cs_lsq_poly: "cs_lsq_poly_init",
    cs_rls_options: "cs_rls_options_init",
    cs_rls_info: "cs_rls_info_init",
    cs_predict_options: "cs_predict_options_init",
    cs_predict_model_info: "cs_predict_model_info_init",
    cs_balance_problem: "cs_balance_problem_init",
    cs_balance_int_problem: "cs_balance_int_problem_init",
    cs_balance_result: "cs_balance_result_init",
    cs_qp_problem: "cs_qp_problem_init",
    cs_qp_settings: "cs_qp_settings_init",
    cs_qp_result: "cs_qp_result_init",
}

# --------------------------------------------------------------------------
# Prototypes. STATUS marks a function returning cs_status: it gets the error
# choke point as errcheck. Opaque handles are void pointers.
# --------------------------------------------------------------------------

STATUS = "status"
H = c_void_p                      # any opaque handle
PH = POINTER(c_void_p)            # handle out-parameter
P = POINTER
pd, pi64, pu64, pu32, psz = P(c_double), P(c_int64), P(c_uint64), P(c_uint32), P(c_size_t)
palloc = P(cs_allocator)

PROTOTYPES: Dict[str, Tuple[Any, List[Any]]] = {
    # common.h
    "cs_status_str": (c_char_p, [c_int]),
    "cs_status_name": (c_char_p, [c_int]),
    "cs_version": (c_char_p, []),
    "cs_version_number": (c_int, []),
    # task.h
    "cs_task_spec_init": (STATUS, [P(cs_task_spec), c_size_t]),
    "cs_task_spec_validate": (STATUS, [P(cs_task_spec), c_size_t]),
    # pool.h
    "cs_pool_options_init": (STATUS, [P(cs_pool_options), c_size_t]),
    "cs_node_spec_init": (STATUS, [P(cs_node_spec), c_size_t]),
    "cs_fit_query_init": (STATUS, [P(cs_fit_query), c_size_t]),
    "cs_pool_create": (STATUS, [c_size_t, P(c_char_p), P(cs_pool_options), palloc, PH]),
    "cs_pool_destroy": (None, [H]),
    "cs_pool_num_resources": (c_size_t, [H]),
    "cs_pool_resource_name": (c_char_p, [H, c_size_t]),
    "cs_pool_resource_index": (STATUS, [H, c_char_p, psz]),
    "cs_pool_add_node": (STATUS, [H, c_uint64, P(cs_node_spec), pu64]),
    "cs_pool_remove_node": (STATUS, [H, c_uint64, ctypes.c_uint, P(cs_allocation_info),
                                     c_size_t, psz]),
    "cs_pool_set_node_state": (STATUS, [H, c_uint64, c_enum]),
    "cs_pool_set_node_capacity": (STATUS, [H, c_uint64, pi64]),
    "cs_pool_node_info": (STATUS, [H, c_uint64, P(cs_node_info), pi64, pi64, pi64]),
    "cs_pool_node_label": (STATUS, [H, c_uint64, c_size_t, P(cs_label)]),
    "cs_pool_node_label_value": (STATUS, [H, c_uint64, c_char_p, P(c_char_p)]),
    "cs_pool_num_nodes": (c_size_t, [H]),
    "cs_pool_nodes": (STATUS, [H, pu64, c_size_t, psz]),
    "cs_pool_allocate": (STATUS, [H, c_uint64, pi64, c_uint64, pu64]),
    "cs_pool_release": (STATUS, [H, c_uint64]),
    "cs_pool_resize": (STATUS, [H, c_uint64, pi64]),
    "cs_pool_allocation": (STATUS, [H, c_uint64, P(cs_allocation_info), pi64]),
    "cs_pool_node_allocations": (STATUS, [H, c_uint64, P(cs_allocation_info), c_size_t,
                                          psz]),
    "cs_pool_num_allocations": (c_size_t, [H]),
    "cs_pool_fit": (STATUS, [H, c_enum, P(cs_fit_query), pu64]),
    "cs_pool_totals": (STATUS, [H, c_uint32, pi64, pi64, pi64]),
    "cs_pool_utilization": (STATUS, [H, c_uint32, pd]),
    "cs_pool_cost": (STATUS, [H, c_uint32, pd]),
    "cs_pool_check": (STATUS, [H]),
    # fair.h
    "cs_fair_options_init": (STATUS, [P(cs_fair_options), c_size_t]),
    "cs_fair_create": (STATUS, [P(cs_fair_options), palloc, PH]),
    "cs_fair_destroy": (None, [H]),
    "cs_fair_set_weight": (STATUS, [H, c_uint64, c_double]),
    "cs_fair_remove_tenant": (STATUS, [H, c_uint64]),
    "cs_fair_charge": (STATUS, [H, c_uint64, c_double, c_double]),
    "cs_fair_set_capacity": (STATUS, [H, pi64, c_size_t]),
    "cs_fair_allocate": (STATUS, [H, c_uint64, pi64, c_size_t]),
    "cs_fair_release": (STATUS, [H, c_uint64, pi64, c_size_t]),
    "cs_fair_usage": (STATUS, [H, c_uint64, c_double, pd]),
    "cs_fair_factor": (STATUS, [H, c_uint64, pd]),
    "cs_fair_dominant_share": (STATUS, [H, c_uint64, pd, pd]),
    "cs_fair_weight": (STATUS, [H, c_uint64, pd]),
    "cs_fair_allocation": (STATUS, [H, c_uint64, pi64, c_size_t]),
    "cs_fair_tenants": (STATUS, [H, pu64, c_size_t, psz]),
    "cs_fair_num_tenants": (c_size_t, [H]),
    # queue.h
    "cs_queue_options_init": (STATUS, [P(cs_queue_options), c_size_t]),
    "cs_queue_create": (STATUS, [P(cs_queue_options), palloc, PH]),
    "cs_queue_destroy": (None, [H]),
    "cs_queue_push": (STATUS, [H, P(cs_task_spec), c_double]),
    "cs_queue_remove": (STATUS, [H, c_uint64]),
    "cs_queue_peek": (STATUS, [H, c_double, pu64]),
    "cs_queue_pop": (STATUS, [H, c_double, pu64]),
    "cs_queue_order": (STATUS, [H, c_double, pu64, c_size_t, psz]),
    "cs_queue_set_estimate": (STATUS, [H, c_uint64, c_double]),
    "cs_queue_set_priority": (STATUS, [H, c_uint64, c_int64]),
    "cs_queue_size": (c_size_t, [H]),
    "cs_queue_contains": (c_bool, [H, c_uint64]),
    "cs_queue_check": (STATUS, [H]),
    # sched.h
    "cs_sched_options_init": (STATUS, [P(cs_sched_options), c_size_t]),
    "cs_sched_create": (STATUS, [H, P(cs_sched_options), palloc, PH]),
    "cs_sched_destroy": (None, [H]),
    "cs_sched_submit": (STATUS, [H, P(cs_task_spec), c_double]),
    "cs_sched_step": (STATUS, [H, c_double, P(cs_decision), c_size_t, psz]),
    "cs_sched_complete": (STATUS, [H, c_uint64, c_double]),
    "cs_sched_fail": (STATUS, [H, c_uint64, c_double]),
    "cs_sched_cancel": (STATUS, [H, c_uint64, c_double]),
    "cs_sched_node_down": (STATUS, [H, c_uint64, c_double, pu64, c_size_t, psz]),
    "cs_sched_drain_node": (STATUS, [H, c_uint64, c_double]),
    "cs_sched_node_up": (STATUS, [H, c_uint64, c_double]),
    "cs_sched_task_info": (STATUS, [H, c_uint64, P(cs_task_info)]),
    "cs_sched_task_placement": (STATUS, [H, c_uint64, pu64, pu64, c_size_t, psz]),
    "cs_sched_counts_get": (STATUS, [H, P(cs_sched_counts)]),
    "cs_sched_pending_order": (STATUS, [H, c_double, pu64, c_size_t, psz]),
    "cs_sched_set_tenant_weight": (STATUS, [H, c_uint64, c_double]),
    "cs_sched_tenant_usage": (STATUS, [H, c_uint64, c_double, pd, pd]),
    "cs_sched_forget": (STATUS, [H, c_uint64]),
    "cs_sched_check": (STATUS, [H]),
    # lsq.h (matrices are passed as void pointers: numpy memory or ctypes arrays)
    "cs_lsq_options_init": (STATUS, [P(cs_lsq_options), c_size_t]),
    "cs_lsq_stats_init": (STATUS, [P(cs_lsq_stats), c_size_t]),
    "cs_lsq_poly_init": (STATUS, [P(cs_lsq_poly), c_size_t]),
    "cs_lsq_create": (STATUS, [c_size_t, c_size_t, P(cs_lsq_options), palloc, PH]),
    "cs_lsq_destroy": (None, [H]),
    "cs_lsq_fit": (STATUS, [H, c_enum, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p,
                            c_void_p, c_size_t, c_void_p, P(cs_lsq_stats)]),
    "cs_lsq_fit_bounded": (STATUS, [H, c_enum, c_void_p, c_size_t, c_void_p, c_size_t,
                                    c_void_p, c_void_p, c_void_p, c_void_p, c_size_t,
                                    P(cs_lsq_stats)]),
    "cs_lsq_fit_nnls": (STATUS, [H, c_enum, c_void_p, c_size_t, c_void_p, c_size_t,
                                 c_void_p, c_void_p, c_size_t, P(cs_lsq_stats)]),
    "cs_lsq_solve": (STATUS, [c_size_t, c_size_t, P(cs_lsq_options), c_enum, c_void_p,
                              c_size_t, c_void_p, c_size_t, c_void_p, c_void_p, c_size_t,
                              c_void_p, P(cs_lsq_stats), palloc]),
    "cs_lsq_line": (STATUS, [c_size_t, c_void_p, c_void_p, c_void_p, pd, pd,
                             P(cs_lsq_stats)]),
    "cs_lsq_polyfit": (STATUS, [c_size_t, c_void_p, c_void_p, c_void_p, c_size_t,
                                P(cs_lsq_poly), pd, P(cs_lsq_stats), palloc]),
    "cs_lsq_poly_eval": (STATUS, [P(cs_lsq_poly), c_size_t, c_void_p, c_void_p]),
    # rls.h
    "cs_rls_options_init": (STATUS, [P(cs_rls_options), c_size_t]),
    "cs_rls_info_init": (STATUS, [P(cs_rls_info), c_size_t]),
    "cs_rls_create": (STATUS, [c_size_t, P(cs_rls_options), palloc, PH]),
    "cs_rls_destroy": (None, [H]),
    "cs_rls_reset": (STATUS, [H]),
    "cs_rls_update": (STATUS, [H, c_void_p, c_double]),
    "cs_rls_update_block": (STATUS, [H, c_enum, c_size_t, c_void_p, c_size_t, c_void_p]),
    "cs_rls_coefficients": (STATUS, [H, pd]),
    "cs_rls_coefficients_ridge": (STATUS, [H, c_double, pd]),
    "cs_rls_predict": (STATUS, [H, c_void_p, pd]),
    "cs_rls_get_info": (STATUS, [H, P(cs_rls_info)]),
    # predict.h
    "cs_predict_options_init": (STATUS, [P(cs_predict_options), c_size_t]),
    "cs_predict_model_info_init": (STATUS, [P(cs_predict_model_info), c_size_t]),
    "cs_predict_create": (STATUS, [P(cs_predict_options), palloc, PH]),
    "cs_predict_destroy": (None, [H]),
    "cs_predict_observe": (STATUS, [H, c_uint64, c_void_p, c_size_t, c_double, c_double]),
    "cs_predict_estimate": (STATUS, [H, c_uint64, c_void_p, c_size_t, c_double, pd, pd,
                                     P(c_enum)]),
    "cs_predict_extend": (STATUS, [c_double, c_double, c_double, pd]),
    "cs_predict_get_model_info": (STATUS, [H, c_uint64, P(cs_predict_model_info)]),
    "cs_predict_coefficients": (STATUS, [H, c_uint64, pd, c_size_t, psz]),
    "cs_predict_num_keys": (c_size_t, [H]),
    "cs_predict_source_name": (c_char_p, [c_enum]),
    # balance.h (vectors and row-major matrices as void pointers)
    "cs_balance_workspace_create": (STATUS, [palloc, PH]),
    "cs_balance_workspace_destroy": (None, [H]),
    "cs_balance_workspace_reserve": (STATUS, [H, c_size_t]),
    "cs_balance_problem_init": (STATUS, [P(cs_balance_problem), c_size_t]),
    "cs_balance_int_problem_init": (STATUS, [P(cs_balance_int_problem), c_size_t]),
    "cs_balance_result_init": (STATUS, [P(cs_balance_result), c_size_t]),
    "cs_balance_solve": (STATUS, [H, P(cs_balance_problem), c_void_p, P(cs_balance_result)]),
    "cs_balance_solve_int": (STATUS, [H, P(cs_balance_int_problem), c_void_p,
                                      P(cs_balance_result)]),
    "cs_balance_utilisation": (STATUS, [H, c_size_t, c_void_p, c_void_p, c_double, c_enum,
                                        c_void_p, P(cs_balance_result)]),
    "cs_balance_utilisation_int": (STATUS, [H, c_size_t, c_void_p, c_void_p, c_int64,
                                            c_enum, c_void_p, P(cs_balance_result)]),
    "cs_balance_multi": (STATUS, [H, c_size_t, c_size_t, c_void_p, c_void_p, c_void_p,
                                  c_void_p, c_double, c_enum, c_void_p,
                                  P(cs_balance_result)]),
    "cs_balance_multi_int": (STATUS, [H, c_size_t, c_size_t, c_void_p, c_void_p, c_void_p,
                                      c_void_p, c_int64, c_enum, c_void_p,
                                      P(cs_balance_result)]),
    "cs_balance_per_dimension": (STATUS, [H, c_size_t, c_size_t, c_void_p, c_void_p,
                                          c_void_p, c_enum, c_void_p,
                                          P(cs_balance_result)]),
    "cs_balance_max_min": (STATUS, [H, c_size_t, c_void_p, c_void_p, c_double, c_void_p,
                                    P(cs_balance_result)]),
    "cs_balance_max_min_int": (STATUS, [H, c_size_t, c_void_p, c_void_p, c_int64, c_void_p,
                                        P(cs_balance_result)]),
    # qp.h
    "cs_qp_problem_init": (STATUS, [P(cs_qp_problem), c_size_t]),
    "cs_qp_settings_init": (STATUS, [P(cs_qp_settings), c_size_t]),
    "cs_qp_result_init": (STATUS, [P(cs_qp_result), c_size_t]),
    "cs_qp_workspace_create": (STATUS, [c_size_t, c_size_t, c_size_t, palloc, PH]),
    "cs_qp_workspace_destroy": (None, [H]),
    "cs_qp_solve": (STATUS, [H, P(cs_qp_problem), P(cs_qp_settings), P(cs_qp_result)]),
}

# --------------------------------------------------------------------------
# Error choke point.
# --------------------------------------------------------------------------


def _errcheck(result: int, func: Any, args: Tuple[Any, ...]) -> int:
    """ctypes errcheck of every cs_status function: raise on a non-OK status."""
    if result != 0:
        raise_status(result, func.__name__)
    return result


def raise_status(status: int, function: Optional[str] = None,
                 detail: Optional[str] = None) -> None:
    """Raise the exception for ``status`` with the library's own text.

    Used by the errcheck of every C call and by the bindings' own checks (for
    instance an array of the wrong length, caught before C would read past it).
    """
    text = lib.cs_status_str(status).decode()
    name = lib.cs_status_name(status).decode()
    raise error_for(status, text, name, function, detail)


def check_dimension(what: str, got: int, want: int) -> None:
    """Raise DimensionMismatch when an array has the wrong number of entries."""
    if got != want:
        raise_status(Status.ERR_DIMENSION, None,
                     f"{what} has {got} entries, {want} expected")


def closed_error(what: str) -> ClosedError:
    """The exception for the use of a closed handle."""
    return ClosedError(Status.ERR_STATE, f"{what} is closed", "CS_ERR_STATE")


# --------------------------------------------------------------------------
# Library lookup.
# --------------------------------------------------------------------------

_LIB_NAMES = ("libcloudsched.so", "libcloudsched.dylib", "cloudsched.dll",
              "libcloudsched.dll")


def _checkout_candidates() -> List[str]:
    """Shared libraries in build*/src of the source checkout holding this package."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, os.pardir, os.pardir, os.pardir))
    found = []
    for pattern in ("libcloudsched.so*", "libcloudsched*.dylib", "*cloudsched*.dll"):
        found += glob.glob(os.path.join(root, "build*", "src", pattern))
    # build/ first (meson's usual name), then the others by name; within one
    # build the unversioned name first. (Not "newest first": a sanitizer
    # build cannot be loaded into a plain interpreter, and guessing must not
    # pick it just because it was built last.)
    def order(f: str) -> Tuple[int, str, int, str]:
        build = os.path.basename(os.path.dirname(os.path.dirname(f)))
        return (0 if build == "build" else 1, build, len(f), f)

    seen, ordered = set(), []
    for f in sorted(found, key=order):
        real = os.path.realpath(f)
        if real not in seen:
            seen.add(real)
            ordered.append(f)
    return ordered or [os.path.join(root, "build*", "src", "libcloudsched.so")]


class _Library:
    """The loaded library; C functions appear as attributes once it is loaded.

    Attribute lookup of a ``cs_*`` name triggers the default search the first
    time, so importing the package never fails for lack of the library.
    """

    def __init__(self) -> None:
        self.cdll: Optional[ctypes.CDLL] = None
        self.path: Optional[str] = None
        self.missing: List[str] = []

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not yet set, i.e. before loading or for
        # a function the loaded library lacks.
        if not name.startswith("cs_"):
            raise AttributeError(name)
        if self.cdll is None:
            load_library()
            if name in self.__dict__:
                return self.__dict__[name]
        raise AttributeError(f"{name} is not exported by the loaded libcloudsched "
                             f"({self.path}); it is older than these bindings")

    def has(self, name: str) -> bool:
        """Whether the loaded library exports a function (loads it if needed)."""
        if self.cdll is None:
            load_library()
        return name in self.__dict__

    def _bind(self, cdll: ctypes.CDLL, path: str) -> None:
        missing = []
        for name, (restype, argtypes) in PROTOTYPES.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                missing.append(name)
                continue
            fn.argtypes = argtypes
            if restype is STATUS:
                fn.restype = c_int
                fn.errcheck = _errcheck
            else:
                fn.restype = restype
            self.__dict__[name] = fn
        self.cdll, self.path, self.missing = cdll, path, missing


#: The library. ``lib.cs_pool_create(...)`` etc.; loaded on first use.
lib = _Library()


def _try_load(path: str, tried: List[str]) -> Optional[ctypes.CDLL]:
    try:
        cdll = ctypes.CDLL(path)
    except OSError as e:
        tried.append(f"{path}: {e}")
        return None
    try:
        cdll.cs_version_number.restype = c_int
        cdll.cs_version_number.argtypes = []
        number = cdll.cs_version_number()
    except AttributeError:
        tried.append(f"{path}: not libcloudsched (no cs_version_number)")
        return None
    if number // 10000 != ABI_MAJOR:
        tried.append(f"{path}: version {number} has ABI major {number // 10000}, "
                     f"these bindings need {ABI_MAJOR}")
        return None
    return cdll


def load_library(path: Optional[str] = None) -> str:
    """Load libcloudsched and declare its functions; return the path loaded.

    Args:
        path: the shared library to load. ``None`` searches: the
            ``CLOUDSCHED_LIBRARY`` environment variable, then ``build*/src`` of
            the source checkout, then ``ctypes.util.find_library``.

    Raises:
        ImportError: nothing could be loaded; the message lists what was tried.
        RuntimeError: a different library was already loaded (objects created
            with one library cannot be used with another).
    """
    if lib.cdll is not None:
        if path is None or os.path.realpath(path) == os.path.realpath(lib.path or ""):
            return lib.path or ""
        raise RuntimeError(f"libcloudsched is already loaded from {lib.path}")
    tried: List[str] = []
    final = False
    if path is not None:
        candidates, final = [path], True
    elif os.environ.get("CLOUDSCHED_LIBRARY"):
        candidates, final = [os.environ["CLOUDSCHED_LIBRARY"]], True
        tried.append("(from CLOUDSCHED_LIBRARY)")
    else:
        candidates = _checkout_candidates()
    for c in candidates:
        if os.path.dirname(c) and not os.path.exists(c):
            tried.append(f"{c}: no such file")
            continue
        cdll = _try_load(c, tried)
        if cdll is not None:
            lib._bind(cdll, c)
            return c
    if not final:
        name = ctypes.util.find_library("cloudsched")
        if name is None:
            tried.append("ctypes.util.find_library('cloudsched'): not found")
        else:
            cdll = _try_load(name, tried)
            if cdll is not None:
                lib._bind(cdll, name)
                return name
    raise ImportError("libcloudsched could not be loaded. Tried:\n  " + "\n  ".join(tried)
                      + "\nBuild it (meson setup build && meson compile -C build), set "
                      "CLOUDSCHED_LIBRARY to the path of libcloudsched.so, or call "
                      "cloudsched.load_library(path).")


def library_path() -> str:
    """The path of the loaded library (loading it if needed)."""
    return load_library()


# --------------------------------------------------------------------------
# Helpers shared by the wrappers.
# --------------------------------------------------------------------------


def init_struct(struct_type: type) -> Any:
    """A struct prepared by its cs_X_init(&x, sizeof x) (defaults filled in)."""
    s = struct_type()
    getattr(lib, INIT_FUNCTIONS[struct_type])(ctypes.byref(s), ctypes.sizeof(s))
    return s


def output_struct(struct_type: type) -> Any:
    """An output struct whose ``size`` member is set by the caller (no init function)."""
    s = struct_type()
    s.size = ctypes.sizeof(s)
    return s


def new_handle() -> c_void_p:
    """A NULL handle to pass as the out-parameter of cs_X_create."""
    return c_void_p()


_U64_MAX = (1 << 64) - 1
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def as_id(value: Any, what: str = "id", allow_none_id: bool = False) -> int:
    """Check a uint64 id: an int in [0, 2^64 - 1) (ctypes would wrap silently)."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = value.__index__()
        except (AttributeError, TypeError):
            raise_status(Status.ERR_INVALID, None, f"{what} must be an integer, "
                         f"not {type(value).__name__}")
    if not 0 <= value <= _U64_MAX or (value == ID_NONE and not allow_none_id):
        raise_status(Status.ERR_INVALID, None, f"{what} {value} is outside [0, 2^64 - 1)")
    return value


def as_u32(value: Any, what: str) -> int:
    """Check a uint32 argument."""
    value = as_int(value, what)
    if not 0 <= value < (1 << 32):
        raise_status(Status.ERR_INVALID, None, f"{what} {value} is outside [0, 2^32)")
    return value


def as_int(value: Any, what: str) -> int:
    """An integer argument (bool and integral numpy scalars accepted)."""
    if isinstance(value, int):
        return int(value)
    try:
        return value.__index__()
    except (AttributeError, TypeError):
        raise_status(Status.ERR_INVALID, None,
                     f"{what} must be an integer, not {type(value).__name__}")
    raise AssertionError  # unreachable


def as_count(value: Any, what: str) -> int:
    """A non-negative count (size_t)."""
    value = as_int(value, what)
    if value < 0:
        raise_status(Status.ERR_INVALID, None, f"{what} {value} is negative")
    return value


def as_i64(value: Any, what: str) -> int:
    """Check an int64 argument."""
    value = as_int(value, what)
    if not _I64_MIN <= value <= _I64_MAX:
        raise_status(Status.ERR_OVERFLOW, None, f"{what} {value} does not fit in int64")
    return value


def as_float(value: Any, what: str) -> float:
    """A double argument (NaN and Inf are passed on: the library rejects them)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise_status(Status.ERR_INVALID, None,
                     f"{what} must be a number, not {type(value).__name__}")
    raise AssertionError  # unreachable


def fill_buffer(ctype: Any, call: Callable[[Any, int, Any], Any],
                capacity: int = 16) -> Tuple[Any, int]:
    """Call ``call(buffer, capacity, byref(count))`` until the buffer is big enough.

    The C functions that fill caller buffers report ``CS_ERR_BUFFER_TOO_SMALL``
    with the needed count in their count out-parameter (and change nothing);
    this retries once with exactly that capacity. Returns ``(buffer, count)``.
    """
    from .errors import BufferTooSmall
    while True:
        buf = (ctype * capacity)()
        count = c_size_t(0)
        try:
            call(buf, capacity, ctypes.byref(count))
        except BufferTooSmall:
            if count.value <= capacity:  # would loop forever: a library bug
                raise
            capacity = count.value
            continue
        return buf, count.value


def decode(b: Optional[bytes]) -> Optional[str]:
    """A C string as str (None for NULL)."""
    return None if b is None else b.decode()


def encode(s: str, what: str) -> bytes:
    """A str as a C string, rejecting embedded NULs."""
    if not isinstance(s, str):
        raise_status(Status.ERR_INVALID, None, f"{what} must be a str")
    b = s.encode()
    if b"\0" in b:
        raise_status(Status.ERR_INVALID, None, f"{what} contains a NUL character")
    return b


def as_enum(cls: Any, value: Any, what: str) -> int:
    """An enum argument: a member, its int value, or its name (any case)."""
    try:
        if isinstance(value, str):
            return int(cls[value.upper().replace("-", "_")])
        return int(cls(value))
    except (KeyError, ValueError):
        names = ", ".join(m.name.lower() for m in cls)
        raise_status(Status.ERR_INVALID, None,
                     f"{what} {value!r} is not one of: {names}")
    raise AssertionError  # unreachable
