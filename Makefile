# Set-up and everyday commands for the Atlassian 3LO kit.
#
# `make lab` and `make test` do all the set-up on a fresh machine that has only
# Python 3.11+ and make: they create .venv, install the kit with its test and
# dev extras (again only when pyproject.toml changes), and configure the
# nbstripout git filter. Run `make` or `make help` for the list of targets.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS := test,dev

# Stamps inside .venv, so that deleting .venv resets them too.
VENV_READY := $(VENV)/.kit-venv-ready
INSTALLED := $(VENV)/.kit-installed

START_NOTEBOOK := notebooks/00-start-here.ipynb
SANDBOX_HOST ?= 127.0.0.1
SANDBOX_PORT ?= 8000
SANDBOX_ARGS ?=
LAB_ARGS ?=
PYTEST_ARGS ?=
BENCH_ARGS ?=
BENCH_INSTALLED := $(VENV)/.kit-bench-installed
BENCH_EXTRAS := $(EXTRAS),bench

# Jupyter refuses to run as root without --allow-root; containers often are root.
LAB_FLAGS = $(LAB_ARGS)
ifeq ($(shell id -u 2>/dev/null),0)
LAB_FLAGS += --allow-root
endif

# pip, quiet, with errors shown. A pip configuration whose find-links or index
# locations lack some project makes pip print "WARNING: Location '...' is
# ignored"; that is harmless, so those lines are dropped. Every other line of
# pip's stderr is kept, and so is pip's exit status.
PIP_NOISE := ^WARNING: Location '.*' is ignored
define pip_install
$(PY) -m pip install --quiet --disable-pip-version-check $(1) \
	2>$(VENV)/.pip-stderr; status=$$?; \
	grep -v "$(PIP_NOISE)" $(VENV)/.pip-stderr >&2; \
	rm -f $(VENV)/.pip-stderr; exit $$status
endef

.DEFAULT_GOAL := help
.PHONY: help setup lab test lint sandbox specs bench clean distclean

help:
	@echo "Targets (each one sets up .venv first when it needs it):"
	@echo "  make lab        open JupyterLab on $(START_NOTEBOOK), a sandbox beside it"
	@echo "  make test       lint, then run the whole test suite"
	@echo "  make lint       ruff check, ruff format --check, mypy, notebook outputs"
	@echo "  make sandbox    run the sandbox on http://$(SANDBOX_HOST):$(SANDBOX_PORT)"
	@echo "  make bench      measure the sandbox and the course; writes bench/RESULTS.md"
	@echo "  make specs      run scripts/extract_specs.py"
	@echo "  make setup      only create .venv, install the kit, set the git filter"
	@echo "  make clean      remove caches and build output (keeps .venv)"
	@echo "  make distclean  clean, and remove .venv as well"
	@echo "Variables: PYTHON=$(PYTHON) SANDBOX_HOST SANDBOX_PORT SANDBOX_ARGS"
	@echo "           LAB_ARGS PYTEST_ARGS BENCH_ARGS"

# --- set-up -----------------------------------------------------------------

$(VENV_READY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		2>/dev/null || { \
		found=$$(command -v $(PYTHON) >/dev/null 2>&1 \
			&& $(PYTHON) --version 2>&1 || echo "not found"); \
		echo "error: the kit needs Python 3.11 or newer; '$(PYTHON)' is:" \
			"$$found." >&2; \
		echo "Install Python 3.11+, or name one: make test PYTHON=python3.12" >&2; \
		exit 1; }
	@echo "Creating $(VENV) with $$($(PYTHON) --version)."
	@$(PYTHON) -m venv $(VENV) || { \
		echo "error: '$(PYTHON) -m venv $(VENV)' failed. On Debian or Ubuntu," \
			"install the venv module (sudo apt install python3-venv) and" \
			"run make again." >&2; \
		exit 1; }
	@$(call pip_install,--upgrade pip)
	@touch $@

$(INSTALLED): pyproject.toml $(VENV_READY)
	@echo "Installing the kit with its [$(EXTRAS)] extras into $(VENV)" \
		"(a minute or two the first time)."
	@$(call pip_install,--editable '.[$(EXTRAS)]')
	@touch $@

# The nbstripout git filter strips outputs from notebooks as they are staged.
# These are the settings `nbstripout --install` writes, without its edit of
# .gitattributes (which is committed). Only done when this directory is the
# top of a git work tree; elsewhere there is nothing to configure.
setup: $(INSTALLED)
	@if [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ]; then \
		git config filter.nbstripout.clean '"$(CURDIR)/$(PY)" -m nbstripout' \
		&& git config filter.nbstripout.smudge cat \
		&& git config filter.nbstripout.required true \
		&& git config diff.ipynb.textconv '"$(CURDIR)/$(PY)" -m nbstripout -t' \
		|| echo "warning: could not configure the nbstripout git filter." >&2; \
	fi

# --- everyday targets ---------------------------------------------------------

lab: setup
	@if [ -f $(START_NOTEBOOK) ]; then target=$(START_NOTEBOOK); \
	elif [ -d notebooks ]; then target=notebooks; \
		echo "$(START_NOTEBOOK) is not written yet; opening notebooks/."; \
	else target=.; \
		echo "notebooks/ is not written yet; opening the repository."; \
	fi; \
	echo "$(PY) -m kit.course.lab --sandbox-port $(SANDBOX_PORT) $(LAB_FLAGS) $$target"; \
	exec $(PY) -m kit.course.lab --sandbox-port $(SANDBOX_PORT) $(LAB_FLAGS) "$$target"

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

# The notebook check reads each notebook as staged (`git show :path`), because
# with the git filter a working copy may hold outputs while the commit does not.
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	@if [ "$$(git rev-parse --is-inside-work-tree 2>/dev/null)" != true ]; then \
		echo "Not a git work tree: skipping the notebook output check."; \
	elif [ -z "$$(git ls-files '*.ipynb')" ]; then \
		echo "No notebooks committed yet: no outputs to check."; \
	else \
		echo "nbstripout --verify on every notebook in git"; \
		status=0; \
		for nb in $$(git ls-files '*.ipynb'); do \
			git show ":$$nb" | $(VENV)/bin/nbstripout --verify >/dev/null || { \
				echo "$$nb is committed with outputs or metadata." \
					"Run: $(VENV)/bin/nbstripout $$nb && git add $$nb" >&2; \
				status=1; }; \
		done; \
		exit $$status; \
	fi

sandbox: setup
	$(PY) -m kit.sandbox --host $(SANDBOX_HOST) --port $(SANDBOX_PORT) \
		$(SANDBOX_ARGS)

# The bench's own extra (waitress, for the Authlib peer) on top of the test set-up;
# bench/run.py installs the npm peer into bench/.npm itself.
$(BENCH_INSTALLED): pyproject.toml $(INSTALLED)
	@echo "Installing the kit's [bench] extra into $(VENV)."
	@$(call pip_install,--editable '.[$(BENCH_EXTRAS)]')
	@touch $@

bench: setup $(BENCH_INSTALLED)
	$(PY) bench/run.py $(BENCH_ARGS)

specs: setup
	$(PY) scripts/extract_specs.py

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . \( -path ./$(VENV) -o -path ./.git \) -prune \
		-o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
