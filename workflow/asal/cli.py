"""Command line: one subcommand per stage, so every rule can also be run by hand.

Stage settings come as a JSON object (`--spec`), the same object the Snakefile passes as the
rule's params; omitted keys take the defaults of the stage's spec class.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import shlex
import sys

from . import __version__
from .stages import COMMANDS


def stage_module(command: str):
    """The module of a subcommand (asal.stages.<module>)."""
    return importlib.import_module(f".stages.{COMMANDS[command]}", __package__)


def build_parser(commands=None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of `commands` only: a job imports only its own
    stage's module (merge does not load torch, OpenCV or Flask)."""
    p = argparse.ArgumentParser(prog="asal", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"asal {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command, name in COMMANDS.items():
        if commands is not None and command not in commands:
            continue
        module = stage_module(command)
        aliases = [name] if name != command else []  # the rule's spelling: oracle_table
        s = sub.add_parser(command, aliases=aliases, help=module.HELP, description=module.HELP)
        module.add_arguments(s)
        s.set_defaults(entry=module.main, command=command)
    return p


def call(command: str, **options):
    """Run a stage from Python exactly as its rule does, through the same parser and entry
    point; returns what the stage returns. Options are the flags without dashes (`shard_files=`
    for --shard-files): True for a switch, a list for several values, a dict as JSON."""
    argv = [command]
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif isinstance(value, (list, tuple)):
            argv += [flag, *map(str, value)]
        elif isinstance(value, dict):
            argv += [flag, json.dumps(value)]
        else:
            argv += [flag, str(value)]
    args = build_parser(_named_command(argv)).parse_args(argv)
    return args.entry(args)


def _named_command(argv: list[str]) -> list[str] | None:
    """The subcommand the arguments start with, if they start with one."""
    first = argv[0] if argv else None
    named = [c for c, name in COMMANDS.items() if first in (c, name)]
    return named or None


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_named_command(argv)).parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    # The exact command, quoted so it can be pasted back into a shell to rerun the stage.
    logging.getLogger("asal").info("asal %s %s", __version__, shlex.join(argv))
    try:
        args.entry(args)
    except (ValueError, RuntimeError, FileNotFoundError, OSError) as err:
        logging.getLogger("asal").error("%s", err)
        sys.exit(f"asal {args.command}: error: {err}")
