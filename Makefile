# shipyard: two commands set everything up. `make run` shows the lifecycle, `make test` proves it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUICKSTART_DIR ?= .quickstart

.PHONY: install run test lint bench clean

install: $(STAMP)

# Reinstall whenever the project's dependencies change; otherwise this is a no-op.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,s3]'
	touch $(STAMP)

run: install
	$(BIN)/shipyard quickstart --dir $(QUICKSTART_DIR) --no-serve

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: install lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(QUICKSTART_DIR) .pytest_cache .ruff_cache .mypy_cache
