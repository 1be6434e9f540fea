"""Resource pools: nodes with integer capacities, labels, topology, partitions
and states; allocations; fit queries (C: pool.h).

Quantities are integers in units the caller chooses (millicores, MiB, GPUs,
milli-GPUs); every vector is in the pool's resource order.
"""

from __future__ import annotations

import enum
from ctypes import byref, c_char_p, c_double, c_int64, c_size_t, c_uint64
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from . import _arrays, _lib
from ._handle import Allocator, Handle, allocator_arg
from ._lib import (PARTITION_ANY, REMOVE_FORCE, cs_allocation_info, cs_fit_query,
                   cs_label, cs_node_info, cs_node_spec, cs_pool_options, lib)

__all__ = ["NodeState", "Fit", "Allocation", "NodeInfo", "Totals", "Pool"]


class NodeState(enum.IntEnum):
    """A node's scheduling state (``cs_node_state``)."""

    UP = 0        #: accepts new allocations
    DRAINING = 1  #: keeps its allocations, accepts no new ones
    DOWN = 2      #: failed or out of service


class Fit(enum.IntEnum):
    """Fit order of :meth:`Pool.fit` (``cs_fit``)."""

    FIRST = 0  #: first fitting node in (partition, id) order
    BEST = 1   #: least free capacity by the weighted norm, ties by id
    WORST = 2  #: most free capacity by the weighted norm, ties by id


@dataclass(frozen=True)
class Allocation:
    """An allocation: its id, the node it is on, the owner tag, and (when
    asked for one allocation) its demand vector."""

    id: int
    node: int
    owner: int
    demand: Optional[List[int]] = None


@dataclass(frozen=True)
class NodeInfo:
    """Everything about one node (``cs_pool_node_info`` and its labels)."""

    id: int
    state: NodeState
    zone: int
    rack: int
    partition: int
    labels: Dict[str, str]
    num_allocations: int
    capacity: List[int]
    used: List[int]
    free: List[int]


@dataclass(frozen=True)
class Totals:
    """Totals over a partition: capacity and free over up nodes, used over all."""

    capacity: List[int]
    used: List[int]
    free: List[int]


Labels = Union[Dict[str, Optional[str]], Sequence[Any], None]


class Pool(Handle):
    """A resource pool (``cs_pool``).

    Example::

        with Pool(["cpu_milli", "mem_mib", "gpu"]) as pool:
            n = pool.add_node([64000, 262144, 8], labels={"gpu_model": "A100"})
            a = pool.allocate(n, [16000, 65536, 4], owner=100)
            pool.fit([4000, 8192, 1], Fit.BEST)

    Not thread-safe: use a pool (and the schedulers over it) from one thread
    at a time; distinct pools are independent.
    """

    def __init__(self, resources: Union[int, Sequence[str]],
                 fit_weights: Optional[Sequence[float]] = None,
                 allocator: Optional[Allocator] = None) -> None:
        """Create an empty pool.

        Args:
            resources: the resource names (distinct, non-empty), or a count
                (names "r0", "r1", ...); 1..32 dimensions.
            fit_weights: weights of the best/worst-fit norm, one per
                resource; None: 1 / largest capacity per dimension.
            allocator: memory hooks (see :class:`Allocator`); None = malloc.

        Raises:
            InvalidArgument: bad count, empty or duplicate names, bad weights.
            OutOfMemory: allocation failed.
        """
        if isinstance(resources, int):
            n, names = resources, None
        else:
            encoded = [_lib.encode(r, "resource name") for r in resources]
            n = len(encoded)
            names = (c_char_p * n)(*encoded)
        opts = _lib.init_struct(cs_pool_options)
        weights = None
        if fit_weights is not None:
            weights, _ = _arrays.f64_vector(fit_weights, "fit_weights", n)
            opts.fit_weights = weights
        out = _lib.new_handle()
        lib.cs_pool_create(n, names, byref(opts), allocator_arg(allocator), byref(out))
        self._adopt(out.value, "cs_pool_destroy", allocator=allocator)
        self._p = lib.cs_pool_num_resources(out.value)

    # -- resources ---------------------------------------------------------

    @property
    def num_resources(self) -> int:
        """Number of resource dimensions."""
        self._h()
        return self._p

    @property
    def resource_names(self) -> List[str]:
        """The resource names, in order."""
        h = self._h()
        return [lib.cs_pool_resource_name(h, k).decode() for k in range(self._p)]

    def resource_index(self, name: str) -> int:
        """Index of a resource by name (NotFound if unknown)."""
        k = c_size_t()
        lib.cs_pool_resource_index(self._h(), _lib.encode(name, "name"), byref(k))
        return k.value

    # -- nodes -------------------------------------------------------------

    def add_node(self, capacity: Sequence[int], id: Optional[int] = None, *,
                 labels: Labels = None, zone: Optional[int] = None,
                 rack: Optional[int] = None, partition: Optional[int] = None,
                 unit_cost: Optional[Sequence[float]] = None,
                 state: Optional[NodeState] = None) -> int:
        """Add a node and return its id.

        Args:
            capacity: capacity per resource, each >= 0.
            id: the node id; None lets the pool choose (one more than the
                largest id ever used).
            labels: key -> value labels (values not None).
            zone, rack: topology ids [0].
            partition: partition id [0].
            unit_cost: cost per unit of each resource per second [0].
            state: initial state [UP].

        Raises:
            InvalidArgument, DimensionMismatch, AlreadyExists, Overflow,
            OutOfMemory.

        O(log n) amortised.
        """
        h = self._h()
        spec = _lib.init_struct(cs_node_spec)
        cap, spec.num_resources = _arrays.i64_vector(capacity, "capacity", self._p)
        spec.capacity = cap
        arr, spec.num_labels, keep = _arrays.labels_array(labels, "labels")
        spec.labels = arr
        if zone is not None:
            spec.zone = _lib.as_u32(zone, "zone")
        if rack is not None:
            spec.rack = _lib.as_u32(rack, "rack")
        if partition is not None:
            spec.partition = _lib.as_u32(partition, "partition")
        cost = None
        if unit_cost is not None:
            cost, _ = _arrays.f64_vector(unit_cost, "unit_cost", self._p)
            spec.unit_cost = cost
        if state is not None:
            spec.state = _lib.as_enum(NodeState, state, "state")
        node_id = _lib.ID_NONE if id is None else _lib.as_id(id, "node id")
        out = c_uint64()
        lib.cs_pool_add_node(h, node_id, byref(spec), byref(out))
        del keep, cap, cost
        return out.value

    def remove_node(self, id: int, force: bool = False) -> List[Allocation]:
        """Remove a node.

        Without ``force`` a node holding allocations is not removed (Busy).
        With it, its allocations are released and returned (in id order).
        """
        h = self._h()
        node = _lib.as_id(id, "node id")
        if not force:
            lib.cs_pool_remove_node(h, node, 0, None, 0, None)
            return []
        buf, count = _lib.fill_buffer(
            cs_allocation_info,
            lambda b, cap, cnt: lib.cs_pool_remove_node(h, node, REMOVE_FORCE, b, cap, cnt),
            capacity=self._node_allocation_count(node))
        return [Allocation(a.id, a.node, a.owner) for a in buf[:count]]

    def _node_allocation_count(self, node: int) -> int:
        info = _lib.output_struct(cs_node_info)
        lib.cs_pool_node_info(self._h(), node, byref(info), None, None, None)
        return info.num_allocations

    def set_node_state(self, id: int, state: NodeState) -> None:
        """Change a node's state; allocations stay where they are."""
        lib.cs_pool_set_node_state(self._h(), _lib.as_id(id, "node id"),
                                   _lib.as_enum(NodeState, state, "state"))

    def set_node_capacity(self, id: int, capacity: Sequence[int]) -> None:
        """Replace a node's capacity (OutOfCapacity when below current use)."""
        h = self._h()
        cap, _ = _arrays.i64_vector(capacity, "capacity", self._p)
        lib.cs_pool_set_node_capacity(h, _lib.as_id(id, "node id"), cap)

    def node_info(self, id: int) -> NodeInfo:
        """Describe a node: state, topology, labels, capacity, used and free."""
        h = self._h()
        node = _lib.as_id(id, "node id")
        info = _lib.output_struct(cs_node_info)
        cap, used, free = (c_int64 * self._p)(), (c_int64 * self._p)(), (c_int64 * self._p)()
        lib.cs_pool_node_info(h, node, byref(info), cap, used, free)
        labels = {}
        label = cs_label()
        for i in range(info.num_labels):
            lib.cs_pool_node_label(h, node, i, byref(label))
            labels[label.key.decode()] = label.value.decode()
        return NodeInfo(info.id, NodeState(info.state), info.zone, info.rack,
                        info.partition, labels, info.num_allocations, list(cap),
                        list(used), list(free))

    def node_label(self, id: int, key: str) -> str:
        """Value of a node's label (NotFound for an unknown node or key)."""
        value = c_char_p()
        lib.cs_pool_node_label_value(self._h(), _lib.as_id(id, "node id"),
                                     _lib.encode(key, "key"), byref(value))
        return value.value.decode()  # type: ignore[union-attr]

    @property
    def num_nodes(self) -> int:
        """Number of nodes (in any state)."""
        return lib.cs_pool_num_nodes(self._h())

    def __len__(self) -> int:
        return self.num_nodes

    def nodes(self) -> List[int]:
        """Node ids in increasing order."""
        h = self._h()
        buf, count = _lib.fill_buffer(
            c_uint64, lambda b, cap, cnt: lib.cs_pool_nodes(h, b, cap, cnt),
            capacity=lib.cs_pool_num_nodes(h))
        return list(buf[:count])

    # -- allocations ---------------------------------------------------------

    def allocate(self, node: int, demand: Sequence[int], owner: int = 0) -> int:
        """Allocate a demand vector on an up node; return the allocation id.

        Raises:
            NotFound (node), InvalidState (draining/down), OutOfCapacity,
            InvalidArgument, OutOfMemory.
        """
        h = self._h()
        d, _ = _arrays.i64_vector(demand, "demand", self._p)
        out = c_uint64()
        lib.cs_pool_allocate(h, _lib.as_id(node, "node id"), d,
                             _lib.as_id(owner, "owner", allow_none_id=True), byref(out))
        return out.value

    def release(self, alloc_id: int) -> None:
        """Release an allocation (NotFound if unknown)."""
        lib.cs_pool_release(self._h(), _lib.as_id(alloc_id, "allocation id"))

    def resize(self, alloc_id: int, demand: Sequence[int]) -> None:
        """Change an allocation's demand in place (growing needs room and an up node)."""
        h = self._h()
        d, _ = _arrays.i64_vector(demand, "demand", self._p)
        lib.cs_pool_resize(h, _lib.as_id(alloc_id, "allocation id"), d)

    def allocation(self, alloc_id: int) -> Allocation:
        """Describe an allocation, its demand included."""
        h = self._h()
        info = cs_allocation_info()
        demand = (c_int64 * self._p)()
        lib.cs_pool_allocation(h, _lib.as_id(alloc_id, "allocation id"), byref(info),
                               demand)
        return Allocation(info.id, info.node, info.owner, list(demand))

    def node_allocations(self, node: int) -> List[Allocation]:
        """The allocations on a node, in allocation id order."""
        h = self._h()
        nid = _lib.as_id(node, "node id")
        buf, count = _lib.fill_buffer(
            cs_allocation_info,
            lambda b, cap, cnt: lib.cs_pool_node_allocations(h, nid, b, cap, cnt),
            capacity=self._node_allocation_count(nid))
        return [Allocation(a.id, a.node, a.owner) for a in buf[:count]]

    @property
    def num_allocations(self) -> int:
        """Total number of allocations."""
        return lib.cs_pool_num_allocations(self._h())

    # -- queries ---------------------------------------------------------------

    def fit(self, demand: Sequence[int], how: Fit = Fit.FIRST, *,
            partition: Optional[int] = None, labels: Labels = None,
            exclude: Iterable[int] = ()) -> int:
        """The node that takes ``demand`` by the fit order ``how``.

        The node must be up, in the partition (None: any), carry the labels
        (a value None means "key present") and not be excluded.

        Raises:
            OutOfCapacity: no node qualifies.

        O(log n) when the first candidates fit.
        """
        h = self._h()
        q = _lib.init_struct(cs_fit_query)
        d, _ = _arrays.i64_vector(demand, "demand", self._p)
        q.demand = d
        if partition is not None:
            q.partition = _lib.as_u32(partition, "partition")
        arr, q.num_labels, keep = _arrays.labels_array(labels, "labels")
        q.labels = arr
        ex, q.num_exclude = _arrays.u64_vector(list(exclude), "exclude")
        q.exclude = ex
        out = c_uint64()
        lib.cs_pool_fit(h, _lib.as_enum(Fit, how, "fit"), byref(q), byref(out))
        del keep, d, ex
        return out.value

    def totals(self, partition: Optional[int] = None) -> Totals:
        """Capacity and free over up nodes, used over all nodes, of a partition (or all)."""
        h = self._h()
        cap, used, free = (c_int64 * self._p)(), (c_int64 * self._p)(), (c_int64 * self._p)()
        lib.cs_pool_totals(h, self._partition(partition), cap, used, free)
        return Totals(list(cap), list(used), list(free))

    def utilization(self, partition: Optional[int] = None) -> List[float]:
        """used / capacity per resource over the up nodes (0 where capacity is 0)."""
        h = self._h()
        out = (c_double * self._p)()
        lib.cs_pool_utilization(h, self._partition(partition), out)
        return list(out)

    def cost(self, partition: Optional[int] = None) -> float:
        """Current cost rate: sum of unit_cost * used over nodes and resources."""
        out = c_double()
        lib.cs_pool_cost(self._h(), self._partition(partition), byref(out))
        return out.value

    def check(self) -> None:
        """Verify every invariant (InvalidState on a violation: a library bug)."""
        lib.cs_pool_check(self._h())

    @staticmethod
    def _partition(partition: Optional[int]) -> int:
        return PARTITION_ANY if partition is None else _lib.as_u32(partition, "partition")

    def __repr__(self) -> str:
        if self._closed:
            return "<Pool closed>"
        return (f"<Pool resources={self.resource_names} nodes={self.num_nodes} "
                f"allocations={self.num_allocations}>")
