# One entry point for everything: the venv is created with the machine's python3 and the project
# is (re)installed with its dev extra only when pyproject.toml changed (the stamp file).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-fast lint types pytest run demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/pyre --noninteractive check 2> .pyre-check.log || { cat .pyre-check.log; exit 1; }
	$(BIN)/pyright

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint types pytest

# The layers without Discord (core, adapters, db) and the layer rules: under a minute.
test-fast: $(STAMP)
	$(BIN)/pytest -q tests/core tests/adapters tests/db tests/test_layers.py

run: $(STAMP)
	$(BIN)/concord run

demo: $(STAMP)
	$(BIN)/concord sandbox

# Each script's report as it runs, then one table of every target (bench/summary.py).
bench: $(STAMP)
	@rm -f .bench.out; for f in bench/bench_*.py; do echo "== $$f" | tee -a .bench.out; \
		$(BIN)/python $$f > .bench.last 2>&1; status=$$?; cat .bench.last | tee -a .bench.out; \
		[ $$status -eq 0 ] || exit 1; done; rm -f .bench.last
	@echo "== summary (load average when each script finished)"
	@$(BIN)/python bench/summary.py .bench.out

clean:
	rm -rf $(VENV) .pyre .pytest_cache .ruff_cache .bench.out .bench.last
