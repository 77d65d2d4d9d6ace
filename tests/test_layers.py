"""The layering rule (docs/DEVELOPING.md), checked on every import in the source, lazy ones included:

moud_cli.py   registers the commands; may import anything
stages        generation, moud_dataset, eval, baselines, hub_upload: import moud_core and themselves only
moud_core     imports no stage and not moud_cli
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests import ROOT

CORE = "moud_core"
GATES = "moud_gates"
STAGES = ("generation", "moud_dataset", "eval", "baselines", "hub_upload")
TOP = ("moud_cli",)
OURS = (CORE, GATES, *STAGES, *TOP)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import of one of our packages in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name.split(".")[0]) for name in names if name.split(".")[0] in OURS]
    return found


def allowed(package: str) -> set[str]:
    if package == CORE:
        return {CORE}
    if package == GATES:
        return {CORE, GATES}
    if package in STAGES:
        return {CORE, GATES, package}
    return set(OURS)


def violations(root: Path) -> list[str]:
    out = []
    for package in (CORE, GATES, *STAGES):
        for path in sorted((root / package).rglob("*.py")):
            for line, imported in imports_of(path):
                if imported not in allowed(package):
                    out.append(f"{path.relative_to(root)}:{line}: {package} imports {imported}")
    return out


def test_no_layer_imports_a_higher_one_or_another_stage():
    assert violations(ROOT) == []


@pytest.mark.parametrize(
    "package, bad",
    [
        (CORE, "generation.config"),
        (CORE, "moud_cli"),
        ("eval", "baselines.data"),
        ("hub_upload", "moud_dataset.card"),
    ],
)
def test_the_check_catches_a_violation(tmp_path, package, bad):
    for pkg in (CORE, GATES, *STAGES):
        (tmp_path / pkg).mkdir()
    (tmp_path / package / "x.py").write_text(f"def f():\n    from {bad} import thing\n", encoding="utf-8")
    assert violations(tmp_path) == [f"{package}/x.py:2: {package} imports {bad.split('.')[0]}"]
