"""Type annotations → JSON schema, statically, for annotations made only of builtins and `typing` names.

The output has the shape pydantic's `TypeAdapter(...).json_schema()` gives for the same type, so both
paths share one normalizer (`normalize`). Any name whose meaning only evaluation can tell (a
class in the source, an import from another module, an Enum, a constrained `Field`) raises
`NeedsEvaluation`, and the caller hands the whole function to the confined subprocess instead.
"""

import ast
from dataclasses import dataclass
from typing import Any

from toolhub.tools.schema.source import SchemaProblem, Scope, is_json_scalar

MAX_ANNOTATION_DEPTH = 32

_SCALARS = {
    "builtins.str": "string",
    "builtins.int": "integer",
    "builtins.float": "number",
    "builtins.bool": "boolean",
}
_ARRAYS = {"builtins.list", "typing.List"}
_OBJECTS = {"builtins.dict", "typing.Dict"}
_TUPLES = {"builtins.tuple", "typing.Tuple"}
_NEEDS_ARGUMENTS = {"typing.Optional", "typing.Union", "typing.Literal", "typing.Annotated"}


class NeedsEvaluation(Exception):
    """The annotation names something only the source itself can define."""


@dataclass(frozen=True)
class AnnotatedSchema:
    """A parameter's raw schema plus the description written into its annotation, if any."""

    schema: dict[str, Any]
    description: str | None


def parameter_schema(annotation: ast.expr, scope: Scope) -> AnnotatedSchema:
    """Schema of one parameter annotation; a top-level `Annotated[T, "text"]` gives a description."""
    converter = _Converter(scope)
    node = converter.unquote(annotation, 0)
    if not (isinstance(node, ast.Subscript) and scope.resolve(node.value) == "typing.Annotated"):
        return AnnotatedSchema(converter.convert(node, 0), None)
    base, *metadata = _subscript_args(node)
    schema = converter.annotated(base, metadata, 1)
    notes = [m.value for m in metadata if isinstance(m, ast.Constant) and isinstance(m.value, str)]
    return AnnotatedSchema(schema, schema.get("description") or next(iter(notes), None))


class _Converter:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def unquote(self, node: ast.expr, depth: int) -> ast.expr:
        """A string annotation ("int", or any under `from __future__ import annotations`) read as code."""
        while isinstance(node, ast.Constant) and isinstance(node.value, str):
            _check_depth(depth)
            text = node.value
            try:
                node = ast.parse(text.strip(), mode="eval").body
            except (SyntaxError, RecursionError, MemoryError):
                raise SchemaProblem(f"annotation {text[:80]!r} is not valid Python") from None
            depth += 1
        return node

    def convert(self, node: ast.expr, depth: int) -> dict[str, Any]:
        _check_depth(depth)
        node = self.unquote(node, depth)
        if isinstance(node, ast.Constant) and node.value is None:
            return {"type": "null"}
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return {"anyOf": [self.convert(node.left, depth + 1), self.convert(node.right, depth + 1)]}
        if isinstance(node, ast.Subscript):
            return self._generic(node, depth + 1)
        return self._bare(node)

    def _bare(self, node: ast.expr) -> dict[str, Any]:
        canonical = self._scope.resolve(node)
        if canonical in _SCALARS:
            return {"type": _SCALARS[canonical]}
        if canonical in _ARRAYS | _TUPLES:
            return {"type": "array", "items": {}}
        if canonical in _OBJECTS:
            return {"type": "object", "additionalProperties": True}
        if canonical == "typing.Any":
            return {}
        if canonical in _NEEDS_ARGUMENTS:
            raise SchemaProblem(f"{ast.unparse(node)} needs type arguments")
        raise NeedsEvaluation

    def _generic(self, node: ast.Subscript, depth: int) -> dict[str, Any]:
        canonical = self._scope.resolve(node.value)
        args = _subscript_args(node)
        if canonical in _ARRAYS:
            (item,) = _arity(node, args, 1)
            return {"type": "array", "items": self.convert(item, depth)}
        if canonical in _OBJECTS:
            return self._mapping(node, args, depth)
        if canonical in _TUPLES:
            return self._tuple(args, depth)
        if canonical == "typing.Optional":
            (item,) = _arity(node, args, 1)
            return {"anyOf": [self.convert(item, depth), {"type": "null"}]}
        if canonical == "typing.Union":
            return {"anyOf": [self.convert(arg, depth) for arg in args]}
        if canonical == "typing.Literal":
            return {"enum": [_literal_value(arg) for arg in args]}
        if canonical == "typing.Annotated":
            return self.annotated(args[0], args[1:], depth)
        if canonical in _SCALARS or canonical == "typing.Any":
            raise SchemaProblem(f"{ast.unparse(node)} is not a generic type")
        raise NeedsEvaluation

    def annotated(self, base: ast.expr, metadata: list[ast.expr], depth: int) -> dict[str, Any]:
        """`Annotated[T, Field(description=...)]`; any other metadata needs pydantic to interpret it."""
        schema = self.convert(base, depth)
        for item in metadata:
            schema = {**schema, **self._field_description(item)}
        return schema

    def _field_description(self, node: ast.expr) -> dict[str, str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {}  # a plain string only documents a parameter's top-level annotation
        if not (isinstance(node, ast.Call) and self._scope.resolve(node.func) == "pydantic.Field" and not node.args):
            raise NeedsEvaluation
        keywords = {k.arg: k.value for k in node.keywords}
        description = keywords.get("description")
        if set(keywords) != {"description"} or not (
            isinstance(description, ast.Constant) and isinstance(description.value, str)
        ):
            raise NeedsEvaluation
        return {"description": description.value}

    def _mapping(self, node: ast.Subscript, args: list[ast.expr], depth: int) -> dict[str, Any]:
        key, value = _arity(node, args, 2)
        if self.convert(key, depth) != {"type": "string"}:
            raise SchemaProblem(f"{ast.unparse(node)}: JSON object keys are strings, use dict[str, ...]")
        return {"type": "object", "additionalProperties": self.convert(value, depth)}

    def _tuple(self, args: list[ast.expr], depth: int) -> dict[str, Any]:
        if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
            return {"type": "array", "items": self.convert(args[0], depth)}
        items = [self.convert(arg, depth) for arg in args]
        return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}


def _check_depth(depth: int) -> None:
    if depth > MAX_ANNOTATION_DEPTH:
        raise SchemaProblem(f"annotation is nested more than {MAX_ANNOTATION_DEPTH} levels deep")


def _subscript_args(node: ast.Subscript) -> list[ast.expr]:
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


def _arity(node: ast.Subscript, args: list[ast.expr], count: int) -> list[ast.expr]:
    if len(args) != count:
        raise SchemaProblem(f"{ast.unparse(node)} takes {count} type argument(s)")
    return args


def _literal_value(node: ast.expr) -> Any:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        raise NeedsEvaluation from None  # e.g. Literal[Color.RED]
    if is_json_scalar(value):
        return value
    raise SchemaProblem(f"Literal value {ast.unparse(node)} is not a JSON scalar")
