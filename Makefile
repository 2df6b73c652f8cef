# Two entry points do all the set-up on a fresh machine:
#   make demo   - the bank-marketing quickstart (train, register, deploy, invoke)
#   make test   - the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck bench-search bench-scoring bench-executors clean

$(STAMP): pyproject.toml setup.py
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev,ray]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) examples/bankmarketing/quickstart.py

test: $(STAMP)
	$(VENV)/bin/python -m pytest

lint: $(STAMP) typecheck
	$(VENV)/bin/ruff check .

# mypy does not follow the editable install's import hook, so it checks a tree of symlinks laid
# out as the wheel installs the package (setup.py maps backends/ and service/ under automl_local).
TYPECHECK := build/typecheck
typecheck: $(STAMP)
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)/automl_local
	for f in automl_local/*; do ln -s "$(CURDIR)/$$f" $(TYPECHECK)/automl_local/; done
	ln -s "$(CURDIR)/backends" $(TYPECHECK)/automl_local/backends
	ln -s "$(CURDIR)/service" $(TYPECHECK)/automl_local/service
	cd $(TYPECHECK) && "$(CURDIR)/$(VENV)/bin/mypy" --config-file "$(CURDIR)/pyproject.toml" -p automl_local

bench-search: $(STAMP)
	$(PIP) install --quiet -e '.[bench]'
	$(PY) benchmarks/search.py

bench-scoring: $(STAMP)
	$(PY) benchmarks/scoring.py

bench-executors: $(STAMP)
	$(PY) benchmarks/executors.py

clean:
	rm -rf $(VENV) .automl
