# One command each: `make run` starts the app, `make test` runs every test tier.
# Both create .venv from requirements.txt when it is missing or older than requirements.txt.
PYTHON ?= python3
# Extra pip options for torch, e.g. TORCH_PIP="--index-url https://download.pytorch.org/whl/cpu" for the CPU-only build
# on a Linux machine without a GPU (PyPI's Linux wheel of torch 2.13.0 is the CUDA build, a few GB).
TORCH_PIP ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed

.PHONY: setup run test test-fast bench clean-venv

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(TORCH_PIP)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run Home.py

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser"

bench: $(STAMP)
	$(BIN)/python -m bench.bench_core
	$(BIN)/python -m bench.bench_answers

clean-venv:
	rm -rf $(VENV)
