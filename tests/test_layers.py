"""The layers of docs/DEVELOPING.md, and no import cycle, on every import of production code, lazy ones too.

The layers are import-linter contracts in pyproject.toml (``[tool.importlinter]``; CI runs ``lint-imports``):
moud_cli.py > stages (generation | moud_dataset | eval | baselines | hub_upload: independent of each other)
> moud_gates > moud_core, and no production package imports moud_cli.

No cycles: the import graph of the production packages (grimp, which import-linter uses) has no cycle between
modules. A package's ``__init__`` is a module like any other: grimp records only the imports written in the
source, so ``pkg/__init__.py`` importing ``pkg.a`` which imports ``pkg.b`` is no cycle (the implicit
"importing pkg.b runs pkg/__init__.py first" is not an edge), while ``pkg.a`` importing a name from ``pkg``
whose ``__init__`` imports ``pkg.a`` is one (it breaks or not depending on which module is imported first).
moud_cli.py is not in the graph (grimp takes packages only); nothing below may import it: it is in no cycle.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx
import pytest
from importlinter.api import read_configuration

from tests import ROOT

PACKAGES = tuple(read_configuration(str(ROOT / "pyproject.toml"))["session_options"]["root_packages"])
LINT_IMPORTS = [sys.executable, "-c", "import importlinter.cli as c; c.lint_imports_command()", "--no-cache"]


def cycles(packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """One ``a -> b -> a`` line per group of modules that import each other (directly or in a ring)."""
    graph = grimp.build_graph(*packages, include_external_packages=False, cache_dir=None)
    digraph = nx.DiGraph()
    for module in graph.modules:
        digraph.add_node(module)
        digraph.add_edges_from((module, other) for other in graph.find_modules_directly_imported_by(module))
    found = []
    for group in nx.strongly_connected_components(digraph):
        if len(group) > 1:
            ring = [edge[0] for edge in nx.find_cycle(digraph.subgraph(group), source=min(group))]
            found.append(" -> ".join([*ring, ring[0]]))
    return sorted(found)


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with the contracts of ``cwd/pyproject.toml`` on the packages in ``cwd``."""
    return subprocess.run(LINT_IMPORTS, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_import_cycle_in_production_code():
    assert cycles() == []


# -- the checks fail on a deliberate violation, in a fake tree of our packages with the real contracts -----


@pytest.fixture
def fake_tree(tmp_path):
    """Empty packages named like ours (each with a ``mod.py``), moud_cli.py, and the real pyproject.toml."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
        (tmp_path / package / "mod.py").write_text("thing = 1\n", encoding="utf-8")
    (tmp_path / "moud_cli.py").write_text("import generation.mod\nimport moud_core.mod\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_bytes((ROOT / "pyproject.toml").read_bytes())
    return tmp_path


def lazy_import(tree: Path, module: str, imported: str) -> None:
    """Append ``def f(): from <imported> import thing`` to ``module`` (made with its packages if missing)."""
    parts = module.split(".")
    for depth in range(1, len(parts)):
        (tree.joinpath(*parts[:depth])).mkdir(exist_ok=True)
        tree.joinpath(*parts[:depth], "__init__.py").touch()
    with tree.joinpath(*parts).with_suffix(".py").open("a", encoding="utf-8") as out:
        out.write(f"\n\ndef f():\n    from {imported} import thing\n")


def test_the_fake_tree_keeps_the_contracts(fake_tree):
    lazy_import(fake_tree, "moud_gates.mod", "moud_core.mod")
    lazy_import(fake_tree, "eval.mod", "moud_gates.mod")
    result = lint_imports(fake_tree)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "importer, imported",
    [
        ("moud_core", "generation"),  # the core imports a stage
        ("moud_core", "moud_gates"),  # the core imports the gates
        ("moud_gates", "eval"),  # the gates import a stage
        ("eval", "baselines"),  # a stage imports another
        ("hub_upload", "moud_dataset"),
        ("moud_core", "moud_cli"),  # below the CLI, nothing imports it
        ("generation", "moud_cli"),
    ],
)
def test_lint_imports_fails_on_a_violation(fake_tree, importer, imported):
    target = imported if imported == "moud_cli" else f"{imported}.mod"
    lazy_import(fake_tree, f"{importer}.mod", target)
    result = lint_imports(fake_tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{importer} is not allowed to import {imported}:" in result.stdout
    assert f"{importer}.mod -> {target} (l.5)" in result.stdout


def cycles_in(tree: Path) -> list[str]:
    """``cycles()`` on the fake packages (a fresh interpreter: ours are already imported in this one)."""
    code = "import json; from tests.test_layers import cycles; print(json.dumps(cycles()))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_no_cycle_in_the_fake_tree(fake_tree):
    # pkg/__init__ -> pkg.a -> pkg.b is no cycle (see the module docstring), nor is an import down the layers
    lazy_import(fake_tree, "eval.__init__", "eval.a")
    lazy_import(fake_tree, "eval.a", "eval.b")
    lazy_import(fake_tree, "eval.b", "moud_gates.mod")
    lazy_import(fake_tree, "moud_gates.mod", "moud_core.mod")
    assert cycles_in(fake_tree) == []


@pytest.mark.parametrize(
    "imports, expected",
    [
        # two modules
        (
            [("moud_core.a", "moud_core.b"), ("moud_core.b", "moud_core.a")],
            "moud_core.a -> moud_core.b -> moud_core.a",
        ),
        # a ring of three, across subpackages
        (
            [("eval.x.a", "eval.y.b"), ("eval.y.b", "eval.c"), ("eval.c", "eval.x.a")],
            "eval.c -> eval.x.a -> eval.y.b -> eval.c",
        ),
        # a submodule imports a name from its package, whose __init__ imports that submodule
        (
            [("generation.__init__", "generation.a"), ("generation.a", "generation")],
            "generation -> generation.a -> generation",
        ),
    ],
)
def test_the_cycle_check_finds_a_cycle(fake_tree, imports, expected):
    for importer, imported in imports:
        lazy_import(fake_tree, importer, imported)
    assert cycles_in(fake_tree) == [expected]
