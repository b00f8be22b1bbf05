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

.PHONY: install bytecode base-venv lint test site lab docs bench clean

install: $(STAMP)

$(STAMP): $(PYPROJECTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' $(foreach p,$(PLUGINS),-e plugins/$(p))
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

# The package and plugins are installed editable, so pip does not byte-compile them as it does
# every other package; where PYTHONDONTWRITEBYTECODE is set (CI images often set it) Python
# would then compile all ~200 modules again in every process: about 0.4 s of CPU on each
# publish, test subprocess and benchmark. compileall writes only what changed since its last run.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q src $(foreach p,$(PLUGINS),plugins/$(p)/src) >/dev/null

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

test: lint bytecode $(BASE_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

site: bytecode
	$(BIN)/publicservices publish --out site

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

# The docs site in build/docs, with notebooks/ run into it by mkdocs-jupyter (most of its ~40 s);
# PUBLICSERVICES_DOCS_EXECUTE=false builds their pages without running them.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/docs

bench: bytecode
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(BASE_VENV) site build .pytest_cache .hypothesis
