# Two commands do all set-up: `make demo` and `make test`. Each creates .venv when missing and
# installs the pinned dependencies (requirements.lock; torch==2.13.0 is the CPU build on disk).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_OUT ?= runs/demo

.PHONY: demo test bench-deps clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m textbatch train demo/imdb_sample.csv.gz --test demo/imdb_sample_test.csv.gz --out $(DEMO_OUT) --overwrite
	$(PY) -m textbatch evaluate $(DEMO_OUT)/model demo/imdb_sample_test.csv.gz

test: $(STAMP)
	$(PY) -m pytest -n 2 -q

# Peers for bench/peers.py live in their own venv (.venv-bench), never in the package's deps.
bench-deps: $(STAMP)
	bash bench/make_peers_venv.sh

clean:
	rm -rf $(VENV) .venv-bench runs .pytest_cache
