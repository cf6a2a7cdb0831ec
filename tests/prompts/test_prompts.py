import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reasonaqa.config import DEFAULT_PROMPTS_DIR
from reasonaqa.engine.requests import render_context
from reasonaqa.engine.work import FOCUS_DESCRIPTIONS
from reasonaqa.errors import InputError
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.schemas import FOCUS_AREAS, Clip

CLIP = Clip(
    dataset="clotho",
    split="test",
    clip_id="yard.wav",
    audio_path="yard.wav",
    captions=["A dog barks twice in a quiet yard.", "Birds chirp while a dog barks."],
    source_rows=["1"],
)
CONTEXT = render_context(CLIP, 0, ["sources"])
GENERATION_TEMPLATES = ["mcq_plain", "mcq_expert", "detail_plain", "detail_expert"]


@pytest.mark.parametrize("template_id", GENERATION_TEMPLATES)
def test_bundled_templates_render(template_id: str) -> None:
    template = TemplateStore(DEFAULT_PROMPTS_DIR).get(template_id)
    system, user = template.render(**CONTEXT)
    assert system["role"] == "system" and user["role"] == "user"
    assert "A dog barks twice in a quiet yard." in user["content"]
    assert "Birds chirp while a dog barks." in user["content"]
    assert (
        "never mention captions" in system["content"].lower()
        or "never mention" in system["content"].lower()
    )
    assert len(template.hash) == 16


@pytest.mark.parametrize("template_id", GENERATION_TEMPLATES)
def test_bundled_templates_ask_for_k_questions_one_per_focus_area(template_id: str) -> None:
    focuses = list(FOCUS_AREAS[:5])
    one = TemplateStore(DEFAULT_PROMPTS_DIR).get(template_id).render(**CONTEXT)
    system, user = (
        TemplateStore(DEFAULT_PROMPTS_DIR)
        .get(template_id)
        .render(**render_context(CLIP, 0, focuses))
    )
    assert system == one[0], "the system message does not depend on K"
    assert '"items": a list of 5 objects' in user["content"]
    for n, focus in enumerate(focuses, 1):
        assert f'{n}. {FOCUS_DESCRIPTIONS[focus]} (focus "{focus}")' in user["content"]
    assert '"focus" ("sources")' in one[1]["content"] and '"items"' not in one[1]["content"]


def test_expert_variant_differs_from_plain() -> None:
    store = TemplateStore(DEFAULT_PROMPTS_DIR)
    assert store.get("mcq_plain").hash != store.get("mcq_expert").hash
    assert "expert" in store.get("mcq_expert").render(**CONTEXT)[0]["content"]


def test_missing_variable_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("sys\n---user---\n{{ nope }}\n")
    with pytest.raises(InputError, match="nope"):
        TemplateStore(tmp_path).get("t").render(**CONTEXT)


def test_sandbox_blocks_attribute_escapes(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("sys\n---user---\n{{ caption.__class__.__mro__ }}\n")
    with pytest.raises(InputError):
        TemplateStore(tmp_path).get("t").render(**CONTEXT)


def test_user_templates_keep_jinja_globals_filters_and_a_fixed_system_part(
    tmp_path: Path,
) -> None:
    source = (
        "You label sounds.\n---user---\n"
        "{% for i in range(2) %}{{ i }}:{{ captions[i] | upper }}\n{% endfor %}{{ focus }}\n"
    )
    (tmp_path / "t.j2").write_text(source)
    template = TemplateStore(tmp_path).get("t")
    for focus in ("scene", "sources"):
        system, user = template.render(**CONTEXT | {"focus": focus})
        assert system["content"] == "You label sounds."
        assert user["content"] == (
            f"0:A DOG BARKS TWICE IN A QUIET YARD.\n1:BIRDS CHIRP WHILE A DOG BARKS.\n{focus}"
        )


def test_unsafe_fixed_system_part_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("{{ ''.__class__.__mro__ }}\n---user---\n{{ caption }}\n")
    with pytest.raises(InputError):
        TemplateStore(tmp_path).get("t").render(**CONTEXT)


def test_syntax_error_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("sys\n---user---\n{% for x in captions %}\n")
    with pytest.raises(InputError, match=r"t\.j2"):
        TemplateStore(tmp_path).get("t")


def test_broken_template_stops_generate_before_writing(
    tmp_path: Path, sample_manifest: Path
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS_DIR, prompts)
    (prompts / "mcq_expert.j2").write_text("sys\n---user---\n{{ captionz }}\n")
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "reasonaqa",
            "generate",
            "--manifest",
            str(sample_manifest),
            "-o",
            str(out),
            "--prompts",
            str(prompts),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "mcq_expert.j2" in lines[0] and "captionz" in lines[0]
    assert not out.exists()
