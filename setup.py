"""Build glue for wgtrace's compiled parts (pyproject.toml has the rest): the recorder's hot path (tracer/_fast.c)
and the planner's re-recording loop (sim/planner/_loop.c).

Both optional: where they do not build (no C compiler, no Python headers) the package installs without them, and
the recorder and the planner run their pure-Python paths (tracer/instrument.py and sim/planner/fast.py say how the
two relate).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("wgtrace.tracer._fast", ["tracer/_fast.c"], optional=True),
                   Extension("wgtrace.sim.planner._loop", ["sim/planner/_loop.c"], optional=True)])
