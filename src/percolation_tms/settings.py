"""Settings: a stage's frozen config dataclass is the one home of every setting.

A field's default, type, help text and validation live in the dataclass; the command-line
options are built from the fields, so a setting has one name from ``config.yaml`` to the
kernel (``toy_models.synthetic.steps`` -> ``--steps`` -> ``ToyConfig.steps``)::

    @dataclass(frozen=True)
    class ThingConfig:
        steps: int = setting(10_000, "training steps")
        seeds: tuple[int, ...] = setting((0,), "model seeds, one instance each")

        def __post_init__(self):
            check_positive_int(self, "steps")      # a ValueError naming the field

    add_arguments(parser, ThingConfig)             # --steps N, --seeds 0,1,2
    config = from_arguments(ThingConfig, args)     # only the options given; the rest default

The parser's own defaults are ``argparse.SUPPRESS``: an option left out is simply not passed,
so the dataclass default applies (and ``--help`` prints it from there).  Types come from the
annotations: ``int``, ``float``, ``str``, ``bool`` (``--x/--no-x``), ``tuple[int, ...]`` and
``tuple[float, ...]`` (comma-separated), ``X | None``; anything else names a ``parse`` function.

Output files get the same treatment (:func:`add_outputs`, :func:`resolve_outputs`): every
command that writes files takes an explicit path per file, so workflow rules name their files;
``--out DIR`` fills in the default names of ``percolation_tms.filenames``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import types
import typing
from pathlib import Path

import numpy as np

__all__ = [
    "add_arguments",
    "add_outputs",
    "check_choice",
    "check_non_negative_int",
    "check_non_negative_real",
    "check_positive_int",
    "check_positive_real",
    "check_seeds",
    "check_unit_interval",
    "from_arguments",
    "from_dict",
    "given_or_default",
    "is_int",
    "is_real",
    "option_name",
    "resolve_outputs",
    "setting",
    "to_dict",
]


# ------------------------------------------------------------------------------ fields
def setting(default=dataclasses.MISSING, help: str = "", *, choices=None, metavar=None,
            parse=None, cli: bool = True, default_text: str | None = None):
    """A dataclass field with what the command line needs to offer it.

    Parameters
    ----------
    default : the default value (immutable: tuples, not lists); omit for a required setting.
    help : one line for ``--help``; the default is appended automatically.
    choices : allowed values, checked by argparse (and by ``__post_init__`` for API users).
    metavar : the placeholder shown in ``--help``.
    parse : ``str -> value`` for types the annotations cannot express (raise ValueError or
        ``argparse.ArgumentTypeError`` on bad text).
    cli : False for settings that only the Python API (or another option) sets.
    default_text : how ``--help`` states the default, for a default of None that
        ``__post_init__`` resolves from other settings (e.g. ``"20; required with
        --percolation-features"``); otherwise the default's value is shown.
    """
    if isinstance(default, (list, dict, set)):
        raise TypeError("setting defaults must be immutable (use a tuple)")
    metadata = {"help": help, "choices": choices, "metavar": metavar, "parse": parse,
                "cli": cli, "default_text": default_text}
    return dataclasses.field(default=default, metadata=metadata)


def option_name(field_name: str) -> str:
    """``n_features`` -> ``--n-features``."""
    return "--" + field_name.replace("_", "-")


def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _strip_optional(annotation):
    """(inner type, whether None is allowed)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _list_parser(item_type):
    def parse(text: str):
        try:
            return tuple(item_type(v) for v in text.split(",") if v.strip() != "")
        except ValueError:
            kind = "integers" if item_type is int else "numbers"
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {kind}, got {text!r}") from None
    return parse


def _parser_for(annotation):
    inner, _ = _strip_optional(annotation)
    if inner in (int, float, str):
        return inner
    if typing.get_origin(inner) is tuple:
        args = typing.get_args(inner)
        if len(args) == 2 and args[1] is Ellipsis and args[0] in (int, float, str):
            return _list_parser(args[0])
    return None


def _format_default(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) if value else "empty"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def to_options(values: dict) -> str:
    """The command-line options that give these settings (the inverse of ``add_arguments``):
    ``--name value``, ``--name`` / ``--no-name`` for booleans, comma-separated lists; a None
    value is left out (the command's default then holds)."""
    options = []
    for name, value in values.items():
        if value is None:
            continue
        flag = option_name(name)
        if isinstance(value, bool):
            options.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, (list, tuple)):
            options.append(f"{flag} {','.join(str(v) for v in value)}")
        else:
            options.append(f"{flag} {value}")
    return " ".join(options)


def add_arguments(parser: argparse.ArgumentParser, cls, *, only=None, exclude=(),
                  required=(), help_overrides: dict | None = None) -> None:
    """Add one option per field of the dataclass ``cls`` (those with ``cli=True``).

    ``only`` limits the options to these fields (a command that sets a few of them);
    ``exclude`` names fields the command sets itself; ``required`` makes options mandatory on
    this command even though the dataclass has a default; ``help_overrides`` replaces the help
    of some fields for this command.
    """
    hints = _hints(cls)
    help_overrides = help_overrides or {}
    for field in dataclasses.fields(cls):
        meta = field.metadata
        if only is not None and field.name not in only:
            continue
        if field.name in exclude or not meta.get("cli", True) or "help" not in meta:
            continue
        text = help_overrides.get(field.name, meta["help"])
        kwargs = {"dest": field.name, "default": argparse.SUPPRESS}
        if field.default is dataclasses.MISSING or field.name in required:
            kwargs["required"] = True
        elif meta.get("default_text") and field.name not in help_overrides:
            text = f"{text} (default: {meta['default_text']})"
        elif field.name not in help_overrides and "default" not in text:
            text = f"{text} (default: {_format_default(field.default)})"
        annotation = hints[field.name]
        inner, _ = _strip_optional(annotation)
        if inner is bool and meta.get("parse") is None:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            parse = meta.get("parse") or _parser_for(annotation)
            if parse is None:
                raise TypeError(f"{cls.__name__}.{field.name}: give a parse function for "
                                f"type {annotation!r}")
            kwargs["type"] = parse
            if meta.get("choices") is not None:
                kwargs["choices"] = meta["choices"]
            if meta.get("metavar") is not None:
                kwargs["metavar"] = meta["metavar"]
        kwargs["help"] = text
        parser.add_argument(option_name(field.name), **kwargs)


def from_arguments(cls, args: argparse.Namespace, **overrides):
    """The config of the options given on the command line (dataclass defaults for the rest),
    with ``overrides`` applied last; ``__post_init__`` validates."""
    names = {field.name for field in dataclasses.fields(cls)}
    values = {name: getattr(args, name) for name in names if hasattr(args, name)}
    values.update(overrides)
    return cls(**values)


def given_or_default(cls, args: argparse.Namespace, names) -> dict:
    """``{name: value}`` for the fields ``names``: the option's value where it was given, the
    dataclass default elsewhere (for commands that pass a few settings to a function)."""
    fields = {field.name: field for field in dataclasses.fields(cls)}
    values = {}
    for name in names:
        if hasattr(args, name):
            values[name] = getattr(args, name)
        elif fields[name].default is not dataclasses.MISSING:
            values[name] = fields[name].default
    return values


# ------------------------------------------------------------------------------ round trip
def to_dict(config) -> dict:
    """A JSON-ready dict of a config dataclass (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def _as_tuples(value):
    if isinstance(value, list):
        return tuple(_as_tuples(v) for v in value)
    return value


def from_dict(cls, data: dict):
    """Inverse of :func:`to_dict`: lists become tuples again; unknown keys are refused."""
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys {unknown}; known: {sorted(known)}")
    return cls(**{key: _as_tuples(value) for key, value in data.items()})


# ------------------------------------------------------------------------------ outputs
def add_outputs(parser: argparse.ArgumentParser, files: dict[str, str]) -> None:
    """``--out DIR`` plus ``--<name> FILE`` for every file the command writes.

    ``files`` maps an option name to the file's default name (from ``percolation_tms.
    filenames``).  A workflow rule passes every file explicitly; a user may give just the
    folder.
    """
    group = parser.add_argument_group("output files (give --out DIR, or every file)")
    group.add_argument("--out", metavar="DIR", default=None,
                       help="folder for every output file not given by its own option")
    for name, default_name in files.items():
        group.add_argument(option_name(name), dest=f"output_{name}", metavar="FILE",
                           default=None, help=f"(default: DIR/{default_name})")


def resolve_outputs(args: argparse.Namespace, files: dict[str, str]) -> dict[str, Path]:
    """The path of every output file: its own option, else ``--out DIR`` / default name."""
    paths, missing = {}, []
    for name, default_name in files.items():
        given = getattr(args, f"output_{name}", None)
        if given is not None:
            paths[name] = Path(given)
        elif args.out is not None:
            paths[name] = Path(args.out) / default_name
        else:
            missing.append(option_name(name))
    if missing:
        raise ValueError(f"give --out DIR or every output file ({', '.join(missing)} "
                         f"missing)")
    return paths


# ------------------------------------------------------------------------------ validation
# The checks every config's __post_init__ uses: one idiom, one message shape, naming the field.
def is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_real(value) -> bool:
    """A finite real number (not a bool)."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool) and math.isfinite(value))


def check_positive_int(config, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not is_int(value) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_non_negative_int(config, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not is_int(value) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def check_positive_real(config, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not is_real(value) or value <= 0:
            raise ValueError(f"{name} must be positive (a finite number), got {value!r}")


def check_non_negative_real(config, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not is_real(value) or value < 0:
            raise ValueError(f"{name} must be >= 0 (a finite number), got {value!r}")


def check_unit_interval(config, name: str, *, closed_low=True, closed_high=False) -> None:
    """``name`` in [0, 1) by default (``closed_low``/``closed_high`` choose the ends)."""
    value = getattr(config, name)
    low_ok = is_real(value) and (value >= 0 if closed_low else value > 0)
    high_ok = is_real(value) and (value <= 1 if closed_high else value < 1)
    if not (low_ok and high_ok):
        interval = f"{'[' if closed_low else '('}0, 1{']' if closed_high else ')'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")


def check_choice(config, name: str, choices) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def check_seeds(config, name: str = "seeds") -> None:
    """A non-empty tuple of distinct non-negative integers."""
    seeds = getattr(config, name)
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__"):
        # a bare number (seeds=3) would otherwise fail with a TypeError, not naming the field
        raise ValueError(f"{name} must be a sequence of seeds, e.g. (0,), got {seeds!r}")
    if len(seeds) == 0:
        raise ValueError(f"{name} must not be empty")
    for seed in seeds:
        if not is_int(seed) or seed < 0:
            raise ValueError(f"{name} must be non-negative integers, got {seed!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{name} must not repeat, got {tuple(seeds)}")


def path_or_none(value) -> str | None:
    """Settings that hold a path are stored as str (JSON round trip)."""
    return None if value is None else os.fspath(value)
