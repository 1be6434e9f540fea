"""Pending tasks ordered by a policy: FCFS, priority with aging, SJF, HRRN,
fair share and DRF (C: queue.h).

Every order is a strict total order whose ties end at the task id. HRRN is
kept in a kinetic tournament, so picking is O(log^2 n) amortised rather than
a scan. ``now`` must not decrease from one peek/pop/order to the next.
"""

from __future__ import annotations

import enum
from ctypes import byref, c_size_t, c_uint64
from typing import List, Optional

from . import _lib
from ._handle import Allocator, Handle, allocator_arg
from ._lib import cs_queue_options, lib
from .fair import Fair
from .task import Task

__all__ = ["QueuePolicy", "Queue"]


class QueuePolicy(enum.IntEnum):
    """Ordering policy (``cs_queue_policy``)."""

    FCFS = 0       #: earliest arrival first
    PRIORITY = 1   #: highest priority + aging_slope * waiting time
    SJF = 2        #: shortest (estimated) job first
    HRRN = 3       #: highest response ratio (wait + s) / s
    FAIRSHARE = 4  #: tenant with the highest fair-share factor, FCFS within
    DRF = 5        #: tenant with the lowest weighted dominant share, FCFS within


class Queue(Handle):
    """A queue of pending tasks (``cs_queue``).

    Example::

        q = Queue(QueuePolicy.SJF)
        q.push(Task(1, [1], runtime_estimate=60), arrival=0)
        q.push(Task(2, [1], runtime_estimate=10), arrival=1)
        q.pop(now=2)   # -> 2

    A FAIRSHARE or DRF queue borrows a :class:`Fair` handle: the queue keeps
    a reference to it, and the Fair handle's C memory outlives the queue.
    """

    def __init__(self, policy: QueuePolicy = QueuePolicy.FCFS, *,
                 aging_slope: Optional[float] = None,
                 default_runtime: Optional[float] = None,
                 fair: Optional[Fair] = None,
                 allocator: Optional[Allocator] = None) -> None:
        """Create an empty queue.

        Args:
            policy: the order (a QueuePolicy, its value or its name).
            aging_slope: priority per second of waiting, >= 0 (PRIORITY) [0].
            default_runtime: service time for tasks without an estimate (SJF,
                HRRN), > 0 [3600].
            fair: the Fair handle (required for FAIRSHARE and DRF).
            allocator: memory hooks; None = malloc.
        """
        opts = _lib.init_struct(cs_queue_options)
        opts.policy = _lib.as_enum(QueuePolicy, policy, "policy")
        if aging_slope is not None:
            opts.aging_slope = _lib.as_float(aging_slope, "aging_slope")
        if default_runtime is not None:
            opts.default_runtime = _lib.as_float(default_runtime, "default_runtime")
        lenders = []
        if fair is not None:
            opts.fair = fair._h()
            lenders.append(fair)
        out = _lib.new_handle()
        lib.cs_queue_create(byref(opts), allocator_arg(allocator), byref(out))
        self._adopt(out.value, "cs_queue_destroy", lenders, allocator)
        self._fair = fair
        self.policy = QueuePolicy(opts.policy)

    @property
    def fair(self) -> Optional[Fair]:
        """The borrowed Fair handle, if any."""
        return self._fair

    def push(self, task: Task, arrival: float) -> None:
        """Add a pending task; a requeued task passes its original arrival.

        Raises:
            AlreadyExists: a pending task has the same id.
            InvalidArgument, Overflow, OutOfMemory.
        """
        h = self._h()
        spec, keep = task._spec()
        lib.cs_queue_push(h, byref(spec), _lib.as_float(arrival, "arrival"))
        del keep

    def remove(self, id: int) -> None:
        """Remove a pending task (NotFound if absent)."""
        lib.cs_queue_remove(self._h(), _lib.as_id(id, "task id"))

    def peek(self, now: float) -> int:
        """The id that goes next at ``now``, left in the queue (NotFound if empty)."""
        out = c_uint64()
        lib.cs_queue_peek(self._h(), _lib.as_float(now, "now"), byref(out))
        return out.value

    def pop(self, now: float) -> int:
        """Remove and return the id that goes next at ``now`` (NotFound if empty)."""
        out = c_uint64()
        lib.cs_queue_pop(self._h(), _lib.as_float(now, "now"), byref(out))
        return out.value

    def order(self, now: float, limit: Optional[int] = None) -> List[int]:
        """The first ``limit`` ids (all when None) in the order pops would return them."""
        h = self._h()
        cap = lib.cs_queue_size(h) if limit is None else _lib.as_count(limit, "limit")
        buf = (c_uint64 * cap)()
        count = c_size_t()
        lib.cs_queue_order(h, _lib.as_float(now, "now"), buf if cap > 0 else None, cap,
                           byref(count))
        return list(buf[: count.value])

    def set_estimate(self, id: int, estimate: float) -> None:
        """Change a pending task's runtime estimate (0 = unknown)."""
        lib.cs_queue_set_estimate(self._h(), _lib.as_id(id, "task id"),
                                  _lib.as_float(estimate, "estimate"))

    def set_priority(self, id: int, priority: int) -> None:
        """Change a pending task's priority."""
        lib.cs_queue_set_priority(self._h(), _lib.as_id(id, "task id"),
                                  _lib.as_i64(priority, "priority"))

    def __len__(self) -> int:
        return lib.cs_queue_size(self._h())

    def __contains__(self, id: object) -> bool:
        if isinstance(id, bool) or not isinstance(id, int) or not 0 <= id < _lib.ID_NONE:
            return False
        return bool(lib.cs_queue_contains(self._h(), id))

    def check(self) -> None:
        """Verify the internal invariants (InvalidState on a violation)."""
        lib.cs_queue_check(self._h())

    def __repr__(self) -> str:
        if self._closed:
            return "<Queue closed>"
        return f"<Queue policy={self.policy.name} size={len(self)}>"
