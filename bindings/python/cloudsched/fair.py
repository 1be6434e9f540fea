"""Tenants, weights, decayed usage and dominant shares: the state that
fair-share and DRF ordering read (C: fair.h).

Fair-share factor (Slurm's classic formula): F_i = 2^(-U_norm / S_norm) with
U_norm = U_i / sum_j U_j (decayed usage) and S_norm = w_i / sum_j w_j.
Dominant share: max_k alloc_ik / capacity_k (DRF, Ghodsi et al. 2011).
"""

from __future__ import annotations

from ctypes import byref, c_double, c_int64, c_uint64
from typing import List, Optional, Sequence, Tuple

from . import _arrays, _lib
from ._handle import Allocator, Handle, allocator_arg
from ._lib import cs_fair_options, lib

__all__ = ["Fair"]


class Fair(Handle):
    """Fair-share and DRF state (``cs_fair``).

    A :class:`~cloudsched.Queue` with policy FAIRSHARE or DRF borrows a Fair
    handle and follows every change made here. Tenants are created on first
    use with the default weight. Time (``now``) never goes back.
    """

    def __init__(self, half_life: Optional[float] = None,
                 num_resources: Optional[int] = None,
                 default_weight: Optional[float] = None,
                 allocator: Optional[Allocator] = None) -> None:
        """Create a handle with no tenants.

        Args:
            half_life: usage half-life in seconds, 0 = no decay [604800, 7 days].
            num_resources: dimensions of DRF vectors, 0 disables DRF [0].
            default_weight: weight of tenants created on first use [1].
            allocator: memory hooks; None = malloc.
        """
        opts = _lib.init_struct(cs_fair_options)
        if half_life is not None:
            opts.half_life = _lib.as_float(half_life, "half_life")
        if num_resources is not None:
            opts.num_resources = _lib.as_count(num_resources, "num_resources")
        if default_weight is not None:
            opts.default_weight = _lib.as_float(default_weight, "default_weight")
        out = _lib.new_handle()
        lib.cs_fair_create(byref(opts), allocator_arg(allocator), byref(out))
        self._adopt(out.value, "cs_fair_destroy", allocator=allocator)
        self._p = opts.num_resources

    @property
    def num_resources(self) -> int:
        """DRF dimensions (0: DRF disabled)."""
        self._h()
        return self._p

    def set_weight(self, tenant: int, weight: float) -> None:
        """Set a tenant's weight (> 0), creating the tenant if unknown."""
        lib.cs_fair_set_weight(self._h(), _lib.as_id(tenant, "tenant"),
                               _lib.as_float(weight, "weight"))

    def weight(self, tenant: int) -> float:
        """A tenant's weight (NotFound if unknown)."""
        out = c_double()
        lib.cs_fair_weight(self._h(), _lib.as_id(tenant, "tenant"), byref(out))
        return out.value

    def remove_tenant(self, tenant: int) -> None:
        """Forget a tenant (Busy while it holds an allocation or has pending tasks)."""
        lib.cs_fair_remove_tenant(self._h(), _lib.as_id(tenant, "tenant"))

    def charge(self, tenant: int, amount: float, now: float) -> None:
        """Add usage (e.g. resource seconds) at time ``now`` (never earlier than before)."""
        lib.cs_fair_charge(self._h(), _lib.as_id(tenant, "tenant"),
                           _lib.as_float(amount, "amount"), _lib.as_float(now, "now"))

    def usage(self, tenant: int, now: float) -> float:
        """Decayed usage at ``now``: sum of a_k 2^(-(now - t_k) / half_life)."""
        out = c_double()
        lib.cs_fair_usage(self._h(), _lib.as_id(tenant, "tenant"),
                          _lib.as_float(now, "now"), byref(out))
        return out.value

    def factor(self, tenant: int) -> float:
        """Fair-share factor 2^(-U_norm / S_norm) in [0, 1]; 1 before any usage."""
        out = c_double()
        lib.cs_fair_factor(self._h(), _lib.as_id(tenant, "tenant"), byref(out))
        return out.value

    def set_capacity(self, capacity: Sequence[int]) -> None:
        """Set the capacity that dominant shares are measured against."""
        h = self._h()
        cap, n = _arrays.i64_vector(capacity, "capacity", self._p)
        lib.cs_fair_set_capacity(h, cap, n)

    def allocate(self, tenant: int, amount: Sequence[int]) -> None:
        """Add to a tenant's DRF allocation (a task started), creating the tenant."""
        h = self._h()
        a, n = _arrays.i64_vector(amount, "amount", self._p)
        lib.cs_fair_allocate(h, _lib.as_id(tenant, "tenant"), a, n)

    def release(self, tenant: int, amount: Sequence[int]) -> None:
        """Subtract from a tenant's DRF allocation (a task finished)."""
        h = self._h()
        a, n = _arrays.i64_vector(amount, "amount", self._p)
        lib.cs_fair_release(h, _lib.as_id(tenant, "tenant"), a, n)

    def allocation(self, tenant: int) -> List[int]:
        """A tenant's DRF allocation vector."""
        h = self._h()
        out = (c_int64 * max(self._p, 1))()
        lib.cs_fair_allocation(h, _lib.as_id(tenant, "tenant"), out, self._p)
        return list(out[: self._p])

    def dominant_share(self, tenant: int) -> Tuple[float, float]:
        """``(share, share / weight)`` with share = max_k alloc_k / capacity_k."""
        share, weighted = c_double(), c_double()
        lib.cs_fair_dominant_share(self._h(), _lib.as_id(tenant, "tenant"), byref(share),
                                   byref(weighted))
        return share.value, weighted.value

    def tenants(self) -> List[int]:
        """Tenant ids in increasing order."""
        h = self._h()
        buf, count = _lib.fill_buffer(
            c_uint64, lambda b, cap, cnt: lib.cs_fair_tenants(h, b, cap, cnt),
            capacity=lib.cs_fair_num_tenants(h))
        return list(buf[:count])

    @property
    def num_tenants(self) -> int:
        """Number of known tenants."""
        return lib.cs_fair_num_tenants(self._h())

    def __len__(self) -> int:
        return self.num_tenants

    def __repr__(self) -> str:
        if self._closed:
            return "<Fair closed>"
        return f"<Fair tenants={self.num_tenants} num_resources={self._p}>"
