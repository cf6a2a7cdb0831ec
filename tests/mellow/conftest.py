"""Mellow trainer tests; fixtures shared with the rest of the suite live in tests/conftest.py."""
