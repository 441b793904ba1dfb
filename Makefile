# The two commands a newcomer needs:  make demo   and   make test
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test install install-test lint bench clean

$(BIN)/yuqing: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e .
	touch $(BIN)/yuqing

install: $(BIN)/yuqing

$(VENV)/.test-deps: $(BIN)/yuqing
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(VENV)/.test-deps

install-test: $(VENV)/.test-deps

demo: install  ## install and run the whole pipeline on embedded defaults, console on 127.0.0.1:8000
	$(BIN)/yuqing demo

test: install-test  ## install and run lint, the type check and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -rsx -p no:cacheprovider

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var test-artifacts
