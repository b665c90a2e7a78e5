# Guildhall's single entry point. `make run` serves the demo; `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core

.PHONY: run test lint format install check-system messages worker beat

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Guildhall needs Python 3.11 ($(PYTHON) not found). On Debian: sudo apt-get install python3.11 python3.11-venv"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

check-system: install
	@$(BIN)/python -c "import weasyprint" 2>/dev/null || { \
		echo "WeasyPrint (invoices as PDF) needs the Pango library, which is missing."; \
		echo "Install it with: sudo apt-get install $(SYSTEM_PACKAGES)"; exit 1; }

run: check-system
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --members 300
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: check-system
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: install
	$(BIN)/python manage.py makemessages --locale nb --no-obsolete --ignore ".venv/*" --ignore "tests/*" --ignore "var/*"
	$(BIN)/python manage.py compilemessages --ignore ".venv/*"

# With CELERY_BROKER_URL set (redis://127.0.0.1:6379/0), run these beside the site.
worker: install
	$(BIN)/celery -A guildhall worker --loglevel INFO
beat: install
	$(BIN)/celery -A guildhall beat --loglevel INFO
