"""Python tool source → OpenAI function JSON schema (`{name, description, parameters}`), Letta-compatible.

The source is never executed in this process. Annotations made only of builtins and `typing` names
are read from the AST (fast, no subprocess); anything else (Pydantic models, Enums, imported types)
is evaluated by `probe` in a confined child process. Both paths produce pydantic-style JSON
schemas that `normalize` turns into one canonical form. All functions are synchronous and
thread-safe; the server calls them in a worker thread, first with `evaluate=False` (cheap, shared
threads), then only when needed with evaluation on its own bounded threads (see `registry.py`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from toolhub.errors import InvalidInputError
from toolhub.tools.schema.annotations import AnnotatedSchema, NeedsEvaluation, parameter_schema
from toolhub.tools.schema.docstring import DocstringInfo, read_docstring
from toolhub.tools.schema.normalize import normalize, split_nullable
from toolhub.tools.schema.probe import DEFAULT_LIMITS, ProbeLimits, probe_parameters
from toolhub.tools.schema.source import (
    HIDDEN_PARAMETERS,
    NO_DEFAULT,
    PARSE_LOCK,
    UNKNOWN_DEFAULT,
    SchemaProblem,
    ToolSource,
    read_tool_source,
)

__all__ = [
    "EvaluationRequired",
    "ProbeLimits",
    "ToolSchemaError",
    "derive_json_schema",
    "function_name",
    "json_schema_from_args_schema",
]


class ToolSchemaError(InvalidInputError):
    """The tool's source cannot be turned into a function schema; the message says where and why."""


class EvaluationRequired(Exception):
    """Raised instead of starting the confined child when the caller passed `evaluate=False`."""


def function_name(source_code: str) -> str:
    """Name of the last top-level `def` (the function Letta treats as the tool).

    Raises:
        ToolSchemaError: a syntax error, or no top-level function.
    """
    return _read(source_code).name


def derive_json_schema(
    source_code: str, *, name: str | None = None, limits: ProbeLimits = DEFAULT_LIMITS, evaluate: bool = True
) -> dict[str, Any]:
    """Schema of the last top-level function; `name` overrides the schema's name, as in Letta.

    Raises:
        ToolSchemaError: no function, a syntax error, a missing docstring, annotation or parameter
            description, `*args`/`**kwargs`, an unsupported annotation, or a source that fails to load
            (raises, exits, times out or crashes) or cannot be confined (no bubblewrap) when its types
            had to be evaluated.
        EvaluationRequired: the types must be evaluated and `evaluate` is False.
    """
    tool = _read(source_code)
    with _reported(tool.name):
        docs = _required_docstring(tool)
        _check_signature(tool)
        annotated = _annotated_schemas(source_code, tool, limits, evaluate)
        properties, required = {}, []
        for parameter in tool.parameters:
            with _reported(tool.name, parameter.name):
                documented = docs.parameters.get(parameter.name)
                schema, optional = _property(annotated[parameter.name], documented, default=parameter.default)
            properties[parameter.name] = schema
            if not (optional or parameter.has_default):
                required.append(parameter.name)
        return _function_schema(name or tool.name, docs.description, properties, required)


def json_schema_from_args_schema(source_code: str, args_json_schema: dict[str, Any]) -> dict[str, Any]:
    """Schema whose parameters come from a Pydantic `model_json_schema()` (letta-client's `args_schema`).

    Name and description come from the source's last `def`, read statically. Its docstring is
    optional here (the model usually carries the descriptions) and fills in missing field descriptions.

    Raises:
        ToolSchemaError: bad source, a malformed or recursive args schema, or a field the function does not take.
    """
    tool = _read(source_code)
    with _reported(tool.name):
        docs = read_docstring(tool.docstring) if tool.docstring else DocstringInfo(f"The {tool.name} tool", {})
        fields = _fields(args_json_schema, tool)
        defs = args_json_schema.get("$defs", args_json_schema.get("definitions", {}))
        listed = args_json_schema.get("required", [])
        if not isinstance(listed, list):
            raise SchemaProblem("args_json_schema 'required' must be a list")
        properties, required = {}, []
        for field, raw in fields.items():
            with _reported(tool.name, field):
                explicit = raw.get("description") if isinstance(raw, dict) else None
                annotated = AnnotatedSchema(raw, explicit if isinstance(explicit, str) else None)
                schema, optional = _property(annotated, docs.parameters.get(field), defs, needs_description=False)
            properties[field] = schema
            if field in listed and not optional:
                required.append(field)
        return _function_schema(tool.name, docs.description, properties, required)


def _read(source_code: str) -> ToolSource:
    with _reported(None):
        return read_tool_source(source_code)


@contextmanager
def _reported(function: str | None, parameter: str | None = None) -> Iterator[None]:
    """Turn an internal SchemaProblem into the client-facing error naming the function and parameter."""
    where = "tool source" if function is None else f"tool {function!r}"
    try:
        yield
    except SchemaProblem as problem:
        parameter = problem.parameter or parameter
        raise ToolSchemaError(f"{where}{_parameter(parameter)}: {problem.message}") from None
    except RecursionError:  # a hostile source or schema nested deeper than the readers recurse
        raise ToolSchemaError(f"{where}{_parameter(parameter)}: nested too deeply to be read") from None


def _parameter(name: str | None) -> str:
    return f", parameter {name!r}" if name else ""


def _required_docstring(tool: ToolSource) -> DocstringInfo:
    docs = read_docstring(tool.docstring) if tool.docstring else None
    if docs is None or not docs.description:
        raise SchemaProblem("missing docstring; its summary becomes the tool description")
    return docs


def _check_signature(tool: ToolSource) -> None:
    variadic = [f"*{tool.varargs}"] if tool.varargs else []
    variadic += [f"**{tool.varkw}"] if tool.varkw else []
    if variadic:
        raise SchemaProblem(f"{' and '.join(variadic)} cannot be described to the model; name each argument")
    if tool.positional_only:
        raise SchemaProblem(
            f"arguments are passed by keyword, so {', '.join(tool.positional_only)} cannot be positional-only"
        )
    for parameter in tool.parameters:
        if parameter.annotation is None:
            raise SchemaProblem("has no type annotation", parameter=parameter.name)


def _annotated_schemas(
    source_code: str, tool: ToolSource, limits: ProbeLimits, evaluate: bool
) -> dict[str, AnnotatedSchema]:
    """Static schemas when every annotation allows it, else the confined child's answer for all of them."""
    annotated = {}
    try:
        with PARSE_LOCK:  # string annotations are parsed too
            for parameter in tool.parameters:
                assert parameter.annotation is not None  # checked by _check_signature
                with _reported(tool.name, parameter.name):
                    annotated[parameter.name] = parameter_schema(parameter.annotation, tool.scope)
    except NeedsEvaluation:
        if not evaluate:
            raise EvaluationRequired(tool.name) from None
        found = probe_parameters(source_code, tool.name, [p.name for p in tool.parameters], limits)
        return {name: AnnotatedSchema(entry["schema"], entry["description"]) for name, entry in found.items()}
    return annotated


def _property(
    annotated: AnnotatedSchema,
    documented: str | None,
    defs: Any = None,
    *,
    default: Any = NO_DEFAULT,
    needs_description: bool = True,
) -> tuple[dict[str, Any], bool]:
    """One canonical property, and whether it is Optional (so never required).

    Description precedence: the annotation's own (Field or Annotated string), then the docstring,
    then the model docstring pydantic put into the type's schema. A literal default is shown to the
    model; None and non-literal defaults only make the parameter optional.
    """
    schema, optional = split_nullable(normalize(annotated.schema, defs))
    description = annotated.description or documented or schema.get("description")
    if needs_description and not description:
        raise SchemaProblem("has no description in the docstring or its annotation")
    body = {key: value for key, value in schema.items() if key != "description"}
    if default is not None and default is not NO_DEFAULT and default is not UNKNOWN_DEFAULT:
        body["default"] = default
    return ({**body, "description": description} if description else body), optional


def _fields(args_json_schema: Any, tool: ToolSource) -> dict[str, Any]:
    """The model's fields, minus hidden ones; each must be a keyword the function takes."""
    fields = args_json_schema.get("properties") if isinstance(args_json_schema, dict) else None
    if not isinstance(fields, dict):
        raise SchemaProblem("args_json_schema must be an object schema with 'properties'")
    accepted = {p.name for p in tool.parameters}
    unknown = [name for name in fields if name not in accepted and name not in HIDDEN_PARAMETERS]
    if unknown and tool.varkw is None:
        raise SchemaProblem(f"args_json_schema has fields the function does not take: {', '.join(unknown)}")
    return {name: raw for name, raw in fields.items() if name not in HIDDEN_PARAMETERS}


def _function_schema(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required},
    }
