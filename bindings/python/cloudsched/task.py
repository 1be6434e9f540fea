"""Task specs: what is submitted to a :class:`~cloudsched.Scheduler` or a
:class:`~cloudsched.Queue` (C: ``cs_task_spec``, task.h)."""

from __future__ import annotations

import enum
from ctypes import byref
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from . import _arrays, _lib
from ._lib import cs_task_spec, lib

__all__ = ["Topology", "Task"]


class Topology(enum.IntEnum):
    """Where a gang's replicas should go (``cs_topology``)."""

    ANY = 0     #: no preference; replicas may share nodes
    PACK = 1    #: one rack if possible, then one zone, then anywhere
    SPREAD = 2  #: one replica per node


Labels = Union[Mapping[str, Optional[str]], Sequence[Tuple[str, Optional[str]]]]


@dataclass
class Task:
    """A task as submitted: demand per replica, gang size, tenant, constraints.

    Fields left as ``None`` take the library's default (shown in brackets).

    Attributes:
        id: caller-chosen id, unique among live tasks.
        demand: demand of one replica per resource (ints >= 0), in the
            pool's resource order.
        count: replicas (gang size) [1]; a gang starts whole or not at all.
        tenant: user/group/account charged for the task [0].
        priority: higher runs first under priority policies [0].
        runtime_estimate: user's runtime estimate in seconds, 0 = unknown [0].
        features: features for runtime prediction (finite floats) [none].
        partition: partition to run in [any].
        labels: labels every chosen node must carry, as a mapping or
            (key, value) pairs; a value of None means "key present" [none].
        preferred_nodes: nodes that earn the locality bonus [none].
        preferred_zones: zones that earn the locality bonus [none].
        locality_weight: weight of the locality bonus, >= 0 [1].
        topology: gang placement preference [Topology.ANY].
        elastic_min: minimum replicas to start an elastic task with,
            1..count; 0 means rigid [0].
    """

    id: int
    demand: Sequence[int]
    count: Optional[int] = None
    tenant: Optional[int] = None
    priority: Optional[int] = None
    runtime_estimate: Optional[float] = None
    features: Optional[Sequence[float]] = None
    partition: Optional[int] = None
    labels: Optional[Labels] = None
    preferred_nodes: Optional[Sequence[int]] = None
    preferred_zones: Optional[Sequence[int]] = None
    locality_weight: Optional[float] = None
    topology: Optional[Topology] = None
    elastic_min: Optional[int] = None

    def _spec(self) -> Tuple[cs_task_spec, List[Any]]:
        """The C spec and the objects that back its pointers (keep both alive
        until the C call returns)."""
        spec = _lib.init_struct(cs_task_spec)
        keep: List[Any] = []
        spec.id = _lib.as_id(self.id, "task id")
        demand, spec.num_resources = _arrays.i64_vector(self.demand, "demand")
        keep.append(demand)
        spec.demand = demand
        if self.count is not None:
            spec.count = _lib.as_u32(self.count, "count")
        if self.tenant is not None:
            spec.tenant = _lib.as_id(self.tenant, "tenant")
        if self.priority is not None:
            spec.priority = _lib.as_i64(self.priority, "priority")
        if self.runtime_estimate is not None:
            spec.runtime_estimate = _lib.as_float(self.runtime_estimate, "runtime_estimate")
        if self.features is not None:
            feats, spec.num_features = _arrays.f64_vector(self.features, "features")
            keep.append(feats)
            spec.features = feats
        if self.partition is not None:
            spec.partition = _lib.as_u32(self.partition, "partition")
        if self.labels is not None:
            arr, spec.num_labels, strings = _arrays.labels_array(self.labels, "labels")
            keep += [arr, strings]
            spec.labels = arr
        if self.preferred_nodes is not None:
            nodes, spec.num_preferred_nodes = _arrays.u64_vector(self.preferred_nodes,
                                                                 "preferred_nodes")
            keep.append(nodes)
            spec.preferred_nodes = nodes
        if self.preferred_zones is not None:
            zones, spec.num_preferred_zones = _arrays.u32_vector(self.preferred_zones,
                                                                 "preferred_zones")
            keep.append(zones)
            spec.preferred_zones = zones
        if self.locality_weight is not None:
            spec.locality_weight = _lib.as_float(self.locality_weight, "locality_weight")
        if self.topology is not None:
            spec.topology = _lib.as_enum(Topology, self.topology, "topology")
        if self.elastic_min is not None:
            spec.elastic_min = _lib.as_u32(self.elastic_min, "elastic_min")
        return spec, keep

    def validate(self, num_resources: int = 0) -> None:
        """Check the spec on its own (``cs_task_spec_validate``).

        Args:
            num_resources: the dimension count demand must have, or 0 to skip
                that check.

        Raises:
            InvalidArgument: bad id, negative demand, count 0, bad estimate,
                weight or features, empty label key, elastic_min > count.
            DimensionMismatch: demand has the wrong length.
            Overflow: count * demand overflows int64.
        """
        spec, keep = self._spec()
        lib.cs_task_spec_validate(byref(spec), num_resources)
        del keep
