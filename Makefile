# The two commands of the quickstart: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch is installed first and pinned, so that nothing pulls a newer (CUDA) build;
# elsewhere override it, e.g. make TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH  ?= torch==2.13.0
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install demo test bench build clean sandbox

$(BIN)/autograder: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e .
	touch $@

install: $(BIN)/autograder sandbox

# bubblewrap isolates student code; installed from Debian where we may, else a visible warning.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1; }; }; } || true
	@command -v bwrap >/dev/null 2>&1 || echo "WARNING: bubblewrap (bwrap) is missing: student code will run without the sandbox (apt-get install bubblewrap)" >&2

demo: install
	$(BIN)/autograder demo

test: install
	$(BIN)/python -m pytest

# stock nbgrader vs the kit on a synthetic class; the last line is speedup_vs_nbgrader=<ratio>
bench: install
	$(BIN)/python bench/class_bench.py

build: install
	$(BIN)/autograder build

clean:
	rm -rf submitted autograded feedback gradebook.db release demo_export.csv
