# Two commands set up everything on a fresh clone:  make demo  and  make test.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: demo test fuzz bench install dev docs docs-serve clean

# Runtime install: the package and what the CLI needs.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

# Development install: adds pytest, hypothesis and the PyTorch oracle.
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install --quiet -e '.[dev]'
	touch $@

# Documentation tools: MkDocs, its Material theme and mkdocstrings (the API reference).
$(VENV)/.installed-docs: $(VENV)/.installed
	$(PIP) install --quiet -e '.[docs]'
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

demo: install
	$(VENV)/bin/backprop train --plots plots --out digits.safetensors
	@echo "Plots are in plots/, the model in digits.safetensors."

test: dev
	$(PY) -m pytest -n 2 -q

# A longer fuzzing run: tests/test_fuzz*.py with 20 times the examples of the normal suite, drawn afresh.
fuzz: dev
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/test_fuzz.py tests/test_fuzz_reliability.py -q -n 2

# The peers (PyTorch, JAX) come from the bench extra; the library never imports them.
bench: dev
	$(PIP) install --quiet -e '.[bench]'
	$(PY) benchmarks/bench_epoch.py

# The documentation site, into site/; strict: a broken link, anchor or reference fails.
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

clean:
	rm -rf $(VENV) plots digits.safetensors .pytest_cache .hypothesis site
