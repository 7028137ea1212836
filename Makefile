# Two entry points on a fresh machine: `make demo` (the main job, end to end) and `make test`.
# Each builds what it needs: a virtual environment with the package and its test tools, and
# Mesa's lavapipe Vulkan driver when wgpu finds no GPU adapter.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export XDG_RUNTIME_DIR ?= /tmp

.PHONY: demo test setup lint typecheck clean

setup: $(VENV)/.ready

$(VENV)/.ready: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	scripts/ensure-vulkan.sh $(PY)
	scripts/ensure-dawn.sh $(PY)
	scripts/ensure-chromium.sh
	touch $@

demo: setup
	scripts/demo.sh

test: setup lint typecheck
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .

# mypy reads the folders as the package they install as (wgtrace.traces, ...): links under build/typecheck
typecheck: setup
	mkdir -p build/typecheck/wgtrace
	for p in traces tracer sim replay testing; do ln -sfn ../../../$$p build/typecheck/wgtrace/$$p; done
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) out
