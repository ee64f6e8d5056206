# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

$(BIN)/robots: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(BIN)/robots

.PHONY: install run test lint bench fuzz web
install: $(BIN)/robots

run: install
	$(BIN)/robots dev

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

# The playground's AI SDK bundle (app/web/static/vendor/ai-chat.js) from its source in
# app/web/build (npm and esbuild); tests/web/test_bundle.py fails while it is stale.
web:
	cd app/web/build && npm ci --no-audit --no-fund --ignore-scripts && node build.mjs

# The API fuzzed against its own OpenAPI document (schemathesis, tests/api/test_openapi_fuzz.py)
# with a few examples per operation: CI's bounded run. `FUZZ_EXAMPLES=50` for a longer one.
FUZZ_EXAMPLES ?= 5
fuzz: install
	FUZZ_MAX_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest --run-slow tests/api/test_openapi_fuzz.py

# `make bench BENCH="reads turns tools sessions" BENCH_ARGS=--quick`: other groups, a smoke run.
BENCH      ?= eventlog
BENCH_ARGS ?=
bench: install
	for group in $(BENCH); do $(BIN)/python -m bench.$$group $(BENCH_ARGS) || exit 1; done
