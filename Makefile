# revstack developer tasks. Needs only python3.11 and access to PyPI.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINT_PATHS := src tests benchmarks scripts

.DEFAULT_GOAL := help
.PHONY: help install demo test lint bench clean distclean

help:
	@echo "make demo       install (if needed) and run 'revstack demo'"
	@echo "make test       install, lint, type-check and run the tests"
	@echo "make lint       ruff check, ruff format --check and mypy only"
	@echo "make bench      run every benchmarks/bench_*.py --quick"
	@echo "make clean      remove caches, build output, benchmark output and dbt artefacts"
	@echo "make distclean  clean, plus .venv and the local data in .revstack/"

# (Re)install whenever pyproject.toml is newer than the last install.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/revstack demo

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy src

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	@set -e; found=0; \
	for bench in benchmarks/bench_*.py; do \
		[ -e "$$bench" ] || continue; found=1; \
		echo "== $$bench"; $(BIN)/python "$$bench" --quick; \
	done; \
	[ $$found -eq 1 ] || echo "no benchmarks/bench_*.py yet"

clean:
	rm -rf build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
	rm -rf benchmarks/out src/revstack/transform/target src/revstack/transform/logs
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .revstack
