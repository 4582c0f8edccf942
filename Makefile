# Two commands set up everything on a fresh clone:  make demo  and  make test.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: demo test fuzz bench install dev clean

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

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

demo: install
	$(VENV)/bin/backprop train --plots plots --out digits.safetensors
	@echo "Plots are in plots/, the model in digits.safetensors."

test: dev
	$(PY) -m pytest -n 2 -q

# A longer fuzzing run: tests/test_fuzz.py with 20 times the examples of the normal suite, drawn afresh.
fuzz: dev
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/test_fuzz.py -q -n 2

# The peers (PyTorch, JAX) come from the bench extra; the library never imports them.
bench: dev
	$(PIP) install --quiet -e '.[bench]'
	$(PY) benchmarks/bench_epoch.py --readme

clean:
	rm -rf $(VENV) plots digits.safetensors .pytest_cache .hypothesis
