# market-regimes — two commands do everything on a fresh machine:
#   make run    create .venv, install, build the warehouse from the bundled sample, print a summary
#               (.venv/bin/market-regimes build / summary; `market-regimes --help` lists every command)
#   make test   create .venv, install, run the test suite (pytest: unit + dbt integration)
#   make lint      ruff (lint + format check) and sqlfluff (dbt templater, duckdb dialect); CI runs it first
#   make ui        Dagster UI (dagster dev) on http://127.0.0.1:$(DAGSTER_PORT)
#   make backfill  the whole asset graph headless: one chronological single-run backfill
#   make report    the regime dashboard: one self-contained HTML file, reports/regimes.html
#   make spark-check  the SQL models on a local Apache Spark beside DuckDB, with parity (docs/scale-out.md;
#                  installs the optional group spark; needs Java 17+); CI runs it beside the tests
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_PROJECT_DIR := $(CURDIR)
export MARKET_REGIMES_DB ?= warehouse/market_regimes.duckdb
export MARKET_REGIMES_LANDING ?= sample/landing
export DO_NOT_TRACK := 1
export DAGSTER_HOME ?= $(CURDIR)/.dagster
DAGSTER_PORT ?= 3000

.PHONY: install run test lint bench clean ui backfill parse report spark-check

# the pinned versions of requirements.lock (docs/development.md, "Dependencies"), then the project itself
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -r requirements.lock
	$(BIN)/pip install --quiet --no-compile --no-deps -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	@mkdir -p $(dir $(MARKET_REGIMES_DB))
	$(BIN)/market-regimes build
	$(BIN)/market-regimes summary

# the lint gate (docs/development.md, "Lint"): sqlfluff compiles the models with dbt against a
# throwaway warehouse file, so it neither needs nor touches the real one
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@d=$$(mktemp -d); MARKET_REGIMES_DB=$$d/lint.duckdb $(BIN)/sqlfluff lint models analyses --processes 2 \
		--disable-progress-bar 2>&1 | grep -v 'because it is a macro\|resource_tracker'; s=$${PIPESTATUS[0]}; rm -rf $$d; exit $$s

# two workers (2 cores): the sample-build tests on one, the fixture-build tests on the other
test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# @dbt_assets reads target/manifest.json at import time
parse: install
	@mkdir -p $(dir $(MARKET_REGIMES_DB))
	@$(BIN)/python -m orchestration.instance > /dev/null
	$(BIN)/dbt parse --quiet

ui: parse
	@echo "Dagster UI: http://127.0.0.1:$(DAGSTER_PORT) (DAGSTER_HOME=$(DAGSTER_HOME); Ctrl-C stops it)"
	env --default-signal=INT,TERM $(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p $(DAGSTER_PORT)

# BACKFILL_ARGS: e.g. --first 2023-01-01 --last 2023-01-31 --record (see docs/orchestration.md)
backfill: parse
	$(BIN)/market-regimes backfill $(BACKFILL_ARGS)

# reads $(MARKET_REGIMES_DB) read-only; options: .venv/bin/market-regimes report --help
report: install
	$(BIN)/market-regimes report

bench: install
	$(BIN)/python benchmarks/build.py

# the Spark stage (docs/scale-out.md): the optional dependencies into the same venv, then the
# two-stage build on DuckDB and Spark with the parity of every table (exit 1 on a difference)
$(VENV)/.spark-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet --no-compile -e '.[spark]'
	touch $@

spark-check: $(VENV)/.spark-installed
	@command -v java > /dev/null || { echo "spark-check needs Java 17+ (e.g. apt-get install default-jre-headless)"; exit 1; }
	$(BIN)/python benchmarks/spark_build.py > spark-check.json
	@$(BIN)/python -c "import json; d = json.load(open('spark-check.json')); print('spark-check:', [s['tables_equal'] for s in d['stages']], 'of', d['tables'], 'tables equal per stage')"

clean:
	rm -rf target logs warehouse/*.duckdb warehouse/*.wal .dagster
