# Everything installs into a local .venv; `make demo` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## demo: offline backtest of SmartTrailingSample on a synthetic dataset, with a local sandbox exchange
## (DEMO_ARGS="--datadir DIR" for your own 5m feather candles)
demo: $(STAMP)
	$(PY) -m ts_plugin.demo $(DEMO_ARGS)

## test: the whole suite (unit, property, freqtrade integration)
test: $(STAMP)
	$(PY) -m pytest -q

## test-fast: unit and property tests only
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

## bench: wall-time and per-call benchmarks, rewrites BENCHMARKS.md (BENCH_ARGS=--quick for a short run)
bench: $(STAMP)
	$(PY) -m benchmarks.run --write $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
