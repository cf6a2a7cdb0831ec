"""LLM backends behind one small protocol (see base.py); each backend is one file."""
