# payplan: `make demo` and `make test` set everything up from scratch.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CORE_VENV := .venv-core
CORE_STAMP := $(CORE_VENV)/.installed

# payplan.django on Django 4.2 LTS (the main environment has Django 5.x): a small environment of
# its own that runs only tests/django_app.
DJ42_VENV := .venv-django42
DJ42_STAMP := $(DJ42_VENV)/.installed

MUTATION_VENV := .venv-mutation

.PHONY: mutation demo test test-core test-django42 django-site lint typecheck pytest examples bench bench-quick clean docs postgres-start postgres-stop site chromium drills

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

$(DJ42_STAMP): pyproject.toml
	$(PYTHON) -m venv $(DJ42_VENV)
	$(DJ42_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DJ42_VENV)/bin/python -m pip install --quiet -e '.[django,postgres,stripe,test]' 'django>=4.2,<5'
	touch $(DJ42_STAMP)

# tests/django_app on Django 4.2, on SQLite and on the throwaway PostgreSQL (as `make pytest` starts it).
test-django42: $(DJ42_STAMP)
	@$(DJ42_VENV)/bin/python -c 'import django; assert django.VERSION[:2] == (4, 2), django.__version__'
	@if [ -n "$$PAYPLAN_TEST_POSTGRES_URL" ]; then exec $(DJ42_VENV)/bin/pytest -q -p no:cacheprovider tests/django_app; fi; \
	url=$$(scripts/postgres.sh start) || { \
		if [ "$$CI" = true ]; then echo "make: PostgreSQL did not start (required in CI)"; scripts/postgres.sh stop; exit 1; fi; \
		echo "make: PostgreSQL did not start: its tests will skip"; url=; }; \
	PAYPLAN_TEST_POSTGRES_URL="$$url" $(DJ42_VENV)/bin/pytest -q -p no:cacheprovider tests/django_app; status=$$?; \
	scripts/postgres.sh stop; exit $$status

demo: $(STAMP)
	$(BIN)/payplan demo

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/payplan
	$(BIN)/mypy --strict examples

# pytest runs against a throwaway PostgreSQL server (scripts/postgres.sh installs
# Debian's postgresql when missing), stopped afterwards even when tests fail.
# Outside CI a server that cannot start only skips the PostgreSQL suite, with
# the reason printed; in CI (CI=true) it fails the run. A URL already in
# PAYPLAN_TEST_POSTGRES_URL is used as it is.
pytest: $(STAMP) chromium
	@if [ -n "$$PAYPLAN_TEST_POSTGRES_URL" ]; then exec $(BIN)/pytest -q; fi; \
	url=$$(scripts/postgres.sh start) || { \
		if [ "$$CI" = true ]; then echo "make: PostgreSQL did not start (required in CI)"; scripts/postgres.sh stop; exit 1; fi; \
		echo "make: PostgreSQL did not start: its tests will skip"; url=; }; \
	PAYPLAN_TEST_POSTGRES_URL="$$url" $(BIN)/pytest -q; status=$$?; \
	scripts/postgres.sh stop; exit $$status

# Debian's chromium for the example site's browser tests (scripts/chromium.sh installs
# the package with apt-get when it is missing; Playwright drives it, nothing is
# downloaded). Outside CI a missing browser only skips those tests; in CI it fails.
chromium:
	@scripts/chromium.sh >/dev/null || { \
		if [ "$$CI" = true ]; then echo "make: chromium is missing (required in CI)"; exit 1; fi; \
		echo "make: no chromium: the browser tests will skip"; }

# The example booking site (examples/booking_site/) on a fresh SQLite store with demo
# data, served on http://127.0.0.1:$(SITE_PORT)/ (the address is printed; Ctrl-C stops it).
SITE_PORT ?= 8000
site: $(STAMP)
	cd examples && ../$(BIN)/python -m booking_site --port $(SITE_PORT) --db ../build/booking_site.db

# The example Django project (examples/django_site/): migrates its SQLite database (Django's tables and
# payplan's), prints the staff login for /admin/ and serves http://127.0.0.1:$(DJANGO_SITE_PORT)/.
DJANGO_SITE_PORT ?= 8001
django-site: $(STAMP)
	cd examples/django_site && ../../$(BIN)/python manage.py studio_demo --port $(DJANGO_SITE_PORT)

# The full-size drills, apart from `make test` (which runs a sample of each): the booking
# lifecycle's crash drill kills a worker after every store write and inside every provider
# request of a booking's life, on Stripe, Square and PayPal, on SQLite and PostgreSQL
# (tests/bookings/test_crash_drill.py);
# the six-month drill on every adapter through its clocked fake runs 210 plans each
# (tests/engine/test_adapter_drill.py).
drills: $(STAMP)
	@url=$$(scripts/postgres.sh start) || url=; \
	PAYPLAN_DRILLS=full PAYPLAN_TEST_POSTGRES_URL="$$url" $(BIN)/pytest -q tests/bookings/test_crash_drill.py \
		tests/engine/test_adapter_drill.py tests/engine/test_drill.py; status=$$?; \
	scripts/postgres.sh stop; exit $$status

postgres-start:
	@scripts/postgres.sh start

postgres-stop:
	@scripts/postgres.sh stop

examples: $(STAMP)
	@for f in examples/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

test: lint typecheck pytest test-core test-django42 examples bench-quick docs

# The documentation as a site (MkDocs + Material + mkdocstrings), strict: a broken
# link, a missing page or an unreadable docstring fails the build. Output: build/docs/.
# Then checked as a reader's browser meets it: nothing loaded from a third-party host,
# no code block scrolling sideways at 1280 px (scripts/check_docs.py, in Chromium).
docs: $(STAMP) chromium
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	$(BIN)/python scripts/check_docs.py build/docs

bench: $(STAMP)
	@url=$$(scripts/postgres.sh start) || url=; \
	PAYPLAN_BENCH_POSTGRES_URL="$$url" $(BIN)/python -m benchmarks; status=$$?; \
	scripts/postgres.sh stop; exit $$status

bench-quick: $(STAMP)
	@if [ -f benchmarks/__main__.py ]; then $(BIN)/python -m benchmarks --quick; fi

clean:
	scripts/postgres.sh stop
	rm -rf $(VENV) $(CORE_VENV) $(DJ42_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

# Mutation testing of the money core (mutmut, configured in pyproject.toml's [tool.mutmut]):
# not part of `make test`. About 5800 mutants over the 11 modules: the whole run took 22 minutes on
# the 2-core machine (2026-12-07; the mutation Hypothesis profile runs 25 examples and never shrinks).
# `make mutation MUTANTS='payplan._money*'` runs again only the mutants whose names match, keeping the
# others' results in mutants/ (after a change to those modules); without MUTANTS everything starts
# afresh. Writes tests/mutation/report.md with the score per module and every surviving mutant;
# tests/mutation/equivalent/<module>.toml says why each mutant judged equivalent behaves as the
# original, and why a survivor is left alive (tests/mutation/README.md).
MUTANTS ?=
mutation:
	@[ -x $(MUTATION_VENV)/bin/mutmut ] || { $(PYTHON) -m venv $(MUTATION_VENV) && \
		$(MUTATION_VENV)/bin/python -m pip install --quiet --upgrade pip && \
		$(MUTATION_VENV)/bin/python -m pip install --quiet -e '.[all,test,mutation]'; }
	@[ -n "$(MUTANTS)" ] || rm -rf mutants
	start=$$(date +%s); HYPOTHESIS_PROFILE=mutation $(MUTATION_VENV)/bin/mutmut run --max-children 2 $(MUTANTS); \
	minutes=$$(( ($$(date +%s) - start) / 60 )); \
	[ -n "$(MUTANTS)" ] || echo $$minutes > mutants/payplan-full-run-minutes; \
	$(MUTATION_VENV)/bin/python scripts/mutation_report.py --mutmut $(MUTATION_VENV)/bin/mutmut \
		--minutes $$minutes $(if $(MUTANTS),--rerun '$(MUTANTS)')
