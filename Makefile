# Two commands for a newcomer: `make run` and `make test`. Everything else is detail.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WEB := clients/web
TEST_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: run test synapse synapse-venv test-sqlite test-postgres test-web test-browser lint format web bench clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The web client is built when Node.js is present; without it the server still
# runs and says at / how to build the client.
web:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(WEB)/node_modules/.installed && \
		cd $(WEB) && npm run --silent build; \
	else \
		echo "npm not found: skipping the web client build (install Node.js 20+ to get it)"; \
	fi

run: $(VENV)/.installed web
	$(VENV)/bin/homeserver run

# The SQLite and PostgreSQL passes run side by side (each mostly waits on one
# core); --output-sync prints each pass's output whole, when it ends.
test: $(VENV)/.installed web synapse
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres
	@$(MAKE) --no-print-directory test-web test-browser

test-sqlite: $(VENV)/.installed
	@echo "== server tests on SQLite"
	$(PY) -m pytest -rs --ignore=tests/browser $(PYTEST_ARGS)

# PostgreSQL runs when reachable; REQUIRE_POSTGRES=1 (set by CI) makes it mandatory.
test-postgres: $(VENV)/.installed
	@if $(PY) -m tests.tools.pg_available "$(TEST_DATABASE_URL)"; then \
		echo "== server tests on PostgreSQL"; \
		TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(PY) -m pytest -rs --ignore=tests/browser $(PYTEST_ARGS); \
	elif [ "$$REQUIRE_POSTGRES" = "1" ]; then \
		echo "PostgreSQL is required (REQUIRE_POSTGRES=1) but not reachable at $(TEST_DATABASE_URL)"; exit 1; \
	else \
		echo "SKIPPED: PostgreSQL tests (no server at $(TEST_DATABASE_URL); set TEST_DATABASE_URL to run them)"; \
	fi

test-web:
	@if command -v npm >/dev/null 2>&1; then \
		echo "== web client tests"; \
		$(MAKE) --no-print-directory $(WEB)/node_modules/.installed && cd $(WEB) && npm test --silent; \
	else \
		echo "SKIPPED: web client tests (npm not found)"; \
	fi

# The built web client in Chromium (/usr/bin/chromium) against the real server.
# Skipped without Chromium, unless REQUIRE_BROWSER=1 (set by CI). `-rs` prints why
# each skipped test was skipped.
test-browser: $(VENV)/.installed web
	@echo "== browser tests"
	$(PY) -m pytest -rs tests/browser $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check homeserver federation tests
	$(VENV)/bin/ruff format --check homeserver federation tests
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff format homeserver federation tests
	$(VENV)/bin/ruff check --fix homeserver federation tests

# Benchmarks (README "Performance"): this server on SQLite and PostgreSQL and
# Synapse side by side. Synapse (and py-spy) live in their own virtual
# environment, .bench-venv/, installed on first use. BENCH_ARGS passes options,
# e.g. BENCH_ARGS="--servers ours-postgresql,synapse-postgresql --py-spy".
BENCH_VENV := .bench-venv
SYNAPSE_VERSION ?= 1.163.2
BENCH_ARGS ?=
# e.g. FEDERATION_BENCH_ARGS="--pairs ours-sqlite,synapse-postgresql --messages 1000"
FEDERATION_BENCH_ARGS ?=
define bench_venv
	@test -f $(BENCH_VENV)/.installed-$(SYNAPSE_VERSION) || { \
		test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV); \
		$(BENCH_VENV)/bin/pip install --quiet --upgrade pip && \
		$(BENCH_VENV)/bin/pip install --quiet 'matrix-synapse[postgres]==$(SYNAPSE_VERSION)' py-spy pyinstrument && \
		touch $(BENCH_VENV)/.installed-$(SYNAPSE_VERSION); }
endef

# Synapse for the tests that compare with it (tests/tools/synapse.py): installed
# into .bench-venv/ when PyPI answers; without it those tests skip, unless
# REQUIRE_SYNAPSE=1 (set by CI).
synapse:
	@$(MAKE) --no-print-directory synapse-venv || { \
		if [ "$$REQUIRE_SYNAPSE" = "1" ]; then echo "Synapse could not be installed (REQUIRE_SYNAPSE=1)"; exit 1; fi; \
		echo "SKIPPED: Synapse could not be installed into $(BENCH_VENV); the tests that compare with it will skip"; }

synapse-venv:
	$(bench_venv)

bench: $(VENV)/.installed
	$(bench_venv)
	$(PY) -m tests.bench $(BENCH_ARGS)
	$(PY) -m tests.bench.federation $(FEDERATION_BENCH_ARGS)

bench-quick: $(VENV)/.installed
	$(bench_venv)
	$(PY) -m tests.bench --quick $(BENCH_ARGS)
	$(PY) -m tests.bench.federation --quick $(FEDERATION_BENCH_ARGS)

clean:
	rm -rf $(VENV) $(WEB)/node_modules $(WEB)/dist .pytest_cache .mypy_cache .ruff_cache
