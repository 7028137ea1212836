"""Policies: which storage backs each allocation (pools) and how commands are grouped and submitted (passes).

``parse_pool`` and ``parse_passes`` turn the names users type (``--pool sliced+fix``, ``--pass
max-tasks:16/staging-copy``, ``--pool torch-caching(max_split_size=64MiB)+fix``, ``--pool
mypkg.pools:Bucketed``) into policy objects; ``pool_names`` and ``pass_names`` list those wgtrace
ships. A policy of one's own subclasses ``PoolPolicy`` (its ``manager`` returns an ``Allocator``
drawing pages from a ``Storage``) or ``PassPolicy``.
"""

from .allocator import Allocator
from .device import Device
from .errors import PolicyError
from .exclusion import Exclusion
from .pages import Reservation, Storage
from .pass_policies import PassPolicy, Upload
from .pool_policies import PoolPolicy
from .registry import PASSES, POOLS, parse_passes, parse_pool, pass_names, pool_names

__all__ = ["PASSES", "POOLS", "Allocator", "Device", "Exclusion", "PassPolicy", "PolicyError", "PoolPolicy",
           "Reservation", "Storage", "Upload", "parse_passes", "parse_pool", "pass_names", "pool_names"]
