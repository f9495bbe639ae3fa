# market-regimes — two commands do everything on a fresh machine:
#   make run    create .venv, install, build the warehouse from the bundled sample, print a summary
#   make test   create .venv, install, run the test suite (pytest: unit + dbt integration)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_PROJECT_DIR := $(CURDIR)
export MARKET_REGIMES_DB ?= warehouse/market_regimes.duckdb
export MARKET_REGIMES_LANDING ?= sample/landing
export DO_NOT_TRACK := 1

.PHONY: install run test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	@mkdir -p $(dir $(MARKET_REGIMES_DB))
	$(BIN)/dbt build
	$(BIN)/python -m market_regimes.summary "$(MARKET_REGIMES_DB)"

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/build.py

clean:
	rm -rf target logs warehouse/*.duckdb warehouse/*.wal
