"""The Python API: in a plain script, inside a running event loop, and ``read_run``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import reasonaqa
from reasonaqa.schemas import Clip
from reasonaqa.sources.manifests import write_manifest
from reasonaqa.testing.scripted import ScriptedBackend, valid_reply

SETTINGS = {"tasks": "mcq", "grounding": False, "audio_votes": 0, "progress": False}


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "clips.jsonl"
    clips = [
        Clip(
            dataset="clotho",
            split=split,
            clip_id=f"clip{n}.wav",
            audio_path=f"clip{n}.wav",
            captions=["Rain falls on a tin roof while thunder rolls in the distance."],
            source_rows=[str(n)],
        )
        for n, split in enumerate(["train", "train", "val", "test"])
    ]
    write_manifest(clips, path)
    return path


def test_import_is_cheap() -> None:
    heavy = "('pandas', 'pydantic', 'reasonaqa.engine')"
    code = f"import sys, reasonaqa; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert {"generate", "agenerate", "read_run"} <= set(dir(reasonaqa))


def test_generate_and_read_run_in_a_plain_script(manifest: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import json, reasonaqa
            from reasonaqa.testing.scripted import ScriptedBackend

            result = reasonaqa.generate(
                manifest={str(manifest)!r}, output={str(tmp_path / "run")!r},
                client=ScriptedBackend(), temperature=0.2, **{SETTINGS!r},
            )
            run = reasonaqa.read_run(result.run_dir)
            print(json.dumps([len(run.accepted), run.counts.shipped, result.exit_code]))
            """
        )
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [4, 4, 0]
    saved = json.loads((tmp_path / "run" / "_run.json").read_text())
    assert saved["config"]["sampling"]["temperature"] == 0.2


def test_generate_inside_a_running_event_loop(manifest: Path, tmp_path: Path) -> None:
    """As in a Jupyter cell: the sync call, then the awaited twin, on a loop that runs."""

    async def notebook() -> tuple[int, int]:
        sync = reasonaqa.generate(
            manifest=manifest, output=tmp_path / "a", client=ScriptedBackend(), **SETTINGS
        )
        awaited = await reasonaqa.agenerate(
            reasonaqa.GenerateConfig(
                manifest=manifest, output=tmp_path / "b", tasks=["mcq"], grounding=False,
                audio_votes=0, progress=False,
            ),
            client=ScriptedBackend(),
        )  # fmt: skip
        return sync.accepted, awaited.accepted

    assert asyncio.run(notebook()) == (4, 4)


def test_read_run_gives_set_aside_rows_with_their_why(manifest: Path, tmp_path: Path) -> None:
    def leaky(request, index):  # type: ignore[no-untyped-def]
        item = json.loads(valid_reply(request, index))
        item["question"] = "Which sound does the caption mention in this clip?"
        return json.dumps(item)

    reasonaqa.generate(
        manifest=manifest, output=tmp_path / "run", client=ScriptedBackend(leaky), **SETTINGS
    )
    run = reasonaqa.read_run(tmp_path / "run")
    assert run.accepted.empty and list(run.accepted.columns)[:3] == [
        "record_id",
        "origin",
        "source",
    ]
    assert len(run.rejected) == 4 and set(run.rejected["reason"]) == {"text_leak"}
    assert run.rejected["message"].str.contains("text source").all()
    assert run.quarantined.empty and "judge_reply" in run.quarantined.columns
    assert run.counts is not None and run.counts.rejected == {"text_leak": 4}


def test_bad_settings_and_folders_are_plain_errors(manifest: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tasks"):
        reasonaqa.generate(manifest=manifest, output=tmp_path / "run", tasks="poems")
    with pytest.raises(ValueError, match="Extra inputs"):
        reasonaqa.generate(manifest=manifest, output=tmp_path / "run", temprature=0.2)
    with pytest.raises(reasonaqa.InputError, match="needs --base-url"):  # backend: a setting
        reasonaqa.generate(manifest=manifest, output=tmp_path / "run", backend="openai")
    with pytest.raises(reasonaqa.InputError, match="does not exist"):
        reasonaqa.read_run(tmp_path / "nope")
