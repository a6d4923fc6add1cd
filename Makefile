# Two commands set everything up on a fresh machine:
#   make demo   installs into .venv and runs the sample campaign end to end
#   make test   installs into .venv and runs ruff, mypy and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $(STAMP)

# A fresh demo each time: the demo's journal is removed first (a second run would
# otherwise resume a finished campaign and have nothing to do).
demo: $(STAMP)
	$(BIN)/campaigner validate campaigns/*.yaml
	$(BIN)/campaigner plan campaigns/demo.yaml
	rm -f .campaigner/demo.sqlite3 .campaigner/demo.sqlite3-*  # demo.yaml: state: ../.campaigner
	$(BIN)/campaigner run campaigns/demo.yaml --sandbox

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
