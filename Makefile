# One-word entry points; each installs what it needs into .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench check

$(STAMP): pyproject.toml sim/pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q --no-deps -e ./sim  # the simulator editable too (the dev extra installs a copy)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## the main job: poll simulated accounts (no credentials, no network)
	$(BIN)/exchange-async demo $(ARGS)

test: $(STAMP)  ## the test suite against the bundled simulator
	$(BIN)/pytest -q $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict exchange_async sim/exchange_async_sim

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

check: lint test
