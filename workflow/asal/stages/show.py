"""`asal show FILE` (a command, not a rule): what any artifact holds, for a person opening an
intermediate file to see what happened."""

from __future__ import annotations

HELP = "print a readable summary of any artifact file"


def add_arguments(p) -> None:
    p.add_argument("file")
    p.add_argument("--rows", type=int, default=5)


def main(args) -> str:
    from ..reporting.summary import describe

    text = describe(args.file, args.rows)
    print(text)
    return text
