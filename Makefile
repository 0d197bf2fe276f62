# The two Quickstart commands and what they need. Everything installs into
# .venv from the package registry; nothing is assumed to be on the machine but
# python3 (>= 3.11) and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster_home
DAY ?= $(shell date -u +%F)

.PHONY: run test install install-test dev benchmark clean

# Install, then build every asset of today's partition on the bundled sample.
run: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster asset materialize -m campaign_pipeline --select '*' --partition $(DAY)
	@out="$${CAMPAIGN_OUTPUT_URI:-$(CURDIR)/output}"; \
	echo; echo "Campaign files for $(DAY) under $$out:"; \
	ls -1 "$$out"/campaign_dataset/$(DAY)/* "$$out"/exclusions/$(DAY).* 2>/dev/null || true

# Install with the test extras, then run the whole test suite.
test: install-test
	$(BIN)/python -m pytest

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

# The Dagster UI on http://127.0.0.1:3000
dev: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1

benchmark: install-test
	$(BIN)/python benchmarks/bench_build.py

clean:
	rm -rf $(VENV) $(DAGSTER_HOME) output
