"""Build glue for wgtrace's one compiled part, the recorder's hot path (tracer/_fast.c; pyproject.toml has the rest).

Optional: where it does not build (no C compiler, no Python headers) the package installs without it, and
the recorder runs its pure-Python wrappers (tracer/instrument.py says how the two relate).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("wgtrace.tracer._fast", ["tracer/_fast.c"], optional=True)])
