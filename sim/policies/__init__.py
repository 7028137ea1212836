"""Policies: which storage backs each allocation (pools) and how commands are grouped and submitted (passes).

``parse_pool`` and ``parse_passes`` turn the names users type (``--pool sliced+fix``, ``--pass
max-tasks:16/staging-copy``) into policy objects; ``pool_names`` and ``pass_names`` list them all.
"""

from .device import Device
from .errors import PolicyError
from .exclusion import Exclusion
from .pass_policies import PassPolicy, Upload, parse_passes, pass_names
from .pool_policies import POOLS, PoolPolicy, parse_pool, pool_names

__all__ = ["POOLS", "Device", "Exclusion", "PassPolicy", "PolicyError", "PoolPolicy", "Upload", "parse_passes",
           "parse_pool", "pass_names", "pool_names"]
