# The two commands of the README: `make run` and `make test`.
# Each builds what it needs on a fresh machine with only Python.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test install browser lint format db-stop bench mutate

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## Start the application with demo data on http://127.0.0.1:8000
## (migrate connects as the database owner, the rest as the application role:
## inventory_site/database.py, README "Database roles")
run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo --if-empty --demo-users
	$(PY) manage.py runserver 127.0.0.1:8000

## Run the whole test suite (installs Debian's chromium for the browser tests)
test: install browser
	$(PY) -m pytest -n 2 --dist loadgroup

## Debian's chromium for Playwright: never a downloaded browser.
browser:
	@test -x /usr/bin/chromium || { \
		echo "installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Benchmark on the L data set, built once in its own database (README, "Benchmark")
bench: install
	$(PY) manage.py bench

## Stop the embedded PostgreSQL servers (development and tests).
db-stop: install
	$(PY) -m inventory_site.database stop

## Mutation run over the ledger, stock, reservation, device-state and billing services
## (by hand, not in CI; hours for all of it: `mutmut run "<module>*"` runs a part).
mutate: install
	$(VENV)/bin/mutmut run --max-children 1
	$(VENV)/bin/mutmut results
