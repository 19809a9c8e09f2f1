# civicflow — two commands: `make run` and `make test`. Everything else is set up on the way.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

.PHONY: help run test test-unit test-browser test-faults test-broker test-py313 bench lint format venv broker chromium promtool clean

help:
	@echo "make run    set up and run the whole platform with the demo county (Ctrl-C stops it)"
	@echo "make test   run every test (unit, integration and end-to-end on a real RabbitMQ)"
	@echo "make bench  print the throughput figures as one JSON line"
	@echo "make lint   ruff, mypy --strict and the import contracts"
	@echo "make test-py313  the unit and integration tests again on Python 3.13"

$(STAMP): pyproject.toml constraints.txt
	@scripts/ensure-python.sh $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

# The same tests on Python 3.13, in a virtualenv of its own
VENV313  := .venv-3.13
STAMP313 := $(VENV313)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
$(STAMP313): pyproject.toml constraints.txt
	@scripts/ensure-python.sh $(VENV313) 3.13
	@$(VENV313)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	@$(VENV313)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@rm -f $(VENV313)/.installed-* && touch $@

# matplotlib, for make bench only
BENCH_STAMP := $(VENV)/.bench-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
$(BENCH_STAMP): $(STAMP)
	@$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	@rm -f $(VENV)/.bench-* && touch $@

broker: venv
	@BIN=$(BIN) scripts/ensure-broker.sh

chromium:
	@scripts/ensure-chromium.sh

promtool:
	@scripts/ensure-promtool.sh

# a month of cases through the platform on the first run (HISTORY= for none; 7d for a week)
HISTORY ?= 30d

run: venv broker
	$(BIN)/civicflow migrate
	$(BIN)/civicflow demo $(if $(HISTORY),--history $(HISTORY))
	$(BIN)/civicflow up

# tests/ runs under eventlet; the browser tests drive Chromium with Playwright's own event loop,
# so they run in a process of their own
test: venv broker chromium promtool
	$(BIN)/pytest --durations=25
	$(BIN)/pytest browser

test-faults: venv broker
	$(BIN)/pytest tests/faults -s

test-browser: venv broker chromium
	$(BIN)/pytest browser

# Python 3.13 runs every unit and integration test on SQLite; the PostgreSQL variants of the
# same tests run on 3.11 in `make test` (this keeps CI's whole run near 45 minutes)
test-py313: $(STAMP313) broker promtool
	$(VENV313)/bin/pytest tests/unit tests/integration -k "not postgresql"

test-unit: venv promtool
	$(BIN)/pytest tests/unit

bench: venv broker $(BENCH_STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.plot bench/results/latest.json

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy contracts kernel kit services civicflow
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(VENV313) var .pytest_cache .mypy_cache .ruff_cache
