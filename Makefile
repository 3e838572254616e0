# Two entry points (see README): `make serve` and `make test`. Both build .venv from this repo's files.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

serve: $(VENV)/.runtime
	$(BIN)/cipherpost serve $(ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

# The whole suite on the embedded default (SQLite), then the end-to-end suite again with every
# server on PostgreSQL (the local server; CIPHERPOST_TEST_POSTGRES overrides the admin DSN).
test: lint
	$(BIN)/python -m pytest -q
	CIPHERPOST_TEST_BACKEND=postgres $(BIN)/python -m pytest -q tests/e2e

bench: $(VENV)/.test
	$(BIN)/python -m pip install -q -r bench/requirements.txt
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
