# The two set-up commands from the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: demo test lint format serve install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "mailwarden needs Python 3.11 or newer")'
	@echo "[1/3] Creating the virtual environment in $(VENV)"
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@echo "[2/3] Upgrading pip"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "[3/3] Installing mailwarden and its dependencies (a few minutes the first time)"
	@# Not --quiet: pip's line per package is the progress, and a silent install looks stuck.
	@$(BIN)/python -m pip install --progress-bar off -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)
	@echo "Installed."

install: $(STAMP)

# The demo's data goes to the default data folder (var), so every command run from the clone
# afterwards (mailwarden ledger verify, ...) finds it.
demo: $(STAMP)
	$(BIN)/mailwarden demo

serve: $(STAMP)
	$(BIN)/mailwarden serve

# One test process per core (MW_TEST_WORKERS=1 for one process); each has its own databases.
test: $(STAMP)
	$(BIN)/pytest -n $${MW_TEST_WORKERS:-auto}

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src/mailwarden

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache test-artifacts
