"""A template that fails while rendering is one line naming it, never a traceback or a hang."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reasonaqa.config import DEFAULT_PROMPTS_DIR
from reasonaqa.errors import InputError
from reasonaqa.prompts.store import Template
from reasonaqa.testing.runs import generate_command


def _render(body: str) -> str:
    template = Template("t", Path("/prompts/t.j2"), f"system\n---user---\n{body}")
    return template.render(caption="A dog barks.")[1]["content"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{{ 10 ** 5000 }}", "too large"),
        ("{{ (10 ** 1000) ** 5 }}", "too large"),
        ("{{ caption * 10 ** 9 }}", "too large"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ range(10 ** 9) | list }}", "Range too big"),
    ],
)
def test_runtime_errors_name_the_template(body: str, says: str) -> None:
    with pytest.raises(InputError, match=says) as caught:
        _render(body)
    assert str(caught.value).startswith("/prompts/t.j2: ") and "\n" not in str(caught.value)


def test_ordinary_arithmetic_still_works() -> None:
    assert _render("{{ 2 ** 10 }} {{ 'ab' * 2 }} {{ 3 * 4 }}") == "1024 abab 12"


def test_generate_with_a_failing_template_is_one_line(
    tmp_path: Path, sample_manifest: Path
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS_DIR, prompts)
    with (prompts / "mcq_expert.j2").open("a", encoding="utf-8") as fh:
        fh.write("\n{{ 10 ** 5000 }}\n")
    out = tmp_path / "run"
    dead_url = "http://127.0.0.1:9/v1"  # the template fails before any request
    command = generate_command(sample_manifest, out, dead_url, "--prompts", str(prompts))
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "mcq_expert.j2" in result.stderr and not out.exists()
