# The two commands a newcomer needs:  make lab   and   make test
# Both create .venv on first use and install the project into it; running them again is cheap.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
JOBS   ?= 2
STAMP  := $(VENV)/.installed

.PHONY: lab test test-quick test-browser system-packages test-system-packages release site lint install \
	clean-student-data help

help:
	@echo "make lab           create .venv if needed, install, open JupyterLab on the course"
	@echo "make test          create .venv if needed, install, run every test (JOBS=$(JOBS) workers)"
	@echo "make test-quick    the same without the real-browser tests"
	@echo "make test-browser  only the real-browser tests (needs Debian's chromium)"
	@echo "make release       regenerate notebooks/ from solutions/ with nbgrader"
	@echo "make site          the course as a static HTML book in site/ (SOLUTIONS=1: with solutions)"
	@echo "make lint          ruff over the packages, tests and notebooks"

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first and pinned: its CPU build is what the pin resolves to here, and the project's own
# range (torch>=2.2) is then already satisfied, so pip never reaches for a CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev,site]"
	@touch $@

install: $(STAMP)

# JUPYTER_CONFIG_PATH lets nbgrader's formgrader in JupyterLab find grader/nbgrader_config.py.
lab: install system-packages
	JUPYTER_CONFIG_PATH="$(CURDIR)/grader" $(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

test: install test-system-packages
	$(PY) -m pytest -n $(JOBS) --dist loadgroup --durations=15

test-quick: install test-system-packages
	$(PY) -m pytest -n $(JOBS) --dist loadgroup --durations=15 -m "not browser"

test-browser: install test-system-packages
	$(PY) -m pytest -m browser -n $(JOBS) --dist loadgroup

# Debian packages the project needs outside .venv: bubblewrap (the grading sandbox), and for the
# tests Debian's chromium (the browser tests; never Playwright's own download) and postgresql (the
# PostgreSQL gradebook tests start a private server from its binaries, never one already running). Installed when
# missing and this machine lets us (root, or sudo without a password); otherwise a note says what
# to install: the browser tests then skip on a workstation and fail under CI, and autograde
# refuses to run without its sandbox unless told --no-sandbox. Not Debian (no dpkg): nothing is
# installed here, and those checks say what is missing.
define apt_install
	@missing=""; command -v dpkg >/dev/null && for p in $(1); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then :; \
	elif ! command -v apt-get >/dev/null; then echo "note: please install:$$missing"; \
	elif [ "$$(id -u)" = 0 ]; then echo "installing Debian's$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	elif sudo -n true 2>/dev/null; then echo "installing Debian's$$missing"; \
		sudo sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null"; \
	else echo "note: please run: sudo apt-get install$$missing"; fi
endef

system-packages:
	$(call apt_install,bubblewrap)

test-system-packages:
	$(call apt_install,bubblewrap chromium chromium-driver postgresql)


release: install
	$(PY) -m grader release

# The learner's book: release notebooks run in fast mode, no solutions, no hidden tests; opens from
# file:// offline. SOLUTIONS=1 builds the instructors' book (solutions, hidden tests) instead.
site: install
	$(PY) -m book --jobs $(JOBS) $(if $(filter 1,$(SOLUTIONS)),--solutions)

lint: install
	$(VENV)/bin/ruff check .

clean-student-data:
	rm -rf grader/submitted grader/autograded grader/feedback grader/reports grader/gradebook.db \
		grader/exchange
