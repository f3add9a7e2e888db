# BookFlow API: `make run` serves it, `make test` tests it. Both set themselves up first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEV_ENV := DEBUG=1
PG_URL ?= postgres://postgres@127.0.0.1:5432/bookflow
REPEAT_PG_URL ?= postgres://postgres@127.0.0.1:5432/bookflow_repeat

.PHONY: help install install-dev install-browser run migrate test test-postgres test-repeat smoke stress mutation fuzz bench profile lint format migrations-check schema clean

help:
	@echo "make run               set up and run the API on http://127.0.0.1:8000 plus the worker (SQLite, console email)"
	@echo "make test              set up and run the whole test suite (honours DATABASE_URL)"
	@echo "make test-postgres     the suite against PostgreSQL at $(PG_URL)"
	@echo "make test-repeat       the suite N times (N=10) on SQLite and PostgreSQL at once; stops at the first failure"
	@echo "make smoke             end-to-end walk against gunicorn + worker on PostgreSQL (needs PostgreSQL)"
	@echo "make stress            gunicorn + two workers on one SQLite file under 60 s of writes: no lock errors, no 5xx"
	@echo "make mutation          mutmut over the rule modules (slow, not in CI); the table goes to bench/mutation.md"
	@echo "make fuzz              schemathesis with 200 cases per operation (FUZZ_EXAMPLES=N for more)"
	@echo "make bench             benchmarks as tables (needs PostgreSQL, Redis, wrk): bench/README.md"
	@echo "make profile           where each hot read's CPU goes (cProfile, in process; needs PostgreSQL)"
	@echo "make install-browser   Debian's chromium for the admin browser test (skipped without it)"
	@echo "make lint              ruff lint + format check + import-linter (the layers of ARCHITECTURE.md §3)"
	@echo "make migrations-check  fail if a model change has no migration"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# Debian's Chromium for the admin browser test (Playwright drives it; it never downloads a browser).
install-browser:
	@test -x /usr/bin/chromium || apt-get install -y -q chromium

migrate: install
	$(DEV_ENV) $(BIN)/python manage.py migrate --no-input
	$(DEV_ENV) $(BIN)/python manage.py seed_books

run: migrate install-dev
	$(DEV_ENV) PYTHONUNBUFFERED=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile.dev start

test: install-dev
	$(BIN)/pytest

test-postgres: install-dev
	DATABASE_URL=$(PG_URL) $(BIN)/pytest

# Mutation testing of the modules that hold the rules ([tool.mutmut] in pyproject.toml). Slow: not in CI.
mutation: install-dev
	$(BIN)/mutmut run > .mutmut.log 2>&1 || (tail -20 .mutmut.log && exit 1)
	$(BIN)/python scripts/mutation_report.py | tee bench/mutation.md

# Property-based API testing at depth (CI runs 5 cases per operation inside `make test`).
fuzz: install-dev
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(BIN)/pytest bookflow_api/tests/test_schemathesis.py

# Benchmarks (bench/README.md): gunicorn + PostgreSQL + Redis on this machine, loaded with wrk.
bench: install
	@command -v wrk >/dev/null || apt-get install -y -q wrk || (echo "bench needs wrk (apt-get install wrk)" && exit 1)
	$(BIN)/python bench/run.py

# Where each hot read's CPU goes, in process under cProfile (bench/hot_reads.py; needs PostgreSQL).
profile: install-dev
	$(BIN)/python bench/hot_reads.py

# The suite N times in a row, SQLite and PostgreSQL at once (a loaded machine); logs in .test-repeat/.
# Its own PostgreSQL database, so it can run beside `make test-postgres` or CI.
test-repeat: install-dev
	@mkdir -p .test-repeat
	@for i in $$(seq 1 $${N:-10}); do \
	  env -u DATABASE_URL $(BIN)/pytest -q -p no:cacheprovider > .test-repeat/sqlite-$$i.log 2>&1 & sqlite=$$!; \
	  DATABASE_URL=$(REPEAT_PG_URL) $(BIN)/pytest -q -p no:cacheprovider > .test-repeat/postgres-$$i.log 2>&1; pg=$$?; \
	  wait $$sqlite; lite=$$?; \
	  echo "run $$i: SQLite $$(tail -1 .test-repeat/sqlite-$$i.log) | PostgreSQL $$(tail -1 .test-repeat/postgres-$$i.log)"; \
	  [ $$lite -eq 0 ] && [ $$pg -eq 0 ] || { echo "failed: see .test-repeat/*-$$i.log"; exit 1; }; \
	done

# Web (gunicorn 2x4) and two workers on one SQLite file under 60 s of API writes (scripts/stress_sqlite.py).
stress: install
	$(BIN)/python scripts/stress_sqlite.py

# Production-like end to end: gunicorn + worker on PostgreSQL, fake Google Books / Gemini / SMTP.
smoke: install
	$(BIN)/python scripts/smoke.py

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install-dev
	$(DEV_ENV) $(BIN)/python manage.py makemigrations --check --dry-run

schema: install-dev
	$(DEV_ENV) $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
