# The two commands of the README: `make start` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: start test lint bench install mutation messages

# The console's browser tests drive the system's Chromium: Playwright must never fetch its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	scripts/ensure-chromium
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
	$(BIN)/pytest -n 2 --dist loadgroup --durations=30

bench: install
	scripts/ensure-postgres
	$(BIN)/python bench/ingest.py

# The console's message catalogues (src/orderly/console/i18n): extract every string from the templates and
# Python and merge it into each language's .po; translate the new entries there (the hub compiles the .po
# in memory when it first speaks a language).
I18N := src/orderly/console/i18n
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k Phrase --no-location --sort-output --project=Orderly \
		--copyright-holder="Orderly contributors" -o $(I18N)/messages.pot .
	$(BIN)/pybabel update -i $(I18N)/messages.pot -d $(I18N) --no-fuzzy-matching --ignore-obsolete

# The console's vendored browser libraries are fetched by scripts/vendor-assets (npm pack, pinned).

# Mutation testing of the pure, stock and money paths (not part of `make test`: it takes many minutes).
# Files in pyproject.toml [tool.mutmut]. Resumes where an interrupted run stopped; delete mutants/ to
# start afresh.
MUTATION_SCOPE := "orderly.inventory.domain*" "orderly.orders.domain*" "orderly.channels.shopify.mapper*" \
	"orderly.channels.amazon.mapper*" "orderly.channels.domain*"
MUTATION_CHILDREN ?= 2

mutation: install
	ORDERLY_TEST_DATABASES=sqlite $(BIN)/mutmut run --max-children $(MUTATION_CHILDREN) $(MUTATION_SCOPE)
	$(BIN)/python scripts/mutation-score $(MUTATION_SCOPE)
