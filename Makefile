# Two entry points do all the set-up on a fresh machine:
#   make demo   - the bank-marketing quickstart (train, register, deploy, invoke)
#   make test   - the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench-search bench-scoring clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) examples/bankmarketing/quickstart.py

test: $(STAMP)
	$(VENV)/bin/python -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench-search: $(STAMP)
	$(PIP) install --quiet -e '.[bench]'
	$(PY) benchmarks/search.py

bench-scoring: $(STAMP)
	$(PY) benchmarks/scoring.py

clean:
	rm -rf $(VENV) .automl
