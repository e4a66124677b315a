# The two commands: `make demo` (set up and run on the embedded defaults) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test lint venv setup-demo serve clean-demo

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	touch $@

venv: $(BIN)/.installed

setup-demo: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_demo

demo: setup-demo
	$(BIN)/python manage.py serve_demo --host $(HOST) --port $(PORT)

# pytest exits 5 when it collected nothing: that is a failure, never a pass.
test: venv
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): failing" >&2; exit 1; fi; \
	exit $$rc

# Ruff, as configured in pyproject.toml (CI runs it before the tests).
lint: venv
	$(BIN)/ruff check .

clean-demo:
	rm -rf var/
