"""The package's layers: no import cycle between modules, and no import from a lower layer
to a higher one (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "seqocr"

# What each layer may never import (by module-name prefix).
HIGHER = (
    "seqocr.models",
    "seqocr.decode",
    "seqocr.checkpoint",
    "seqocr.recognizer",
    "seqocr.loading",
    "seqocr.train",
    "seqocr.evaluate",
    "seqocr.export",
    "seqocr.serve",
    "seqocr.cli",
    "seqocr.pool",
)
INFERENCE = ("seqocr.checkpoint", "seqocr.recognizer", "seqocr.loading", "seqocr.decode", "seqocr.models",
             "seqocr.export", "seqocr.pool", "seqocr.input_files", "seqocr.serve")  # fmt: skip
FORBIDDEN = {
    "seqocr.data": HIGHER,  # data never imports models, nor anything that reads or trains
    # reading never imports training or evaluation
    **{name: ("seqocr.train", "seqocr.cli", "seqocr.evaluate") for name in INFERENCE},
    "seqocr.run_folder": ("seqocr.train", "seqocr.cli", "seqocr.evaluate", "seqocr.serve"),
    # evaluation reads and measures; it never trains, serves or parses a command line
    "seqocr.evaluate": ("seqocr.train", "seqocr.cli", "seqocr.serve"),
    "seqocr.train": ("seqocr.cli", "seqocr.serve"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name, found = module_name(path), set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seqocr"):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.startswith("seqocr")}
        graph[name] = found - {name}
    return graph


def test_no_layer_imports_a_higher_one():
    wrong = [
        f"{module} imports {target}"
        for module, targets in imports().items()
        for layer, forbidden in FORBIDDEN.items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        if target.startswith(forbidden)
    ]
    assert wrong == []


def test_no_two_modules_import_each_other_even_indirectly():
    graph = imports()
    known = {name for name in graph}
    # importing a module imports its parent packages too, which is no cycle; but
    # `from seqocr import x` runs the package's __init__, which imports the public API
    edges = {
        m: {t for t in targets if t in known and (t == "seqocr" or not (m + ".").startswith(t + "."))}
        for m, targets in graph.items()
    }
    cycles = []
    for start in edges:  # a path from a module's imports back to itself is a cycle
        seen, stack = set(), list(edges[start])
        while stack:
            node = stack.pop()
            if node == start:
                cycles.append(start)
                break
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, ()))
    assert cycles == []
