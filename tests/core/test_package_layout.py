"""The package map: one import namespace. collector/, reconstruct/ and tui/ are
top-level folders of the repository but only ever imported as choreo.*."""

from __future__ import annotations

import ast

import pytest

from tests.support.paths import REPO

TOP_LEVEL_FOLDERS = ("collector", "reconstruct", "tui")
SOURCES = ["choreo", *TOP_LEVEL_FOLDERS, "tests", "bench", "scripts"]


def _python_files() -> list[str]:
    files = {str(p.relative_to(REPO)) for folder in SOURCES for p in (REPO / folder).rglob("*.py")}
    # choreo/collector etc. are links to the folders: their files are read there.
    return sorted(f for f in files if f.split("/")[:2] not in (["choreo", d] for d in TOP_LEVEL_FOLDERS))


def _top_level_imports(path: str) -> list[str]:
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"), path)
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return [n for n in names if n.split(".")[0] in TOP_LEVEL_FOLDERS]


@pytest.mark.parametrize("folder", TOP_LEVEL_FOLDERS)
def test_the_folders_are_reached_through_the_choreo_namespace(folder: str) -> None:
    link = REPO / "choreo" / folder
    assert link.is_symlink() and link.resolve() == (REPO / folder).resolve()


def test_no_module_imports_a_top_level_folder_by_its_own_name() -> None:
    offenders = {path: bad for path in _python_files() if (bad := _top_level_imports(path))}
    assert offenders == {}, "import these as choreo.<folder>...: " + repr(offenders)
