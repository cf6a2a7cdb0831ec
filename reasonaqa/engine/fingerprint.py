"""The run fingerprint: a versioned hash of what changes the data, and nothing else.

Concurrency, timeouts, paths and shard sizes change how a run goes, not what it writes, so
they are left out: a resumed run may change them freely.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from reasonaqa.config import FINGERPRINT_FIELDS, GenerateConfig
from reasonaqa.schemas import LLM_SCHEMAS

# 2: per_request joined the fields, the templates learnt K > 1, and record ids hash the clip's
# identity (Clotho split folder + file name, AudioCaps id + start time) instead of dataset +
# clip id: runs made before cannot be resumed by this version (--force-new keeps the cache).
FINGERPRINT_VERSION = 2


def fingerprint_payload(
    config: GenerateConfig, model: str, template_hashes: dict[str, str]
) -> dict[str, Any]:
    values = config.model_dump(mode="json", include=set(FINGERPRINT_FIELDS))
    values["model"] = model
    values["grounding"] = config.grounding_enabled
    return {
        "version": FINGERPRINT_VERSION,
        "config": values,
        "templates": dict(sorted(template_hashes.items())),
        "schemas": dict(sorted(LLM_SCHEMAS.items())),
        "manifest_sha256": file_sha256(config.manifest),
    }


def fingerprint(payload: dict[str, Any]) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return f"v{FINGERPRINT_VERSION}-" + hashlib.sha256(blob.encode()).hexdigest()[:24]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
