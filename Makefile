# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

$(BIN)/robots: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(BIN)/robots

.PHONY: install run test lint bench
install: $(BIN)/robots

run: install
	$(BIN)/robots dev

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

# `make bench BENCH="reads turns tools" BENCH_ARGS=--quick`: other groups, a smoke run.
BENCH      ?= eventlog
BENCH_ARGS ?=
bench: install
	for group in $(BENCH); do $(BIN)/python -m bench.$$group $(BENCH_ARGS) || exit 1; done
