"""The house's layering, checked over the imports (ast, so nothing is executed):

    pages (and app.py) -> annotate -> almea, storage

almea and storage never import each other or anything above them; storage stays free of
torch, almea of Streamlit and databases; the modules of annotate import each other without
cycles; and no Python file grows past 400 lines.
"""
from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pages", "annotate", "almea", "storage")
MAX_LINES = 400
FORBIDDEN = {
    "app": {"annotate", "almea", "storage"},
    "pages": {"almea", "storage"},
    "annotate": {"pages", "app", "streamlit"},
    "almea": {"annotate", "storage", "pages", "app", "streamlit", "sqlite3"},
    "storage": {"almea", "annotate", "pages", "app", "streamlit", "torch"},
}
"""Top-level names each layer must not import."""


def python_files() -> list[Path]:
    """Every Python file of the project (not the virtual environment or hidden folders)."""
    return sorted(
        path for path in ROOT.rglob("*.py")
        if not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
    )


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def imports(path: Path, root: Path = ROOT) -> tuple[str, ...]:
    """Full names of the modules ``path`` imports, anywhere in it (type-only imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.append(module)
            found += [f"{module}.{alias.name}" for alias in node.names]    # `from annotate import worker`
    return tuple(found)


def layer(path: Path) -> str | None:
    top = path.relative_to(ROOT).parts[0]
    if path == ROOT / "app.py":
        return "app"
    return top if top in PACKAGES else None


def test_layers_import_only_downwards() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files() if (own := layer(path)) is not None
        for name in imports(path) if name.split(".")[0] in FORBIDDEN[own]
    ]
    assert not wrong, "imports against the layering pages -> annotate -> (almea, storage):\n" + "\n".join(wrong)


def test_annotate_has_no_import_cycle() -> None:
    modules = {module_name(p): p for p in (ROOT / "annotate").glob("*.py")}
    graph = {name: {m for m in modules if m != name and any(i == m for i in imports(path))}
             for name, path in modules.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for nxt in sorted(graph[name]):
            if state.get(nxt) == "open":
                pytest.fail("import cycle: " + " -> ".join([*trail[trail.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_no_file_is_over_400_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in python_files()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these files (over {MAX_LINES} lines): {long}"


def test_the_checker_resolves_every_form_of_import(tmp_path: Path) -> None:
    package = tmp_path / "storage"
    package.mkdir()
    (package / "bad.py").write_text(
        "from .base import x\nimport torch.nn\nfrom almea import data\nif False:\n    import annotate\n")
    found = set(imports(package / "bad.py", tmp_path))
    assert {"storage.base", "torch.nn", "almea", "almea.data", "annotate"} <= found
