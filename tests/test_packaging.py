"""The distribution installs its five packages under the ``wgtrace`` namespace, from a built wheel."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("traces", "tracer", "sim", "replay", "testing")


def test_wheel_holds_only_the_namespace_and_imports_from_it(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("wgtrace-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"wgtrace"}, "nothing may install as a bare top-level module (PyPI owns traces, tracer, replay)"
    assert "wgtrace/traces/FORMAT.md" in names and any(n.startswith("wgtrace/traces/corpus/") for n in names)
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    # -S: no site hooks, so the editable install of this checkout cannot answer the imports
    code = ("import sys; sys.path[:0] = [sys.argv[1]]; sys.path.append(sys.argv[2]);"
            + "".join(f"import wgtrace.{p};" for p in PACKAGES)
            + "import wgtrace.traces as t; assert t.__file__.startswith(sys.argv[1]), t.__file__;"
            + "from wgtrace.sim import plan; from wgtrace.traces import load; import wgtrace.sim.policies.runtimes;"
            + "import glob; plan(load(glob.glob(sys.argv[1] + '/wgtrace/traces/corpus/nbody.wgtrace')[0]), 'sliced')")
    done = subprocess.run([sys.executable, "-S", "-c", code, str(unpacked), sysconfig.get_paths()["purelib"]],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_editable_install_maps_the_folders():
    import wgtrace.replay
    import wgtrace.sim
    import wgtrace.testing
    import wgtrace.tracer
    import wgtrace.traces

    modules = (wgtrace.traces, wgtrace.tracer, wgtrace.sim, wgtrace.replay, wgtrace.testing)
    for module, folder in zip(modules, PACKAGES, strict=True):
        assert Path(module.__file__).resolve().parent == ROOT / folder
