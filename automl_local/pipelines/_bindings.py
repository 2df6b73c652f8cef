"""``${{...}}`` expressions: pipeline data bindings and command-line placeholders.

Two grammars from Azure's pipeline YAML meet here:

* a *binding* is the whole value of a node input or output, and says where
  the data comes from or goes: ``${{parent.inputs.x}}``,
  ``${{parent.jobs.<node>.outputs.<name>}}`` or ``${{parent.outputs.y}}``;
* a *placeholder* sits inside a command line and is replaced by the local
  path or literal value when the node runs: ``${{inputs.x}}``,
  ``${{outputs.y}}``; ``$[[ ... ]]`` wraps a segment that is dropped when an
  optional input inside it has no value.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from automl_local.exceptions import ConfigError

__all__ = [
    "Binding",
    "command_references",
    "parse_binding",
    "render_command",
]

_EXPR = re.compile(r"\$\{\{\s*(?P<expr>[^{}]*?)\s*\}\}")
_OPTIONAL = re.compile(r"\$\[\[(?P<body>.*?)\]\]", re.S)
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_PARENT_INPUT = re.compile(rf"^parent\.inputs\.(?P<name>{_NAME})$")
_PARENT_OUTPUT = re.compile(rf"^parent\.outputs\.(?P<name>{_NAME})$")
_NODE_OUTPUT = re.compile(rf"^parent\.jobs\.(?P<node>{_NAME})\.outputs\.(?P<name>{_NAME})$")
_PLACEHOLDER = re.compile(rf"^(?P<kind>inputs|outputs)\.(?P<name>{_NAME})$")


@dataclass(frozen=True)
class Binding:
    """Where a node input comes from, or where a node output is published.

    ``kind`` is ``parent_input`` (a pipeline input), ``node_output`` (an
    output of another node, ``node`` names it) or ``parent_output`` (a
    pipeline output).
    """

    kind: str
    name: str
    node: str | None = None

    def __str__(self) -> str:
        if self.kind == "parent_input":
            return f"${{{{parent.inputs.{self.name}}}}}"
        if self.kind == "parent_output":
            return f"${{{{parent.outputs.{self.name}}}}}"
        return f"${{{{parent.jobs.{self.node}.outputs.{self.name}}}}}"


def parse_binding(value: object, where: str) -> Binding | None:
    """The binding ``value`` spells, or None when it is a plain value.

    A string that holds an expression but is not exactly one binding (for
    example ``data_${{parent.inputs.x}}``) is refused: Azure does not
    concatenate bindings either.
    """
    if not isinstance(value, str) or "${{" not in value:
        return None
    match = _EXPR.fullmatch(value.strip())
    if match is None:
        raise ConfigError(
            f"{where}: {value!r} is not a single binding. Use exactly one of "
            "${{parent.inputs.<name>}}, ${{parent.jobs.<node>.outputs.<name>}} or "
            "${{parent.outputs.<name>}}."
        )
    expr = match["expr"]
    for pattern, kind in (
        (_PARENT_INPUT, "parent_input"),
        (_PARENT_OUTPUT, "parent_output"),
        (_NODE_OUTPUT, "node_output"),
    ):
        found = pattern.match(expr)
        if found:
            return Binding(kind, found["name"], found.groupdict().get("node"))
    raise ConfigError(
        f"{where}: binding {value!r} is not understood. Use ${{{{parent.inputs.<name>}}}}, "
        "${{parent.jobs.<node>.outputs.<name>}} or ${{parent.outputs.<name>}}."
    )


def command_references(command: str, where: str) -> set[tuple[str, str]]:
    """Every ``(inputs|outputs, name)`` placeholder of a command line."""
    refs: set[tuple[str, str]] = set()
    for match in _EXPR.finditer(command):
        found = _PLACEHOLDER.match(match["expr"])
        if found is None:
            raise ConfigError(
                f"{where}: the command uses ${{{{{match['expr']}}}}}, which is not an input or "
                "output placeholder; use ${{inputs.<name>}} or ${{outputs.<name>}}."
            )
        refs.add((found["kind"], found["name"]))
    return refs


def render_command(
    command: str, inputs: dict[str, str | None], outputs: dict[str, str], where: str
) -> str:
    """The command line with every placeholder replaced by a shell-quoted value.

    ``inputs`` maps each declared input to its value, or None when an
    optional input was not given: a ``$[[...]]`` segment that mentions such
    an input is dropped (Azure's optional-argument syntax); a bare reference
    to it is an error naming the input.
    """

    def value(kind: str, name: str) -> str | None:
        table = inputs if kind == "inputs" else outputs
        if name not in table:
            raise ConfigError(
                f"{where}: the command uses ${{{{{kind}.{name}}}}} but the component declares no "
                f"{kind[:-1]} {name!r}. Declared: {', '.join(sorted(table)) or 'none'}."
            )
        return table[name]

    def substitute(text: str, *, optional: bool) -> str | None:
        missing = False

        def one(match: re.Match[str]) -> str:
            nonlocal missing
            found = _PLACEHOLDER.match(match["expr"])
            if found is None:
                raise ConfigError(f"{where}: ${{{{{match['expr']}}}}} is not a placeholder.")
            got = value(found["kind"], found["name"])
            if got is None:
                if not optional:
                    raise ConfigError(
                        f"{where}: optional input {found['name']!r} has no value but the command "
                        f"uses it outside $[[...]]; wrap that part as "
                        f"$[[--{found['name']} ${{{{inputs.{found['name']}}}}}]]."
                    )
                missing = True
                return ""
            return shlex.quote(str(got))

        out = _EXPR.sub(one, text)
        return None if missing else out

    def segment(match: re.Match[str]) -> str:
        return substitute(match["body"], optional=True) or ""

    rendered = _OPTIONAL.sub(segment, command)
    return substitute(rendered, optional=False) or ""
