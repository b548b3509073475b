# The README's commands. Each target installs what it needs first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint format bench migrate worker browser-deps clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

migrate: $(VENV)/.runtime
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable

## run: the service on http://localhost:8000 (SQLite, mail to var/mail/) and its
## task worker; Ctrl-C stops both.
run: export DEBUG ?= true
run: migrate
	@echo "Serving http://localhost:8000/  (admin: /admin/, API docs: /api/docs/, example SPA: /examples/spa/)"
	@echo "Email is written to files under var/mail/ by the task worker."
	@bash -c 'trap "trap - TERM; kill 0" INT TERM EXIT; \
	  $(BIN)/python manage.py db_worker --no-reload --interval 1 & \
	  $(BIN)/gunicorn identity_site.wsgi -c gunicorn.conf.py --bind 127.0.0.1:8000 & \
	  wait -n'

worker: $(VENV)/.runtime
	$(BIN)/python manage.py db_worker --no-reload

## test: the whole suite (browser tests included) on SQLite, or on the database
## DATABASE_URL names.
test: $(VENV)/.dev browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: install Debian's 'chromium' package (browser tests)" >&2; exit 1; fi; }

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.dev
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/static test-artifacts
