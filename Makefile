# payplan: `make demo` and `make test` set everything up from scratch.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest examples bench bench-quick clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "payplan needs Python 3.11+"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/payplan demo

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src || true

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/payplan

pytest: $(STAMP)
	$(BIN)/pytest -q

examples: $(STAMP)
	@for f in examples/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

test: lint typecheck pytest examples bench-quick

bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	@if [ -f benchmarks/__main__.py ]; then $(BIN)/python -m benchmarks --quick; fi

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
