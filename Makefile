# The two commands of the README: `make start` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: start test lint bench install mutation

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

start: install
	$(BIN)/orderly start --demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install lint
	scripts/ensure-postgres
	$(BIN)/pytest -n 2 --dist loadgroup

bench: install
	scripts/ensure-postgres
	$(BIN)/python bench/ingest.py

# Mutation testing of the pure, stock and money paths (not part of `make test`: it takes many minutes).
# Files in pyproject.toml [tool.mutmut]. Resumes where an interrupted run stopped; delete mutants/ to
# start afresh.
MUTATION_SCOPE := "orderly.inventory.domain*" "orderly.orders.domain*" "orderly.channels.shopify.mapper*" \
	"orderly.channels.amazon.mapper*" "orderly.channels.domain*"
MUTATION_CHILDREN ?= 2

mutation: install
	ORDERLY_TEST_DATABASES=sqlite $(BIN)/mutmut run --max-children $(MUTATION_CHILDREN) $(MUTATION_SCOPE)
	$(BIN)/python scripts/mutation-score $(MUTATION_SCOPE)
