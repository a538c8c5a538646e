# `make run` and `make test` work on a fresh machine: they create .venv and install on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test install bench clean

install: $(STAMP)

# llama.cpp is compiled once into a wheel here, for x86-64-v3 (AVX2, FMA, F16C), not -march=native:
# a native build on a CPU that reports AMX crashed on its first prompt in a VM that does not enable
# AMX, and pip's wheel cache would hand a native build to any later machine, whatever its CPU
WHEELS := .rolecall-cache/wheels
LLAMA  := $(shell grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml)
LLAMA_WHEEL = $(WHEELS)/llama_cpp_python-$(subst llama-cpp-python==,,$(LLAMA))-*.whl
LLAMA_CMAKE := $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	ls $(LLAMA_WHEEL) >/dev/null 2>&1 || ( \
		CMAKE_ARGS="$(LLAMA_CMAKE)" $(PY) -m pip wheel --quiet --no-deps --no-cache-dir -w $(WHEELS) '$(LLAMA)' && \
		$(PY) -m pip install --quiet --force-reinstall --no-deps $(LLAMA_WHEEL) )
	$(PY) -m pip install --quiet --find-links $(WHEELS) -e '.[test,ray]'
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
