"""Functions a researcher plugs in by name: an acquisition score, a merging criterion, an
answer type. A setting names a built-in, a `module:function` of the user's own code
(importable from the workflow's Python path), or a Python entry point of the group the
extension point declares (`[project.entry-points."asal.acquire"]` in the user's package).

Resolving imports the user's module, so the Snakefile does it while planning: a dry run
refuses a module or function that does not exist, naming the setting.
"""

from __future__ import annotations

import importlib
from typing import Callable

from .settings import ConfigError

# Extension point -> the entry-point group a package registers its functions under.
GROUPS = {"acquire.function": "asal.acquire", "merge.criterion": "asal.merge",
          "answer.type": "asal.answer"}


def is_reference(name: str) -> bool:
    """Whether a setting names a function by `module:attribute` rather than a built-in."""
    return isinstance(name, str) and ":" in name


def resolve(name: str, builtins: dict[str, Callable], setting: str,
            where: str = "") -> Callable:
    """The function a setting names: a built-in, `module:function`, or an entry point of the
    setting's group. Errors name the setting (after `where`, such as
    method_definitions.M.) and say what to fix."""
    point, setting = setting, where + setting
    if name in builtins:
        return builtins[name]
    if is_reference(name):
        module_name, _, attribute = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ConfigError(f"{setting}: {name!r}: cannot import module {module_name!r} "
                              f"({err}); put it on the Python path (PYTHONPATH, or install "
                              "its package in the environment the jobs run in)") from err
        target = module
        for part in attribute.split("."):
            target = getattr(target, part, None)
            if target is None:
                raise ConfigError(f"{setting}: {name!r}: module {module_name!r} has no "
                                  f"{attribute!r}")
        if not callable(target):
            raise ConfigError(f"{setting}: {name!r} is not a function")
        return target
    group = GROUPS.get(point)
    if group is not None:
        from importlib.metadata import entry_points

        found = [ep for ep in entry_points(group=group) if ep.name == name]
        if found:
            return found[0].load()
    known = sorted(builtins or BUILTIN_NAMES.get(point, ()))
    raise ConfigError(f"{setting}: unknown {name!r}; use one of {known}, a function of your "
                      f"own as 'module:function', or an entry point of group {group!r}")


# The built-ins' names, known without importing the stage code (the Snakefile's parse stays
# light); a test checks them against each registry (acquisition.FUNCTIONS, ...).
BUILTIN_NAMES = {
    "acquire.function": ("classbal_pixel", "classbal_superpixel", "bvsb", "entropy", "random",
                         "void_aware"),
    "merge.criterion": ("js",),
    "answer.type": ("dominant", "multiclass"),
}


def check_config(config: dict, methods: dict[str, dict]) -> None:
    """Resolve every extension a config names, experiment-wide and per method, so that a
    missing module or function stops the plan (a dry run), not a job an hour later."""
    sources = [("", config)] + [(f"method_definitions.{m}.", d) for m, d in methods.items()]
    for prefix, source in sources:
        for setting, names in BUILTIN_NAMES.items():
            section, key = setting.split(".")
            name = (source.get(section) or {}).get(key)
            if name is not None and name not in names:
                resolve(name, {}, setting, where=prefix)
