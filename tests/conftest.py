"""Shared test fixtures: where the real sample data lives, and the bundled sample manifest."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLE_MANIFEST = REPO / "manifests" / "sample.jsonl"

# Test the checkout these tests live in, also in the subprocesses they start, even when the
# environment's editable install points at another checkout (a second worktree, say).
sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))

# Ray refuses to start a local cluster without auth unless told it is a test.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data``; tests that need it skip cleanly in a user's clone."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is not present")
    return path


@pytest.fixture
def sample_manifest() -> Path:
    return SAMPLE_MANIFEST
