# distillwatch quick start: `make demo` and `make test` each set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# real BFCL corpora shipped on PyPI: used by the demo when ../shared/data is absent
	$(BIN)/python -m pip install --quiet --no-deps bfcl-eval
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/distillwatch demo --out demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) demo-out .pytest_cache
