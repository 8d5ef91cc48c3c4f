# The two commands a newcomer needs:  make lab   and   make test
# Both create .venv on first use and install the project into it; running them again is cheap.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
JOBS   ?= 2
STAMP  := $(VENV)/.installed

.PHONY: lab test test-quick test-browser chromium postgresql release lint install clean-student-data help

help:
	@echo "make lab           create .venv if needed, install, open JupyterLab on the course"
	@echo "make test          create .venv if needed, install, run every test (JOBS=$(JOBS) workers)"
	@echo "make test-quick    the same without the real-browser test"
	@echo "make test-browser  only the real-browser test (needs Debian's chromium)"
	@echo "make release       regenerate notebooks/ from solutions/ with nbgrader"
	@echo "make lint          ruff over the packages, tests and notebooks"

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first and pinned: its CPU build is what the pin resolves to here, and the project's own
# range (torch>=2.2) is then already satisfied, so pip never reaches for a CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(STAMP)

# JUPYTER_CONFIG_PATH lets nbgrader's formgrader in JupyterLab find grader/nbgrader_config.py.
lab: install
	JUPYTER_CONFIG_PATH="$(CURDIR)/grader" $(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

test: install chromium postgresql
	$(PY) -m pytest -n $(JOBS) --dist loadgroup --durations=15

test-quick: install postgresql
	$(PY) -m pytest -n $(JOBS) --dist loadgroup --durations=15 -m "not browser"

test-browser: install chromium
	$(PY) -m pytest tests/test_browser.py

# The browser test drives Debian's chromium (never Playwright's own download). Installed when
# missing and this machine lets us (root, or sudo without a password); otherwise the test skips
# on a workstation and fails under CI.
APT_CHROMIUM := apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	chromium chromium-driver >/dev/null
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif ! command -v apt-get >/dev/null; then \
		echo "note: no /usr/bin/chromium and no apt-get: the browser test will be skipped"; \
	elif [ "$$(id -u)" = 0 ]; then echo "installing Debian's chromium"; $(APT_CHROMIUM); \
	elif sudo -n true 2>/dev/null; then echo "installing Debian's chromium"; sudo sh -c '$(APT_CHROMIUM)'; \
	else echo "note: the browser test needs: sudo apt-get install chromium chromium-driver"; fi

# The PostgreSQL gradebook tests start a private server from Debian's postgresql binaries (they
# never touch a server already running). Installed the same way as chromium.
APT_POSTGRESQL := apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	postgresql >/dev/null
postgresql:
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null; then :; \
	elif ! command -v apt-get >/dev/null; then \
		echo "note: no PostgreSQL and no apt-get: the PostgreSQL gradebook tests will be skipped"; \
	elif [ "$$(id -u)" = 0 ]; then echo "installing Debian's postgresql"; $(APT_POSTGRESQL); \
	elif sudo -n true 2>/dev/null; then echo "installing Debian's postgresql"; sudo sh -c '$(APT_POSTGRESQL)'; \
	else echo "note: the PostgreSQL gradebook tests need: sudo apt-get install postgresql"; fi

release: install
	$(PY) -m grader release

lint: install
	$(VENV)/bin/ruff check .

clean-student-data:
	rm -rf grader/submitted grader/autograded grader/feedback grader/reports grader/gradebook.db \
		grader/exchange
