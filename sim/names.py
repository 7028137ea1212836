"""What the command line's help texts list, written out so that listing them imports nothing they name.

The registries derive these names from the policy classes and the rule modules, which take tens of
milliseconds to import; ``wgtrace --help`` needs only the names. ``tests/test_startup_names.py`` holds
each table equal to its registry (``pool_names()``, ``pass_names()``, the ids in ``RULES``), so a policy
or rule added there and not here fails the tests rather than going unlisted.
"""

from __future__ import annotations

POOL_NAMES = (
    "exclusive", "sliced", "sliced+fix", "sliced+fix-range", "sliced-pr56", "sliced-pr56+fix", "sliced-pr56+fix-range",
    "exclusive-pages", "exclusive-pages+fix", "exclusive-pages+fix-range", "size-class", "size-class+fix",
    "size-class+fix-range", "torch-caching", "torch-caching+fix", "torch-caching+fix-range", "ort-simple",
    "ort-bucket", "tfjs", "tinygrad-lru", "tinygrad-lru+fix",
)
PASS_NAMES = (
    "as-recorded", "pass-per-dispatch", "pass-per-dispatch/staging-copy", "pass-per-dispatch/flush-write", "batched",
    "batched/staging-copy", "batched/flush-write", "max-tasks:32", "max-tasks:32/staging-copy",
    "max-tasks:32/flush-write", "max-tasks:16", "max-tasks:16/staging-copy", "max-tasks:16/flush-write", "tfjs",
)
RULE_IDS = ("H1", "H2", "H3", "H4", "H5", "H6")
