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

.PHONY: help run test lint format migrate seed worker venv deps dev-deps browser clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.deps: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.lock
	@touch $@

$(VENV)/.dev-deps: $(VENV)/.deps requirements-dev.lock
	$(PIP) install --quiet -r requirements.lock -r requirements-dev.lock
	@touch $@

deps: $(VENV)/.deps ## Create .venv and install the pinned runtime dependencies

dev-deps: $(VENV)/.dev-deps ## Install the pinned test and lint dependencies too

migrate: deps ## Apply database migrations
	@mkdir -p var
	$(PY) manage.py migrate --no-input

seed: migrate ## Load the demo data into an empty database
	$(PY) manage.py seed_demo --if-empty

run: seed ## Serve on http://127.0.0.1:8000 with the outbox worker, after migrating and seeding
	@scripts/run.sh $(HOST) $(PORT)

worker: deps ## Run the outbox worker alone
	$(PY) manage.py run_worker

browser: ## Install Debian's chromium for the browser tests if it is missing
	@scripts/ensure-chromium.sh

test: dev-deps browser ## Run the whole test suite (SQLite, or PostgreSQL when DATABASE_URL is set)
	@mkdir -p var
	CARESTORY_ENV=test $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: dev-deps ## ruff (lint and format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy carestory

format: dev-deps ## Format the code with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## Remove the virtualenv and local data (var/)
	rm -rf $(VENV) var staticfiles .pytest_cache .mypy_cache .ruff_cache
