# payplan: `make demo` and `make test` set everything up from scratch.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CORE_VENV := .venv-core
CORE_STAMP := $(CORE_VENV)/.installed

.PHONY: demo test test-core lint typecheck pytest examples bench bench-quick clean docs

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "payplan needs Python 3.11+"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

# A second environment with no provider SDK and no optional extra: payplan
# must import and its core tests must pass without them (provider suites skip,
# each with its reason).
$(CORE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CORE_VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(CORE_STAMP)

test-core: $(CORE_STAMP)
	$(CORE_VENV)/bin/pytest -q -p no:cacheprovider

demo: $(STAMP)
	$(BIN)/payplan demo

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/payplan
	$(BIN)/mypy --strict examples

pytest: $(STAMP)
	$(BIN)/pytest -q

examples: $(STAMP)
	@for f in examples/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

test: lint typecheck pytest test-core examples bench-quick docs

# The documentation as a site (MkDocs + Material + mkdocstrings), strict: a broken
# link, a missing page or an unreadable docstring fails the build. Output: build/docs/.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	@if [ -f benchmarks/__main__.py ]; then $(BIN)/python -m benchmarks --quick; fi

clean:
	rm -rf $(VENV) $(CORE_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
