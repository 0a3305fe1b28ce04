# One-word entry points; each installs what it needs into .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: install demo test test-slow lint bench check docs docs-serve clean

$(STAMP): pyproject.toml sim/pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q --no-deps -e ./sim  # the simulator editable too (the dev extra installs a copy)
	touch $(STAMP)

install: $(STAMP)

$(DOCS_STAMP): $(STAMP)
	$(BIN)/pip install -q -e ".[docs]"
	touch $(DOCS_STAMP)

demo: $(STAMP)  ## the main job: poll simulated accounts (no credentials, no network)
	@$(BIN)/exchange-async demo $(ARGS); status=$$?; \
	echo "(make installed the command as $(BIN)/exchange-async: run it so, or 'source $(BIN)/activate' first)"; \
	exit $$status

# Client, poller and limiter tests run on a virtual clock (tests/support/virtual_time.py): their rate
# limits take no real time. Four workers overlap what still waits (subprocesses, sockets). The
# Redis limiter's tests assert exact schedules on the real clock, so they run after, alone.
REDIS_SCHEDULES := tests/test_limiter_redis.py tests/test_limiter_redis_late.py \
	tests/test_limiter_redis_cluster.py tests/test_limiter_redis_fairness.py
test: $(STAMP)  ## the test suite against the bundled simulator (slow tests deselected)
	$(BIN)/pytest -q -n 4 $(addprefix --ignore=,$(REDIS_SCHEDULES)) $(ARGS)
	$(BIN)/pytest -q $(REDIS_SCHEDULES) $(ARGS)

test-slow: $(STAMP)  ## only the tests that need the real wall clock for long
	$(BIN)/pytest -q -m slow $(ARGS)

# mypy covers benchmarks/ too, with the peers they compare against typed as Any (pyproject's
# [[tool.mypy.overrides]]): lint needs none of them installed.
lint: $(STAMP)  ## ruff check, ruff format --check, mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict exchange_async tests benchmarks sim/exchange_async_sim sim/tests

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e ".[bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)  ## benchmarks against peers (ARGS=--quick: the < 60 s CI smoke run)
	$(BIN)/python -m benchmarks $(ARGS)

check: lint test

docs: $(DOCS_STAMP)  ## build the documentation site into site/; any warning fails
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(DOCS_STAMP)  ## serve the documentation locally, rebuilt on save (it prints the address)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:  ## remove the venv, build artifacts, the built site and caches (a fresh `make install` follows)
	rm -rf $(VENV) build dist site .eggs *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -path ./.git -prune -o -name __pycache__ -type d -exec rm -rf {} +
