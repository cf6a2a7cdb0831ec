"""The install lock: ``constraints.txt`` pins every package of the tested environment.

    python scripts/lock.py            rewrite constraints.txt from this environment (make lock)
    python scripts/lock.py --check    exit 1 when the lock is stale (make test runs it)

``make setup`` installs with ``pip install -c constraints.txt``, so a fresh machine next month
gets the versions CI tested, not whatever was released since. The lock is stale when a
dependency of pyproject.toml (core and the extras ``make setup`` installs) has no upper bound,
is missing from the lock, or is locked outside its range, or when this environment holds a
locked package at another version than the lock says.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
# The extras `make setup` installs into .venv; vllm lives in its own environment (mk/vllm.mk).
LOCKED_EXTRAS = ("embedded", "train", "ray", "dev")
UPPER_BOUNDS = ("<", "<=", "==", "===", "~=")
HEADER = """\
# Every package of the tested environment, pinned: `make setup` installs with
# `pip install -c constraints.txt`. Regenerate with `make lock` after changing dependencies
# (local version labels such as torch's +cpu are dropped: the Makefile picks the build).
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report a stale lock, exit 1")
    parser.add_argument("--pyproject", type=Path, default=REPO / "pyproject.toml")
    parser.add_argument("--constraints", type=Path, default=REPO / "constraints.txt")
    args = parser.parse_args()
    project = tomllib.loads(args.pyproject.read_text(encoding="utf-8"))["project"]
    if not args.check:
        args.constraints.write_text(HEADER + "".join(_frozen(project["name"])), encoding="utf-8")
        return 0
    problems = check(project, read_lock(args.constraints))
    for problem in problems:
        print(f"{args.constraints.name}: {problem}", file=sys.stderr)
    if problems:
        print("the lock is stale: fix pyproject.toml or run `make lock`", file=sys.stderr)
    return 1 if problems else 0


def _frozen(project_name: str) -> list[str]:
    """``name==version`` lines of this environment, without the project and local labels."""
    frozen = subprocess.run(
        # --all: setuptools is a runtime dependency of some packages; pip itself is not locked.
        [sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable", "--exclude", "pip"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    own = canonicalize_name(project_name)
    pins = {}
    for line in frozen.splitlines():
        name, sep, version = line.partition("==")
        if not sep or line.startswith("#") or canonicalize_name(name) == own:
            continue
        pins[canonicalize_name(name)] = Version(version).public
    return [f"{name}=={version}\n" for name, version in sorted(pins.items())]


def read_lock(path: Path) -> dict[str, Version]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


def check(project: dict[str, object], lock: dict[str, Version]) -> list[str]:
    problems = []
    for requirement, locked in _requirements(project):
        name = canonicalize_name(requirement.name)
        if not any(spec.operator in UPPER_BOUNDS for spec in requirement.specifier):
            problems.append(f"{requirement} has no upper bound in pyproject.toml")
        if not locked:
            continue
        if name not in lock:
            problems.append(f"{name} is not locked")
        elif not requirement.specifier.contains(lock[name], prereleases=True):
            problems.append(f"{name}=={lock[name]} is outside {requirement}")
    for name, version in lock.items():
        installed = _installed(name)
        if installed is not None and Version(installed).public != version.public:
            problems.append(f"{name} is {installed} here, locked at {version}")
    return problems


def _requirements(project: dict[str, object]) -> list[tuple[Requirement, bool]]:
    """Every dependency, core and extras, with whether ``make setup`` installs (locks) it."""
    extras: dict[str, list[str]] = project.get("optional-dependencies", {})  # type: ignore[assignment]
    core: list[str] = project.get("dependencies", [])  # type: ignore[assignment]
    found = [(Requirement(line), True) for line in core]
    for extra, lines in extras.items():
        found += [(Requirement(line), extra in LOCKED_EXTRAS) for line in lines]
    return found


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
