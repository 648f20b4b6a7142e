"""One tool call inside the forked child: load the source, bind the arguments, call, and encode what came back.

Runs inside the sandbox (loaded by `runner.py` by file path): standard library only, plus pydantic when the tool's
environment has pydantic 2. No `letta` package is needed: tools that take `agent_state` get the small stand-in
below, and their block edits go back to the server as data.
"""

import ast
import importlib
import importlib.util
import inspect
import json
import linecache
import sys
import traceback
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

TOOL_MODULE = "__tool__"
_JSON_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None)}


def about() -> dict:
    """What the worker reports when ready."""
    return {"pydantic": importlib.util.find_spec("pydantic") is not None}


def preload(names: list[str]) -> None:
    """Import modules once in the warm worker so that forked calls find them loaded.

    Every preloaded module makes each fork dearer (a bigger address space to copy), so the server asks for
    asyncio and pydantic only in workers for the tools that use them.
    """
    for name in names:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
        if name == "pydantic" and _pydantic() is not None:
            _pydantic().TypeAdapter(int).validate_python("1")  # build pydantic-core's machinery once, in the worker


_WARM_UP_CALL = {
    "name": "warm_up",
    "source_code": "def warm_up(n: int) -> dict:\n    return {'n': [n]}\n",
    "args": {"n": "1"},
    "json_schema": {"parameters": {"properties": {"n": {"type": "integer"}}}},
}


def warm_up() -> None:
    """Run a trivial call in a spare child, so that the memory a real call touches is already its own copy."""
    json.loads(json.dumps(run_tool(_WARM_UP_CALL)))
    linecache.cache.pop("<tool warm_up>", None)
    sys.modules.pop(TOOL_MODULE, None)


def run_tool(request: dict) -> dict:
    """Run the call described by `request`; never raises. A failure is a result, with its traceback on stderr."""
    try:
        value, edits = _call(request)
    except BaseException as exc:  # whatever the tool raised (even SystemExit) is a result the model can read
        _print_tool_traceback(exc)
        return {"status": "error", "exc_type": type(exc).__name__, "message": str(exc)}
    return {"status": "success", "value": to_json_value(value), "memory_edits": edits}


def _call(request: dict) -> tuple[Any, dict[str, str]]:
    name = request["name"]
    if request.get("sandbox_dir"):
        sys.path.insert(0, request["sandbox_dir"])
    args_model, schema_classes = schema_models(request.get("args_json_schema"))
    namespace = _load_source(name, request["source_code"], schema_classes)
    func = namespace.get(name)
    if not callable(func):
        raise NameError(f"name {name!r} is not defined by the tool's source code")
    agent_state = AgentState.from_snapshot(request.get("agent_state"))
    kwargs = bind_arguments(func, request.get("args") or {}, request.get("json_schema"), args_model, agent_state)
    result = func(**kwargs)
    if inspect.isawaitable(result):
        import asyncio

        result = asyncio.run(_awaited(result))
    return result, agent_state.memory.edits() if agent_state else {}


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _load_source(name: str, source: str, schema_classes: dict[str, type]) -> dict[str, Any]:
    """Execute the tool's source as a real module, the way Letta's generated script would see it."""
    module = types.ModuleType(TOOL_MODULE)
    namespace = module.__dict__
    namespace.update({item: getattr(typing, item) for item in typing.__all__})  # Letta's scripts start with this
    namespace["AgentState"] = AgentState
    namespace.update(schema_classes)  # the source may define its own classes of the same names; those win
    filename = f"<tool {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    sys.modules[TOOL_MODULE] = module
    exec(compile(source, filename, "exec"), namespace)
    return namespace


def _print_tool_traceback(exc: BaseException) -> None:
    """Print the traceback from the first frame that is not this harness, as the tool's author would want it."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__)


# ---- arguments -------------------------------------------------------------------------------------------------


def bind_arguments(
    func: Any, args: dict, json_schema: dict | None, args_model: Any, agent_state: "AgentState | None"
) -> dict[str, Any]:
    """Keyword arguments for `func`: coerced by the JSON schema, Pydantic models rebuilt, `agent_state` injected.

    Arguments the function cannot take (such as the LLM's `request_heartbeat`) are dropped, as Letta drops
    arguments that are not in the schema; a missing required argument fails in the call itself with Python's own
    TypeError.
    """
    params = inspect.signature(func).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    hints = _annotations(func)
    kwargs = {}
    for key, value in coerce_arguments(args, _parameters(json_schema)).items():
        if key == "agent_state" or (key not in params and not takes_any):
            continue
        annotation = hints.get(key)
        if not _mentions_model(annotation) and args_model is not None and key in args_model.model_fields:
            annotation = args_model.model_fields[key].annotation
        if _mentions_model(annotation):
            value = _pydantic().TypeAdapter(annotation).validate_python(value)
        kwargs[key] = value
    if "agent_state" in params:
        kwargs["agent_state"] = agent_state
    return kwargs


def coerce_arguments(args: dict, parameters: dict) -> dict:
    """Turn string values into the type the schema declares ("3" -> 3); keep the raw value when that fails."""
    properties = parameters.get("properties") or {}
    return {key: _coerce(value, properties.get(key) or {}) for key, value in args.items()}


def _coerce(value: Any, schema: dict) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if not isinstance(value, str) or kind not in ("integer", "number", "boolean", "array", "object"):
        return value
    text = value.strip()
    if kind == "boolean":
        return {"true": True, "false": False, "1": True, "0": False}.get(text.lower(), value)
    parsed = _parse_literal(text)
    if kind == "integer" and isinstance(parsed, float) and parsed.is_integer():
        parsed = int(parsed)
    expected = {"integer": int, "number": (int, float), "array": list, "object": dict}[kind]
    return parsed if isinstance(parsed, expected) and not isinstance(parsed, bool) else value


def _parse_literal(text: str) -> Any:
    """JSON first, then a Python literal (LLMs often send "['a', 'b']"); None when neither parses."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _parameters(json_schema: dict | None) -> dict:
    """The parameters object of an OpenAI function schema, or the schema itself when it is already that."""
    if not json_schema:
        return {}
    return json_schema.get("parameters", json_schema)


def _annotations(func: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func)
    except Exception:  # one unresolvable annotation must not hide the others
        resolved = {}
        for key, annotation in getattr(func, "__annotations__", {}).items():
            if isinstance(annotation, str):
                try:
                    annotation = eval(annotation, getattr(func, "__globals__", {}))
                except Exception:
                    continue
            resolved[key] = annotation
        return resolved


def _mentions_model(annotation: Any) -> bool:
    pydantic = _pydantic(import_it=False)  # no model class can exist before something imported pydantic
    if pydantic is None or annotation is None:
        return False
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return True
    return any(_mentions_model(arg) for arg in typing.get_args(annotation))


def _pydantic(import_it: bool = True) -> Any:
    """The pydantic module if it is pydantic 2 (an old or missing one means model arguments stay dicts)."""
    module = sys.modules.get("pydantic")
    if module is None and import_it and importlib.util.find_spec("pydantic") is not None:
        module = importlib.import_module("pydantic")
    return module if module is not None and hasattr(module, "TypeAdapter") else None


# ---- Pydantic classes from an args_json_schema -----------------------------------------------------------------


def schema_models(schema: dict | None) -> tuple[Any, dict[str, type]]:
    """The arguments model of an `args_json_schema` and one class per `$defs` entry, named as there.

    The classes are put in the tool's namespace before its source runs, so `def f(step: Step)` works even when
    `Step` was defined on the client and only its schema reached the server (what Letta's code generator does).
    """
    if not schema or _pydantic() is None:
        return None, {}
    builder = _ModelBuilder({**schema.get("definitions", {}), **schema.get("$defs", {})})
    for name, definition in builder.definitions.items():
        builder.classes[_identifier(name)] = builder.model(_identifier(name), definition)
    top = builder.model(_identifier(schema.get("title") or "ToolArguments"), schema)
    for model in [*builder.classes.values(), *builder.nested, top]:
        model.model_rebuild(_types_namespace=builder.classes)
    return top, builder.classes


@dataclass
class _ModelBuilder:
    definitions: dict[str, dict]
    classes: dict[str, type] = field(default_factory=dict)
    nested: list[type] = field(default_factory=list)

    def model(self, name: str, schema: dict) -> type:
        required = set(schema.get("required", ()))
        fields = {}
        for prop, prop_schema in (schema.get("properties") or {}).items():
            annotation = self.annotation(prop_schema, f"{name}_{prop}")
            if prop in required:
                fields[prop] = (annotation, ...)
            else:
                fields[prop] = (Optional[annotation], prop_schema.get("default"))
        return _pydantic().create_model(name, __module__=TOOL_MODULE, **fields)

    def annotation(self, schema: dict, name: str) -> Any:
        if "$ref" in schema:
            return _identifier(schema["$ref"].rsplit("/", 1)[-1])  # a forward reference, resolved by rebuild
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return Union[tuple(self.annotation(option, name) for option in schema[key])]
        if len(schema.get("allOf", ())) == 1:
            return self.annotation(schema["allOf"][0], name)
        if "enum" in schema:
            return Literal[tuple(schema["enum"])]
        if "const" in schema:
            return Literal[schema["const"]]
        kind = schema.get("type")
        if isinstance(kind, list):
            return Union[tuple(self.annotation({**schema, "type": k}, name) for k in kind)]
        if kind == "array":
            return list[self.annotation(schema["items"], name)] if "items" in schema else list
        if kind == "object":
            return self._object(schema, name)
        return _JSON_TYPES.get(kind, Any)

    def _object(self, schema: dict, name: str) -> Any:
        if schema.get("properties"):
            model = self.model(_identifier(schema.get("title") or name), schema)
            self.nested.append(model)
            return model
        extra = schema.get("additionalProperties")
        return dict[str, self.annotation(extra, name)] if isinstance(extra, dict) else dict


def _identifier(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return cleaned if cleaned.isidentifier() else f"_{cleaned}"


# ---- agent state -----------------------------------------------------------------------------------------------


@dataclass
class Block:
    label: str
    value: str


class Memory:
    """The part of Letta's `Memory` that tools use; edits are read back with `edits()`."""

    def __init__(self, blocks: dict[str, str]) -> None:
        self._original = dict(blocks)
        self._blocks = {label: Block(label, value) for label, value in blocks.items()}

    @property
    def blocks(self) -> list[Block]:
        return list(self._blocks.values())

    def get_block(self, label: str) -> Block:
        if label not in self._blocks:
            raise KeyError(f"Block field {label} does not exist (available sections = {', '.join(self._blocks)})")
        return self._blocks[label]

    def get_blocks(self) -> list[Block]:
        return self.blocks

    def list_block_labels(self) -> list[str]:
        return list(self._blocks)

    def update_block_value(self, label: str, value: str) -> None:
        if not isinstance(value, str):
            raise ValueError("Provided value must be a string")
        if label not in self._blocks:
            raise ValueError(f"Block with label {label} does not exist")
        self._blocks[label].value = value

    def edits(self) -> dict[str, str]:
        """Blocks whose value changed, by `update_block_value` or by assigning `block.value` directly."""
        return {
            label: block.value
            for label, block in self._blocks.items()
            if isinstance(block.value, str) and block.value != self._original[label]
        }


@dataclass
class AgentState:
    """What a tool's `agent_state` parameter receives: Letta's field names, without the `letta` package."""

    id: str
    name: str
    tags: list[str]
    memory: Memory

    @classmethod
    def from_snapshot(cls, snapshot: dict | None) -> "AgentState | None":
        if snapshot is None:
            return None
        return cls(snapshot["id"], snapshot["name"], list(snapshot["tags"]), Memory(snapshot["blocks"]))


# ---- results ---------------------------------------------------------------------------------------------------


def to_json_value(value: Any) -> Any:
    """A JSON form of the return value: Pydantic models dumped, tuples as lists, anything unencodable as str()."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    pydantic_core = sys.modules.get("pydantic_core")  # a tool that never imported pydantic returns no models
    if pydantic_core is not None:
        try:
            return pydantic_core.to_jsonable_python(value, serialize_unknown=True)
        except Exception:  # e.g. a dict with tuple keys: the plain rules below still apply
            pass
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError, RecursionError):
        return str(value)
