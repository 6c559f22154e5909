# The two commands of the quickstart: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch is installed first and pinned, so that nothing pulls a newer (CUDA) build;
# elsewhere override it, e.g. make TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH  ?= torch==2.13.0
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install demo test build clean

$(BIN)/autograder: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e .
	touch $@

install: $(BIN)/autograder

demo: install
	$(BIN)/autograder demo

test: install
	$(BIN)/python -m pytest

build: install
	$(BIN)/autograder build

clean:
	rm -rf submitted autograded feedback gradebook.db release demo_export.csv
