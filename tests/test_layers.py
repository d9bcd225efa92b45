"""The package is a stack of rooms: a module imports only from rooms below its own (or from its
own room), so the pure algorithms never reach up into file handling or the command line."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "workflow" / "asal"
# Lowest first. Rooms of one rank do not import each other.
RANK = {"store": 0, "progress": 0, "experiment": 1, "method": 2, "data": 3, "learning": 4,
        "measure": 4, "annotate": 4, "reporting": 5, "stages": 6, "cli": 7, "__main__": 8}


def room_of(parts: tuple[str, ...]) -> str:
    return parts[0] if parts else "__init__"


def imported_rooms(path: Path) -> set[str]:
    """Rooms of asal that a module imports, at any depth (imports inside functions too)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    package = list(parts[:-1])
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
            elif (node.module or "").startswith("asal"):
                target = node.module.split(".")[1:]
            else:
                continue
            if target:
                rooms.add(target[0])
            else:  # from . import a, b (at the package's top)
                rooms.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            rooms.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("asal."))
    return rooms - {"__version__", "__init__"}


def test_every_room_is_ranked():
    rooms = {room_of(p.relative_to(PACKAGE).with_suffix("").parts)
             for p in PACKAGE.rglob("*.py")}
    assert rooms - {"__init__"} == set(RANK)


def test_no_import_runs_back_up():
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        room = room_of(path.relative_to(PACKAGE).with_suffix("").parts)
        if room == "__init__":
            continue
        for other in imported_rooms(path):
            if other != room and RANK[other] >= RANK[room]:
                offences.append(f"{path.relative_to(PACKAGE)} ({room}) imports {other}")
    assert not offences, "\n".join(offences)
