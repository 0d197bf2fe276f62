# The Quickstart commands and what they need. Everything installs into .venv
# from the package registry; nothing is assumed to be on the machine but
# python3 (>= 3.11) and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The project folder is the Dagster instance's home: ./dagster.yaml configures
# it (so `dagster dev` uses it) and keeps what it stores under .dagster_home/.
export DAGSTER_HOME := $(CURDIR)
DAY ?= $(shell date -u +%F)
DEV_PORT ?= 3000
# make run VERBOSE=1: Dagster's full event log on stderr instead of a summary.
VERBOSE ?=

.PHONY: run test install install-test dev benchmark clean

# Install, then build every asset of one day (today, UTC) on the bundled sample,
# proof-dispatch the demo campaign (campaign_sends) and print where everything is.
run: install
	@$(BIN)/python -m campaign_pipeline.orchestration.datasets.run_day --day $(DAY) $(if $(VERBOSE),--verbose)

# Install with the test extras, then run the whole test suite.
test: install-test
	$(BIN)/python -m pytest

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	@echo "Installing into $(VENV) (once; a few minutes)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	@$(BIN)/python -m pip install --quiet --quiet -e '.[test]'
	@touch $@

# The Dagster UI on http://127.0.0.1:$(DEV_PORT); Ctrl-C or SIGTERM stops all of it.
dev: install
	$(BIN)/python -m campaign_pipeline.orchestration.dev_server -w workspace.yaml -h 127.0.0.1 -p $(DEV_PORT)

benchmark: install-test
	$(BIN)/python benchmarks/bench_build.py

clean:
	rm -rf $(VENV) .dagster_home output
