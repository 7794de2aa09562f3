# 区域卫生信息平台 — regional health information exchange hub
# `make demo` and `make test` work on a fresh clone: they create .venv and install what is missing.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REGION ?= small
DEMO_DIR ?= $(if $(filter full,$(REGION)),.demo-full,.demo)
DEMO_PORT ?= 0
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: help venv system test test-fast demo bench clean

help:
	@echo "make demo   start a hub on the embedded default, load the small synthetic region and the demo documents"
	@echo "            through the exchange, and keep serving while the region's members send live: open the"
	@echo "            console URL it prints with a demo login (Ctrl-C stops it); REGION=full loads a whole year"
	@echo "make test   install what is missing and run the whole test suite (SQLite + PostgreSQL)"
	@echo "make bench  run the benchmarks; JSON results in bench/results/"

$(STAMP): setup.cfg pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

venv: $(STAMP)

system:
	bash scripts/install-system-packages.sh

test: system venv
	$(PY) -m pytest -q -rs -p no:cacheprovider

test-fast: venv
	$(PY) -m pytest -q -x -m "not postgres and not slow and not clickhouse"

demo: venv
	@echo "the demo ends by printing the console's URL and its demo logins; the hub then keeps serving (Ctrl-C stops it)"
	$(VENV)/bin/hie demo --data-dir $(DEMO_DIR) --port $(DEMO_PORT) --region $(REGION) --keep-serving

bench: system venv
	$(PY) -m bench.run --out bench/results
	$(PY) -m bench.records --out bench/results
	$(PY) -m bench.region --out bench/results --size full
	$(PY) -m bench.mpi --out bench/results
	$(PY) -m bench.agent --out bench/results
	$(PY) -m bench.cluster --out bench/results
	$(PY) -m bench.etl --out bench/results --servers
	$(PY) -m bench.cubes --out bench/results
	$(PY) -m bench.console --out bench/results
	$(PY) -m bench.outbreak --out bench/results
	$(PY) -m bench.soak --out bench/results --minutes 30
	$(PY) -m bench.capacity --out bench/results

clean:
	rm -rf $(VENV) .demo .demo-full bench/results .pytest_cache
