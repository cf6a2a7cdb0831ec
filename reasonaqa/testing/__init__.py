"""Real local servers for tests and benchmarks: a fault-injecting OpenAI-compatible server and
launchers for it and for llama-cpp-python's server. Nothing here is imported by the pipeline."""
