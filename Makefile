# Two commands for a fresh clone: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Two install stamps: `make run` installs only what the bot needs; `make test` and the other
# developer targets add the dev tools (pytest, ruff, mypy, Playwright …).
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
BABEL := $(VENV)/bin/pybabel
LOCALES := locales
POT := $(LOCALES)/messages.pot

.PHONY: run test test-fast lint format typecheck i18n i18n-extract i18n-update i18n-compile demo clean

$(RUN_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(RUN_STAMP) i18n-compile
	$(PY) -m bot db upgrade
	$(PY) -m bot run

test: $(STAMP) i18n-compile
	$(PY) -m pytest $(PYTEST_ARGS)

# The fast lane: unit and integration tests on SQLite only (no processes, no browser), on
# every core (pytest-xdist; each worker builds its own template database).
test-fast: $(STAMP) i18n-compile
	TEST_BACKENDS=sqlite $(PY) -m pytest -m "unit or integration" -q -n auto $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

demo: $(RUN_STAMP)
	$(PY) -m bot demo-data

# Translations: extract → update → (translate the .po files) → compile.
i18n-extract: $(RUN_STAMP)
	$(BABEL) extract --no-location --sort-output --omit-header -F babel.cfg \
		-k _ -k __ -k lazy_gettext -o $(POT) .

i18n-update: i18n-extract
	$(BABEL) update --omit-header --no-fuzzy-matching -d $(LOCALES) -D messages -i $(POT)

i18n-compile: $(RUN_STAMP)
	$(PY) -m bot i18n-compile

i18n: i18n-update i18n-compile

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
