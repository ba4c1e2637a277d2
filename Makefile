# `make test` and `make demo` work on a fresh clone: they create .venv/ and install the project.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install lint test demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.cfg
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP)
	$(PY) -m pytest --durations=15

demo: $(STAMP)
	$(VENV)/bin/tfnvp train --config digits --out runs/demo --overwrite

bench: $(STAMP)
	$(PY) -m benchmarks.run --out bench-results
	$(PY) -m benchmarks.train_path --out bench-results
	$(PY) -m benchmarks.startup --out bench-results/startup.json
	$(PY) -m benchmarks.replicas --out bench-results/replicas.json
	$(PY) -m benchmarks.quality --runs zuko defaults tabular bsds300 --out bench-results

clean:
	rm -rf $(VENV) runs bench-results .pytest_cache
