"""The scheduler loop: submit tasks, step the clock, get placement decisions;
gangs, backfilling, preemption and node failures (C: sched.h).

The caller owns time and the real work::

    sched.submit(task, now)          # a task arrives
    for d in sched.step(now):        # decisions, already applied to the pool
        ...start d.task on d.node...
    sched.complete(task_id, now)     # the work finished
"""

from __future__ import annotations

import enum
from ctypes import byref, c_double, c_size_t, c_uint64
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from . import _arrays, _lib
from ._handle import Allocator, Handle, allocator_arg
from ._lib import (ID_NONE, cs_decision, cs_sched_counts, cs_sched_options, cs_task_info,
                   lib)
from .errors import BufferTooSmall
from .pool import Pool
from .predict import Predictor, PredictSource
from .queue import QueuePolicy
from .task import Task

__all__ = ["Placement", "HeadOfLine", "TaskState", "DecisionKind", "DecisionReason",
           "Decision", "TaskInfo", "Counts", "Scheduler"]


class Placement(enum.IntEnum):
    """How replicas are placed on nodes (``cs_placement``); see sched.h."""

    FIRST_FIT = 0         #: first fitting node in (partition, id) order
    BEST_FIT = 1          #: least free capacity left (bin packing)
    WORST_FIT = 2         #: most free capacity left (spreading)
    LEAST_ALLOCATED = 3   #: lowest utilisation after placement (kube LeastAllocated)
    MOST_ALLOCATED = 4    #: highest utilisation after placement (kube MostAllocated)
    BALANCED = 5          #: most even utilisation across resources
    DOT_PRODUCT = 6       #: best alignment of demand and free vectors (Tetris)
    CHEAPEST = 7          #: lowest cost rate of the replica
    LOCALITY = 8          #: preferred nodes and zones first
    LOAD_BALANCE = 9      #: batch: equalise utilisations across nodes (balance)


class HeadOfLine(enum.IntEnum):
    """What a step does when a task cannot start now (``cs_head_of_line``)."""

    STRICT = 0    #: stop: nothing behind it starts
    SKIP = 1      #: later tasks may take any free space
    BACKFILL = 2  #: reserve for it; later tasks may not delay reservations


class TaskState(enum.IntEnum):
    """A task's life cycle (``cs_task_state``)."""

    PENDING = 0
    RUNNING = 1
    DONE = 2
    CANCELLED = 3
    FAILED = 4


class DecisionKind(enum.IntEnum):
    """Kind of a decision."""

    START = 0    #: start ``task`` with ``replicas`` replicas (first on ``node``)
    PREEMPT = 1  #: stop ``task`` now; it went back to the queue


class DecisionReason(enum.IntEnum):
    """Why a decision was made."""

    IN_ORDER = 0
    SKIP_AHEAD = 1
    BACKFILL = 2
    AFTER_PREEMPTION = 3
    PREEMPTED = 4


@dataclass(frozen=True)
class Decision:
    """One decision of a step. Apply decisions in list order: a preemption
    comes right before the start it makes room for.

    Attributes:
        kind: START or PREEMPT.
        reason: why.
        task: the task started or preempted.
        related: PREEMPT: the task it makes room for; else None.
        node: START: the first replica's node; PREEMPT: where room was made.
        alloc_id: START: the first replica's allocation id; else None.
        replicas: START: replicas started (see Scheduler.task_placement).
    """

    kind: DecisionKind
    reason: DecisionReason
    task: int
    related: Optional[int]
    node: int
    alloc_id: Optional[int]
    replicas: int


@dataclass(frozen=True)
class TaskInfo:
    """Everything about one task (``cs_task_info``); times are NaN when not reached."""

    state: TaskState
    tenant: int
    priority: int
    submit_time: float
    start_time: float
    end_time: float
    estimate: float
    replicas: int
    preemptions: int
    user_estimate: float
    #: where ``estimate`` came from: a PredictSource, or None for the submitted one
    estimate_source: Optional[PredictSource]


@dataclass(frozen=True)
class Counts:
    """Task counts by state; submitted = pending + running + done + cancelled + failed."""

    submitted: int
    pending: int
    running: int
    done: int
    cancelled: int
    failed: int


_KINDS = list(DecisionKind)
_REASONS = list(DecisionReason)


class Scheduler(Handle):
    """The scheduler (``cs_sched``) over a :class:`~cloudsched.Pool`.

    Example::

        pool = Pool(["cpu_milli", "mem_mib"])
        pool.add_node([8000, 32768], 1)
        sched = Scheduler(pool, placement="best_fit")   # FCFS + EASY backfilling
        sched.submit(Task(1, [4000, 8192], runtime_estimate=40), now=0)
        for d in sched.step(now=0):      # [Decision(kind=START, task=1, node=1, ...)]
            ...                           # start the work
        sched.complete(1, now=30)

    Options left as ``None`` take the library's defaults [in brackets]:

    Args:
        pool: the pool, borrowed (the scheduler keeps it alive). Nodes may
            be added to it directly at any time; failures and drains go
            through the scheduler.
        policy: queue order, a QueuePolicy or its name [FCFS].
        placement: placement strategy, a Placement or its name [FIRST_FIT].
        head_of_line: rule for blocked tasks [BACKFILL].
        backfill_depth: reservations per step; 1 = EASY,
            BACKFILL_CONSERVATIVE = one per blocked task [1].
        aging_slope: priority per second of waiting (PRIORITY) [0].
        default_runtime: service time for SJF/HRRN without an estimate [3600].
        preemption: blocked tasks may preempt lower priorities [False].
        fail_on_node_down: tasks on a failed node fail instead of requeueing [False].
        max_scan: pending tasks examined per step, 0 = all [0].
        resource_weights: per-resource weights of scored strategies [all 1].
        fair_half_life: half-life of usage decay, seconds [604800].
        predictor: a Predictor to train on completions (borrowed).
        use_predictions: SJF/HRRN and backfilling use the predictor [False].
        allocator: memory hooks; None = malloc.

    Raises:
        InvalidArgument: unknown enum values, bad weights, negative values.
        OutOfMemory.

    Not thread-safe: a scheduler and its pool belong to one thread at a time.
    """

    def __init__(self, pool: Pool, *,
                 policy: Optional[QueuePolicy] = None,
                 placement: Optional[Placement] = None,
                 head_of_line: Optional[HeadOfLine] = None,
                 backfill_depth: Optional[int] = None,
                 aging_slope: Optional[float] = None,
                 default_runtime: Optional[float] = None,
                 preemption: Optional[bool] = None,
                 fail_on_node_down: Optional[bool] = None,
                 max_scan: Optional[int] = None,
                 resource_weights: Optional[Sequence[float]] = None,
                 fair_half_life: Optional[float] = None,
                 predictor: Optional[Predictor] = None,
                 use_predictions: Optional[bool] = None,
                 allocator: Optional[Allocator] = None) -> None:
        o = _lib.init_struct(cs_sched_options)
        if policy is not None:
            o.policy = _lib.as_enum(QueuePolicy, policy, "policy")
        if placement is not None:
            o.placement = _lib.as_enum(Placement, placement, "placement")
        if head_of_line is not None:
            o.head_of_line = _lib.as_enum(HeadOfLine, head_of_line, "head_of_line")
        if backfill_depth is not None:
            o.backfill_depth = _lib.as_u32(backfill_depth, "backfill_depth")
        if aging_slope is not None:
            o.aging_slope = _lib.as_float(aging_slope, "aging_slope")
        if default_runtime is not None:
            o.default_runtime = _lib.as_float(default_runtime, "default_runtime")
        if preemption is not None:
            o.preemption = int(bool(preemption))
        if fail_on_node_down is not None:
            o.fail_on_node_down = int(bool(fail_on_node_down))
        if max_scan is not None:
            o.max_scan = _lib.as_u32(max_scan, "max_scan")
        weights = None
        if resource_weights is not None:
            weights, _ = _arrays.f64_vector(resource_weights, "resource_weights",
                                            pool.num_resources)
            o.resource_weights = weights
        if fair_half_life is not None:
            o.fair_half_life = _lib.as_float(fair_half_life, "fair_half_life")
        lenders: List[Handle] = [pool]
        if predictor is not None:
            o.predictor = predictor._h()
            lenders.append(predictor)
        if use_predictions is not None:
            o.use_predictions = int(bool(use_predictions))
        out = _lib.new_handle()
        lib.cs_sched_create(pool._h(), byref(o), allocator_arg(allocator), byref(out))
        self._adopt(out.value, "cs_sched_destroy", lenders, allocator)
        self._pool = pool
        self._predictor = predictor
        self._p = pool.num_resources
        self._buf_cap = 64
        self._buf = (cs_decision * self._buf_cap)()
        self._count = c_size_t()
        self.policy = QueuePolicy(o.policy)
        self.placement = Placement(o.placement)
        self.head_of_line = HeadOfLine(o.head_of_line)
        self.backfill_depth = o.backfill_depth

    @property
    def pool(self) -> Pool:
        """The borrowed pool."""
        return self._pool

    @property
    def predictor(self) -> Optional[Predictor]:
        """The borrowed predictor, if any."""
        return self._predictor

    # -- the loop ----------------------------------------------------------------

    def submit(self, task: Task, now: float) -> None:
        """Submit a task: it becomes pending.

        Raises:
            InvalidArgument: invalid spec or ``now`` going backwards.
            DimensionMismatch: demand length differs from the pool's (or the
                feature count from the predictor's).
            AlreadyExists: the id is in use and was not forgotten.
            Overflow, OutOfMemory.
        """
        h = self._h()
        spec, keep = task._spec()
        _lib.check_dimension("demand", spec.num_resources, self._p)
        lib.cs_sched_submit(h, byref(spec), _lib.as_float(now, "now"))
        del keep

    def step(self, now: float, max_decisions: Optional[int] = None) -> List[Decision]:
        """Make the scheduling decisions at time ``now`` and return them.

        The decisions are already applied (allocations made, preempted tasks
        pending again). With ``max_decisions`` the step stops after that many
        (never splitting a preemption from the start it makes room for) and
        the next step continues; by default every possible decision is made.

        Raises:
            InvalidArgument: ``now`` going backwards.
            OutOfMemory: nothing changed.
        """
        h = self._h()
        t = _lib.as_float(now, "now")
        decisions: List[Decision] = []
        limit = None if max_decisions is None else _lib.as_count(max_decisions,
                                                                 "max_decisions")
        if limit == 0:
            _lib.raise_status(_lib.Status.ERR_INVALID, None, "max_decisions must be > 0")
        buf, count = self._buf, self._count
        while True:
            cap = self._buf_cap if limit is None else min(self._buf_cap,
                                                          limit - len(decisions))
            lib.cs_sched_step(h, t, buf, cap, byref(count))
            n = count.value
            for i in range(n):
                d = buf[i]
                related, alloc = d.related, d.alloc_id
                decisions.append(Decision(
                    _KINDS[d.kind], _REASONS[d.reason], d.task,
                    None if related == ID_NONE else related, d.node,
                    None if alloc == ID_NONE else alloc, d.replicas))
            # A full buffer means the step stopped early: continue at the same now.
            if n < cap or (limit is not None and len(decisions) >= limit):
                return decisions

    def complete(self, task: int, now: float) -> None:
        """A running task finished: release it, charge its tenant, train the predictor.

        Raises:
            NotFound; InvalidState (not running); InvalidArgument (time); OutOfMemory.
        """
        lib.cs_sched_complete(self._h(), _lib.as_id(task, "task id"),
                              _lib.as_float(now, "now"))

    def fail(self, task: int, now: float) -> None:
        """A running task failed by itself: like complete, but it ends FAILED."""
        lib.cs_sched_fail(self._h(), _lib.as_id(task, "task id"), _lib.as_float(now, "now"))

    def cancel(self, task: int, now: float) -> None:
        """Cancel a pending or running task (InvalidState when already ended)."""
        lib.cs_sched_cancel(self._h(), _lib.as_id(task, "task id"),
                            _lib.as_float(now, "now"))

    def node_down(self, node: int, now: float) -> List[int]:
        """A node failed: mark it down, requeue (or fail) its tasks; return their ids."""
        h = self._h()
        nid, t = _lib.as_id(node, "node id"), _lib.as_float(now, "now")
        buf, count = _lib.fill_buffer(
            c_uint64, lambda b, cap, cnt: lib.cs_sched_node_down(h, nid, t, b, cap, cnt))
        return list(buf[:count])

    def drain_node(self, node: int, now: float) -> None:
        """Drain a node: running tasks stay, nothing new starts there."""
        lib.cs_sched_drain_node(self._h(), _lib.as_id(node, "node id"),
                                _lib.as_float(now, "now"))

    def node_up(self, node: int, now: float) -> None:
        """Return a drained or failed node to service."""
        lib.cs_sched_node_up(self._h(), _lib.as_id(node, "node id"),
                             _lib.as_float(now, "now"))

    # -- queries -------------------------------------------------------------------

    def task_info(self, task: int) -> TaskInfo:
        """Describe a task (NotFound if unknown or forgotten)."""
        info = _lib.output_struct(cs_task_info)
        lib.cs_sched_task_info(self._h(), _lib.as_id(task, "task id"), byref(info))
        src = info.estimate_source
        return TaskInfo(TaskState(info.state), info.tenant, info.priority,
                        info.submit_time, info.start_time, info.end_time, info.estimate,
                        info.replicas, info.preemptions, info.user_estimate,
                        PredictSource(src) if src else None)

    def task_placement(self, task: int) -> List[Tuple[int, int]]:
        """Where a running task runs: ``(node, allocation id)`` per replica.

        Raises:
            NotFound; InvalidState (not running).
        """
        h = self._h()
        tid = _lib.as_id(task, "task id")
        cap = 4
        while True:
            nodes, allocs, count = (c_uint64 * cap)(), (c_uint64 * cap)(), c_size_t()
            try:
                lib.cs_sched_task_placement(h, tid, nodes, allocs, cap, byref(count))
            except BufferTooSmall:
                cap = count.value
                continue
            return list(zip(nodes[: count.value], allocs[: count.value]))

    def counts(self) -> Counts:
        """Task counts by state."""
        c = _lib.output_struct(cs_sched_counts)
        lib.cs_sched_counts_get(self._h(), byref(c))
        return Counts(c.submitted, c.pending, c.running, c.done, c.cancelled, c.failed)

    def pending_order(self, now: float, limit: Optional[int] = None) -> List[int]:
        """Pending task ids in the order the next step would examine them."""
        h = self._h()
        if limit is None:
            c = _lib.output_struct(cs_sched_counts)
            lib.cs_sched_counts_get(h, byref(c))
            cap = c.pending
        else:
            cap = _lib.as_count(limit, "limit")
        buf, count = (c_uint64 * cap)(), c_size_t()
        lib.cs_sched_pending_order(h, _lib.as_float(now, "now"), buf if cap > 0 else None,
                                   cap, byref(count))
        return list(buf[: count.value])

    def set_tenant_weight(self, tenant: int, weight: float) -> None:
        """Set a tenant's fair-share weight (> 0)."""
        lib.cs_sched_set_tenant_weight(self._h(), _lib.as_id(tenant, "tenant"),
                                       _lib.as_float(weight, "weight"))

    def tenant_usage(self, tenant: int, now: float) -> Tuple[float, float]:
        """``(decayed usage, dominant share)`` of a tenant (NotFound if never seen)."""
        usage, share = c_double(), c_double()
        lib.cs_sched_tenant_usage(self._h(), _lib.as_id(tenant, "tenant"),
                                  _lib.as_float(now, "now"), byref(usage), byref(share))
        return usage.value, share.value

    def forget(self, task: int) -> None:
        """Drop the record of an ended task so its id may be reused."""
        lib.cs_sched_forget(self._h(), _lib.as_id(task, "task id"))

    def check(self) -> None:
        """Verify the scheduler's and the pool's invariants (InvalidState on a violation)."""
        lib.cs_sched_check(self._h())

    def __repr__(self) -> str:
        if self._closed:
            return "<Scheduler closed>"
        c = self.counts()
        return (f"<Scheduler policy={self.policy.name} placement={self.placement.name} "
                f"pending={c.pending} running={c.running} done={c.done}>")

