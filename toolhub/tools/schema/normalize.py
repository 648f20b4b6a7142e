"""Pydantic-style JSON schema → the canonical form toolhub stores: refs inlined, keys in a fixed order.

Input is untrusted (it comes from a client's `args_json_schema` or from the confined child process),
so the walk is bounded in depth and size, and refuses recursive models rather than expanding them.
"""

from typing import Any

from toolhub.tools.schema.source import SchemaProblem, is_json_scalar

MAX_DEPTH = 32
MAX_NODES = 5_000

_JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
_KEY_ORDER = (
    "type", "enum", "properties", "required", "additionalProperties", "items", "prefixItems",
    "minItems", "maxItems", "uniqueItems", "anyOf", "format", "pattern", "minLength", "maxLength",
    "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf", "default", "description",
)  # fmt: skip
_VALUE_KEYS = frozenset(_KEY_ORDER) - {"type", "properties", "additionalProperties", "items", "prefixItems", "anyOf"}
_NUMBER = (int, float)
_VALUE_KINDS: dict[str, type | tuple[type, ...]] = {
    "description": str, "format": str, "pattern": str, "uniqueItems": bool,
    **dict.fromkeys(("minItems", "maxItems", "minLength", "maxLength"), int),
    **dict.fromkeys(("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf"), _NUMBER),
}  # fmt: skip
_NULL = {"type": "null"}
_SCALAR_TYPES = ((type(None), "null"), (bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))


def normalize(schema: Any, defs: Any = None) -> dict[str, Any]:
    """Canonical form of one schema; `defs` are the `$defs` its `$ref`s point into (its own by default)."""
    if defs is None and isinstance(schema, dict):
        defs = schema.get("$defs", schema.get("definitions", {}))
    if not isinstance(defs, dict):
        raise SchemaProblem("$defs must be an object")
    return _Normalizer(defs).walk(schema, 0)


def split_nullable(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """`Optional[T]` → (schema of T, True); anything else → (schema, False)."""
    branches = schema.get("anyOf")
    if branches and _NULL in branches:
        rest = [b for b in branches if b != _NULL]
        outer = {k: v for k, v in schema.items() if k != "anyOf"}
        return (_ordered({**rest[0], **outer}) if len(rest) == 1 else {**schema, "anyOf": rest}), True
    values = schema.get("enum", ())
    if None in values and len(values) > 1:  # the type follows the remaining values
        return _with_enum_type({**schema, "enum": [v for v in values if v is not None]}), True
    types = schema.get("type")
    if isinstance(types, list) and "null" in types and len(types) > 1:
        rest = [t for t in types if t != "null"]
        return {**schema, "type": rest[0] if len(rest) == 1 else rest}, True
    return schema, False


class _Normalizer:
    def __init__(self, defs: dict[str, Any]) -> None:
        self._defs = defs
        self._budget = MAX_NODES
        self._resolving: list[str] = []

    def walk(self, node: Any, depth: int) -> dict[str, Any]:
        self._spend(depth)
        if node is True:
            return {}
        if not isinstance(node, dict):
            raise SchemaProblem(f"a schema must be an object, not {type(node).__name__}")
        if "$ref" in node:
            return self._merge(self._resolve(node["$ref"], depth), node, "$ref", depth)
        if "allOf" in node:
            return self._merge(self._single_all_of(node["allOf"], depth), node, "allOf", depth)
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(self._keyword(key, value, depth + 1))
        return _ordered(_with_enum_type(_simplified(out)))

    def _keyword(self, key: str, value: Any, depth: int) -> dict[str, Any]:
        if key == "type":
            return {"type": _checked_type(value)}
        if key == "properties":
            return {"properties": {name: self.walk(sub, depth) for name, sub in _object(value, key).items()}}
        if key in ("items", "additionalProperties"):
            return {key: value if isinstance(value, bool) else self.walk(value, depth)}
        if key in ("prefixItems", "anyOf", "oneOf"):
            return {
                "prefixItems" if key == "prefixItems" else "anyOf": [self.walk(s, depth) for s in _array(value, key)]
            }
        if key == "required":
            return {"required": _names(value)}
        if key == "const":
            return {"enum": [value]}
        if key == "default" and value is None:
            return {}  # absent already means null; `"default": null` on a typed field only confuses
        return {key: _checked_value(key, value)} if key in _VALUE_KEYS else {}

    def _merge(self, base: dict[str, Any], node: dict[str, Any], keyword: str, depth: int) -> dict[str, Any]:
        """A `$ref` or one-item `allOf` with siblings: the siblings (e.g. a description) win."""
        overlay = self.walk({k: v for k, v in node.items() if k != keyword}, depth + 1)
        return _ordered({**base, **overlay})

    def _resolve(self, ref: Any, depth: int) -> dict[str, Any]:
        name = ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None
        if name is None or ref not in (f"#/$defs/{name}", f"#/definitions/{name}") or name not in self._defs:
            raise SchemaProblem(f"unresolvable $ref {ref!r}")
        if name in self._resolving:
            raise SchemaProblem(f"model {name!r} refers to itself; recursive models are not supported")
        self._resolving.append(name)
        try:
            return self.walk(self._defs[name], depth + 1)
        finally:
            self._resolving.pop()

    def _single_all_of(self, branches: Any, depth: int) -> dict[str, Any]:
        if len(_array(branches, "allOf")) != 1:
            raise SchemaProblem("allOf with several schemas is not supported")
        return self.walk(branches[0], depth + 1)

    def _spend(self, depth: int) -> None:
        self._budget -= 1
        if depth > MAX_DEPTH or self._budget < 0:
            raise SchemaProblem(f"schema is too large (more than {MAX_NODES} nodes or {MAX_DEPTH} levels)")


def _simplified(out: dict[str, Any]) -> dict[str, Any]:
    """Drop no-op keywords, collapse one-branch unions, and give bare arrays Letta's string items."""
    if out.get("additionalProperties") in (True, {}):
        del out["additionalProperties"]
    if "anyOf" in out:
        out = _flat_any_of(out)
    if out.get("type") == "array" and "prefixItems" not in out and out.get("items") in (None, True, {}):
        out["items"] = {"type": "string"}
    if "properties" in out:
        required = set(out.get("required", ()))
        out["properties"] = {
            name: sub if name in required else split_nullable(sub)[0] for name, sub in out["properties"].items()
        }
    return out


def _flat_any_of(out: dict[str, Any]) -> dict[str, Any]:
    branches: list[dict[str, Any]] = []
    for branch in out["anyOf"]:
        for item in branch["anyOf"] if set(branch) == {"anyOf"} else [branch]:
            if item not in branches:
                branches.append(item)
    rest = {k: v for k, v in out.items() if k != "anyOf"}
    return {**branches[0], **rest} if len(branches) == 1 else {**rest, "anyOf": branches}


def _with_enum_type(schema: dict[str, Any]) -> dict[str, Any]:
    """An enum's JSON type follows its values (ints → integer, mixed → a list of types)."""
    if "enum" not in schema:
        return schema
    types: list[str] = []
    for value in _array(schema["enum"], "enum"):
        json_type = _json_type(value)
        if json_type not in types:
            types.append(json_type)
    return _ordered({**schema, "type": types[0] if len(types) == 1 else types})


def _json_type(value: Any) -> str:
    if not is_json_scalar(value):
        raise SchemaProblem(f"enum value {value!r} is not a JSON scalar")
    return next(name for kind, name in _SCALAR_TYPES if isinstance(value, kind))


def _checked_type(value: Any) -> str | list[str]:
    if isinstance(value, str) and value in _JSON_TYPES:
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) and v in _JSON_TYPES for v in value):
        return value
    raise SchemaProblem(f"unknown JSON type {value!r}")


def _checked_value(key: str, value: Any) -> Any:
    kind = _VALUE_KINDS.get(key)
    if kind is not None and (not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)):
        raise SchemaProblem(f"{key} has the wrong type: {value!r}")
    return value


def _object(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaProblem(f"{key} must be an object")
    return value


def _array(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list) or (not value and key != "prefixItems"):
        raise SchemaProblem(f"{key} must be a non-empty array")
    return value


def _names(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise SchemaProblem("required must be an array of property names")
    return value


def _ordered(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: schema[key] for key in _KEY_ORDER if key in schema}
