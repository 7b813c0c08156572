# The front door for developer commands. `make help` lists them.
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: help install test test-fast lint format typecheck serve bench clean

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## install imgpro with the test tools into the current Python environment
	$(PYTHON) -m pip install -q -e '.[test]'

test: install ## install what the tests need, then run the whole suite (SQLite + PostgreSQL + Redis where reachable)
	@# The browser tests drive Debian's Chromium (never a downloaded one); root installs it.
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium; } || true
	$(PYTHON) -m pytest -n auto $(PYTEST_ARGS)

test-fast: ## run the suite without reinstalling
	$(PYTHON) -m pytest -n auto $(PYTEST_ARGS)

lint: ## ruff (lint + format check) and mypy: what CI runs before the tests
	$(PYTHON) -m ruff check src tests bench
	$(PYTHON) -m ruff format --check src tests bench
	$(PYTHON) -m mypy

format: ## apply ruff's fixes and its formatting
	$(PYTHON) -m ruff check --fix src tests bench
	$(PYTHON) -m ruff format src tests bench

serve: ## run the service on the embedded default (SQLite + ./imgpro-data)
	imgpro serve

bench: ## the benchmark harness: imgpro vs thumbor, ipx/sharp, nginx and bare pyvips (bench/README.md)
	scripts/bench

clean: ## remove local data and caches
	rm -rf imgpro-data .pytest_cache .mypy_cache .ruff_cache
