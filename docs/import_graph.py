"""Draw docs/imports.png: the package's rooms and which imports which, importers above.

    python docs/import_graph.py [--out docs/imports.png]

A room is a top-level module or a subpackage of `src/seqocr` (the small shared modules,
such as errors, config and charset, make one room, "base"). An arrow runs from a room
to each room it imports, inside functions too; rooms stand on the row of their longest
chain of imports down to "base" (the bottom row), so every arrow points down. An arrow that pointed up
would be an import cycle between rooms: the script says so and exits 1, as
tests/test_layers.py fails on it.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "seqocr"
BASE = {"errors", "config", "charset", "paths", "device", "machine", "version", "schemas", "files", "boxes"}


def room_of(module: str) -> str | None:
    """The room of a module name (seqocr.data.synth -> data); None for the package itself."""
    parts = module.split(".")
    if parts[0] != "seqocr" or len(parts) == 1:
        return None
    if parts[1] == "__main__":  # `python -m seqocr` is the command line
        return "cli"
    return "base" if parts[1] in BASE else parts[1]


def rooms() -> dict[str, set[str]]:
    """Each room -> the rooms it imports."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        source = room_of(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        if source is None:
            continue
        edges[source]
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                target = room_of(name)
                if target is not None and target != source:
                    edges[source].add(target)
    return dict(edges)


def levels(edges: dict[str, set[str]]) -> dict[str, int]:
    """Each room's row: the length of its longest chain of imports (a cycle raises)."""
    level: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(room: str) -> int:
        if room in level:
            return level[room]
        if room in visiting:
            raise ValueError(f"import cycle through {room}")
        visiting.add(room)
        level[room] = 1 + max((depth(t) for t in edges.get(room, ())), default=-1)
        visiting.discard(room)
        return level[room]

    for room in edges:
        depth(room)
    return level


def draw(edges: dict[str, set[str]], level: dict[str, int], out: Path) -> None:
    rows: dict[int, list[str]] = defaultdict(list)
    for room in sorted(level):
        rows[level[room]].append(room)
    top = max(rows)
    width = max(len(r) for r in rows.values())
    where = {}
    for row, members in rows.items():
        shift = (0.18 if row % 2 else -0.18) * width if len(members) == 1 else 0.0  # no straight line through all
        for i, room in enumerate(members):
            where[room] = ((i + 0.5) * width / len(members) + shift, row)
    fig, ax = plt.subplots(figsize=(2.0 * width + 1, 1.3 * (top + 1) + 0.5))
    for source, targets in edges.items():
        for target in targets:
            (x0, y0), (x1, y1) = where[source], where[target]
            ax.annotate(
                "",
                xy=(x1, y1 + 0.18),
                xytext=(x0, y0 - 0.18),
                arrowprops={"arrowstyle": "->", "color": "#8899aa", "lw": 0.8, "shrinkA": 2, "shrinkB": 2},
            )
    for room, (x, y) in where.items():
        ax.text(
            x,
            y,
            room,
            ha="center",
            va="center",
            fontsize=11,
            bbox={"boxstyle": "round,pad=0.35", "facecolor": "#eef3fb", "edgecolor": "#4477aa"},
        )
    ax.set_xlim(-0.2, width + 0.2)
    ax.set_ylim(-0.6, top + 0.6)
    ax.axis("off")
    ax.set_title("seqocr's rooms: each imports only rooms below it (arrows: imports)", fontsize=12)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "imports.png")
    args = parser.parse_args()
    edges = rooms()
    try:
        level = levels(edges)
    except ValueError as error:
        print(f"import_graph: {error}", file=sys.stderr)
        return 1
    draw(edges, level, args.out)
    print(f"wrote {args.out}: {len(edges)} rooms, {sum(map(len, edges.values()))} imports between them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
