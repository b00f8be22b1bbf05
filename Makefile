# Two commands do all the set-up on a fresh machine with Python 3.11+ and make:
#   make site   - create .venv, install everything, publish the demo website to site/
#   make test   - the same set-up if needed, then the whole test suite
# A second run with nothing changed does not reinstall: the install is stamped and only
# redone when a pyproject.toml changes.
#   make lint   - the rules the code keeps: ruff (lint and format check), mypy, import-linter (its contracts are in
#                 pyproject.toml, with the tools' settings); `make test` runs it first
#   make lab    - JupyterLab on notebooks/, with the project's kernel (charts draw offline)
#   make base-venv - .venv-base: the base install only (`pip install publicservices` and the
#                    four plugins, no extras: no MkDocs, no vl-convert), as an analyst gets it;
#                    tests/test_base_install.py reinstalls the working tree into it and checks
#                    that the notebook API works there and `publish` asks for the [site] extra.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PLUGINS := health schools policing welfare
PYPROJECTS := pyproject.toml $(foreach p,$(PLUGINS),plugins/$(p)/pyproject.toml)
PYTEST_ARGS ?=
BASE_VENV := .venv-base
BASE_STAMP := $(BASE_VENV)/.installed

.PHONY: install base-venv lint test site lab docs bench clean

install: $(STAMP)

$(STAMP): $(PYPROJECTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' $(foreach p,$(PLUGINS),-e plugins/$(p))
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

base-venv: $(BASE_STAMP)

# Made from scratch whenever a pyproject.toml changes, so a dependency dropped from the base
# install does not linger in it. Its own .gitignore keeps it out of git status.
$(BASE_STAMP): $(PYPROJECTS)
	rm -rf $(BASE_VENV)
	$(PYTHON) -m venv $(BASE_VENV)
	@echo '*' > $(BASE_VENV)/.gitignore
	$(BASE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check . $(foreach p,$(PLUGINS),plugins/$(p))
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check src plugins tests
	$(BIN)/ruff format --check src plugins tests
	$(BIN)/mypy src/publicservices
	$(BIN)/lint-imports --no-logo

test: lint $(STAMP) $(BASE_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

site: $(STAMP)
	$(BIN)/publicservices publish --out site

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

# The docs site in build/docs, with notebooks/ run into it by mkdocs-jupyter (most of its ~40 s);
# PUBLICSERVICES_DOCS_EXECUTE=false builds their pages without running them.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/docs

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(BASE_VENV) site build .pytest_cache .hypothesis
