# Two commands do all the set-up on a fresh machine with Python 3.11+ and make:
#   make site   - create .venv, install everything, publish the demo website to site/
#   make test   - the same set-up if needed, then the whole test suite
# A second run with nothing changed does not reinstall: the install is stamped and only
# redone when a pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PLUGINS := health schools policing welfare
PYPROJECTS := pyproject.toml $(foreach p,$(PLUGINS),plugins/$(p)/pyproject.toml)
PYTEST_ARGS ?=

.PHONY: install test site docs bench clean

install: $(STAMP)

$(STAMP): $(PYPROJECTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' $(foreach p,$(PLUGINS),-e plugins/$(p))
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

site: $(STAMP)
	$(BIN)/publicservices publish --out site

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/docs

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) site build .pytest_cache .hypothesis
