# One-word entry points; each installs what it needs into .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow lint bench check

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## the main job: poll simulated accounts (no credentials, no network)
	$(BIN)/exchange-async demo $(ARGS)

# Most tests wait on real rate limits (the simulator counts real windows), not on the CPU:
# four workers overlap those waits.
test: $(STAMP)  ## the test suite against the bundled simulator (slow tests deselected)
	$(BIN)/pytest -q -n 4 $(ARGS)

test-slow: $(STAMP)  ## only the tests that need the real wall clock for long
	$(BIN)/pytest -q -m slow $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict exchange_async tests

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

check: lint test
