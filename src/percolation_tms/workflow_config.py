"""The workflow's config checked against its schema, with a short message when it is wrong.

``workflow/rules/common.smk`` calls :func:`validate` before any job is planned. It does what
``snakemake.utils.validate(config, schema, set_default=True)`` does -- JSON-schema validation
(draft 2020-12) that fills in the ``default`` of every key the config leaves out, in place --
but a config that breaks the schema raises :class:`ConfigError` whose message names the key's
path (``toy_models.synthetic.steps``), the value and the rule it breaks (for an unknown key:
the keys allowed there and the closest one), in a few lines, instead of snakemake's dump of
the whole schema and config (about a thousand lines).
"""

from __future__ import annotations

import difflib
import os
import textwrap

#: Lines of the message at most (snakemake adds one or two around it: a dozen in all).
MAX_LINES = 10
_WIDTH = 96


class ConfigError(ValueError):
    """The workflow config breaks its schema; the message is meant for the user as it is."""


def validate(config: dict, schema_path: str | os.PathLike) -> dict:
    """Check ``config`` against the YAML/JSON schema at ``schema_path`` and fill in defaults.

    Parameters
    ----------
    config : dict
        The config as snakemake loaded it; modified in place (missing keys get their schema
        default, exactly as ``snakemake.utils.validate(..., set_default=True)`` sets them).
    schema_path : path
        The schema file.

    Returns
    -------
    dict
        ``config`` itself.

    Raises
    ------
    ConfigError
        If the config breaks the schema; the message has at most a dozen lines.
    """
    import yaml
    from jsonschema import Draft202012Validator, validators

    with open(schema_path) as handle:
        schema = yaml.safe_load(handle)

    # snakemake.utils.validate's default filler (from the jsonschema FAQ): before checking an
    # object's properties, set every absent property that has a default.
    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, subschema):
        for name, child in properties.items():
            if "default" in child:
                instance.setdefault(name, child["default"])
        yield from check_properties(validator, properties, instance, subschema)

    Validator = validators.extend(Draft202012Validator, {"properties": set_defaults})
    errors = list(Validator(schema).iter_errors(config))
    if errors:
        raise ConfigError(format_errors(errors))
    return config


def format_errors(errors) -> str:
    """The config's problems, each named by its key's path, in at most MAX_LINES lines."""
    errors = sorted(errors, key=lambda e: [str(part) for part in e.absolute_path])
    lines = ["Error validating config file:"]
    for error in errors:
        lines += [line for line in describe(error) if line not in lines]
    if len(lines) > MAX_LINES:
        shown = lines[:MAX_LINES - 1]
        hidden = sum(line.startswith("- ") for line in lines[MAX_LINES - 1:])
        lines = shown + [f"  ... and {hidden} more" if hidden else "  ..."]
    return "\n".join(lines)


def key_path(parts) -> str:
    """``toy_models.synthetic.steps``, ``percolation.datasets[0].sizes[1]``; ``config`` for
    the top level."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "config"


def describe(error) -> list[str]:
    """Two or three lines about one error: what is wrong where, then what is allowed."""
    path = list(error.absolute_path)
    kind, rule, value = error.validator, error.validator_value, error.instance
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(value) - set(allowed))
        lines = []
        for key in unknown:
            lines.append(f"- unknown key {key_path(path + [key])}")
            close = difflib.get_close_matches(key, allowed, n=1)
            if close:
                lines.append(f"  did you mean {key_path(path + [close[0]])}?")
        where = key_path(path) if path else "the top level"
        lines += _wrap(f"allowed in {where}: {', '.join(allowed)}", first="  ")
        return lines
    head = f"- {key_path(path)} = {_show(value)}"
    if kind == "type":
        wanted = " or ".join(rule) if isinstance(rule, list) else rule
        return [f"{head}: should be {_article(wanted)} {wanted}, not {_type_name(value)}"]
    if kind in _BOUNDS:
        return [f"{head}: should be {_BOUNDS[kind]} {rule}"]
    if kind == "enum":
        lines = [f"{head}: should be one of {', '.join(map(str, rule))}"]
        close = difflib.get_close_matches(str(value), [str(r) for r in rule], n=1)
        if close:
            lines.append(f"  did you mean {close[0]}?")
        return lines
    if kind == "minItems":
        return [f"{head}: should have at least {rule} item{'s' if rule != 1 else ''}"]
    if kind == "maxItems":
        return [f"{head}: should have at most {rule} item{'s' if rule != 1 else ''}"]
    if kind == "uniqueItems":
        return [f"{head}: should not repeat an item"]
    if kind == "required":  # one error per missing key, named in its message
        name = error.message.removesuffix(" is a required property")
        return [f"- {key_path(path)}: missing required key {name.strip(chr(39))}"]
    if kind in ("anyOf", "oneOf"):
        description = error.schema.get("description")
        return [f"{head}: matches none of the allowed forms"] + (
            _wrap(description, first="  ") if description else [])
    return _wrap(f"{head}: {error.message}")


_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">",
           "exclusiveMaximum": "<"}
_TYPE_NAMES = {str: "a string", bool: "a boolean", int: "an integer", float: "a number",
               list: "a list", dict: "a mapping", type(None): "null"}


def _type_name(value) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _wrap(text: str, first: str = "") -> list[str]:
    """At most two lines; the second indented by two spaces."""
    return textwrap.wrap(" ".join(text.split()), _WIDTH, initial_indent=first,
                         subsequent_indent="  ", max_lines=2, placeholder=" ...")
