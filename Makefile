# Everything installs into a local .venv; `make demo` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install system-deps constraints demo test test-fast soak bench clean

# The versions the tests ran with are pinned in constraints.txt; setup.cfg's requirements stay loose.
$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## constraints: pin the venv's current versions (after upgrading freqtrade, say, and running make test)
constraints: $(STAMP)
	{ sed -n '1,/^# .make. installs/p' constraints.txt; $(PY) -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

## demo: offline backtest of SmartTrailingSample on a synthetic dataset, with a local sandbox exchange
## (DEMO_ARGS="--datadir DIR" for your own 5m feather candles; `ts-plugin demo --help` lists the options)
demo: $(STAMP)
	$(VENV)/bin/ts-plugin demo $(DEMO_ARGS)

## system-deps: PostgreSQL server binaries and Chromium for the tests that need them (best effort:
## as root with apt-get; otherwise those tests are skipped, and pytest -rs says why)
system-deps:
	bash scripts/system_deps.sh

## test: the whole suite (unit, property, freqtrade integration, PostgreSQL, headless Chromium)
test: $(STAMP) system-deps
	$(PY) -m pytest -q -rs

## test-fast: unit and property tests only
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

## soak: the bounded soaks end to end alone (live bot, real-candle paths from ../shared/data, faults,
## kill -9; Binance spot, then Binance USD-M and Bybit linear with the native backstop and position
## adjustments; about 3 minutes each); prints their figures, also in soak.json under each test's tmp dir
soak: $(STAMP)
	$(PY) -m pytest -q -s -p no:cacheprovider tests/e2e/test_soak.py

## bench: wall-time and per-call benchmarks, the plugin against freqtrade's built-in trailing stop (backtests
## alternated, each smart rule's cost, hyperopt per epoch), rewrites BENCHMARKS.md (BENCH_ARGS=--quick for a short run,
## BENCH_ARGS=--soak to record the soak's figures too; `python -m benchmarks.soak --write` records them alone)
bench: $(STAMP)
	$(PY) -m benchmarks.run --write $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
