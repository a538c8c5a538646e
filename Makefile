# `make run` and `make test` work on a fresh machine: they create .venv and install on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test install bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,ray]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) main.py run research_report

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/cli_startup.py
	$(PY) bench/local_model.py
	$(PY) bench/local_shapes.py
	$(PY) bench/batch.py

clean:
	rm -rf $(VENV) runs .pytest_cache .rolecall-cache
