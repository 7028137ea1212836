"""wgtrace.testing: the conformance kit for pool and pass policies (needs hypothesis: ``wgtrace[testing]``).

A runtime author's test of their own pool is three lines::

    from wgtrace.testing import assert_hazard_free

    def test_my_pool_is_hazard_free():
        assert_hazard_free("mypkg.pools:Bucketed+fix", "batched")

``assert_hazard_free`` plans random programs under the policies, checks every plan, and on a hazard
raises ``PolicyHazard`` with the shrunk program as wgpu-py code; ``programs`` is the hypothesis
strategy it draws from, ``problems`` what it asks of each program, ``wgpu_source`` how it prints one.
It imports ``wgtrace.sim`` and ``wgtrace.traces``; nothing in them imports it.
"""

from .kit import DEFAULT_PASSES, PolicyHazard, assert_hazard_free, problems
from .source import wgpu_source
from .strategies import programs

__all__ = ["DEFAULT_PASSES", "PolicyHazard", "assert_hazard_free", "problems", "programs", "wgpu_source"]
