# Carestory. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help run test lint format migrate seed worker venv deps dev-deps lock browser clean bench

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Every package is pinned with its hashes: pip refuses anything else (see `make lock`).
$(VENV)/.deps: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r requirements.lock
	@touch $@

$(VENV)/.dev-deps: $(VENV)/.deps requirements-dev.lock
	$(PIP) install --quiet --require-hashes -r requirements.lock -r requirements-dev.lock
	@touch $@

deps: $(VENV)/.deps ## Create .venv and install the pinned runtime dependencies

dev-deps: $(VENV)/.dev-deps ## Install the pinned test and lint dependencies too

# pip-tools runs from its own virtualenv under var/, never from .venv. The current pins are kept
# unless LOCK_ARGS says otherwise (LOCK_ARGS=--upgrade, or --upgrade-package NAME).
LOCK_VENV := var/pip-tools
LOCK_ARGS ?=
PIP_COMPILE := $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--no-emit-index-url --no-emit-find-links --strip-extras $(LOCK_ARGS)

lock: ## Regenerate requirements*.lock (with hashes) from requirements*.in
	@test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && \
		$(LOCK_VENV)/bin/pip install --quiet pip-tools==7.6.2; }
	$(PIP_COMPILE) --output-file=requirements.lock requirements.in
	$(PIP_COMPILE) --output-file=requirements-dev.lock requirements-dev.in

migrate: deps ## Apply database migrations
	@mkdir -p var
	$(PY) manage.py migrate --no-input

seed: migrate ## Load the demo data into an empty database
	SITE_URL="$${SITE_URL:-http://$$( [ "$(HOST)" = 0.0.0.0 ] && echo 127.0.0.1 || echo $(HOST) ):$(PORT)}" \
		$(PY) manage.py seed_demo --if-empty

run: seed ## Serve on http://HOST:PORT (127.0.0.1:8000) with the outbox worker; emailed links follow
	@scripts/run.sh $(HOST) $(PORT)

worker: deps ## Run the outbox worker alone
	$(PY) manage.py run_worker

# PostgreSQL (DATABASE_URL, default carestory_bench[_N] on 127.0.0.1), gunicorn, wrk: bench/run.py
bench: deps ## Measure every page under load on synthetic data (BENCH_STORIES=100000, ~10 min)
	$(PY) bench/run.py

browser: ## Install Debian's chromium for the browser tests if it is missing
	@scripts/ensure-chromium.sh

test: dev-deps browser ## Run the whole test suite (SQLite, or PostgreSQL when DATABASE_URL is set)
	@mkdir -p var
	CARESTORY_ENV=test $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: dev-deps ## ruff (lint, complexity, format check), mypy (the code and the tests), vulture (dead code)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy carestory tests conftest.py
	$(VENV)/bin/vulture

format: dev-deps ## Format the code with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## Remove the virtualenv and local data (var/)
	rm -rf $(VENV) var staticfiles .pytest_cache .mypy_cache .ruff_cache
