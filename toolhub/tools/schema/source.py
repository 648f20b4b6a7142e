"""Read a tool's source as data: the last top-level function, its parameters, and what names mean.

Nothing here executes the source; everything comes from `ast`.
"""

import ast
import builtins
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

HIDDEN_PARAMETERS = frozenset({"self", "agent_state"})
"""Injected by the executor (or bound by a class), never shown to the model."""

TYPING_MODULES = frozenset({"typing", "typing_extensions"})
PRESEEDED_TYPING = frozenset({"Optional", "List", "Dict", "Literal", "Union", "Tuple", "Any", "Annotated"})
"""Names a tool may use without importing them: Letta put these in the namespace it ran tools in."""

NO_DEFAULT: Any = object()
"""Marks a parameter without a default."""

UNKNOWN_DEFAULT: Any = object()
"""Marks a default that is not a JSON literal (an expression we refuse to evaluate)."""

PARSE_LOCK = threading.RLock()
"""Held around every `ast.parse` of tool code. CPython 3.11 keeps the AST constructor's recursion depth in
state shared by all threads, so concurrent parses corrupt it ("SystemError: AST constructor recursion depth
mismatch")."""


class SchemaProblem(Exception):
    """A problem with one tool, optionally tied to one parameter; `schema.py` names the function."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter


@dataclass(frozen=True)
class Parameter:
    """One visible parameter of the tool function, as written."""

    name: str
    annotation: ast.expr | None
    default: Any
    """A JSON-compatible literal, `NO_DEFAULT` or `UNKNOWN_DEFAULT`."""

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(frozen=True)
class ToolSource:
    """The tool function found in a source string."""

    name: str
    docstring: str | None
    parameters: tuple[Parameter, ...]
    varargs: str | None
    """Name of the `*args` parameter, if any."""
    varkw: str | None
    """Name of the `**kwargs` parameter, if any."""
    positional_only: tuple[str, ...]
    scope: "Scope"


class Scope:
    """What the module-level names of the source refer to, as far as static reading can tell.

    `resolve` answers a canonical dotted name such as "builtins.int", "typing.List" or
    "pydantic.Field", or None when the name is bound by the source itself, imported from
    elsewhere, or unknown (only evaluating the source could say what it is).
    """

    def __init__(self, module: ast.Module) -> None:
        self._bindings: dict[str, set[str | None]] = {}
        self._star_import = False
        for node in _module_level_nodes(module):
            self._record(node)

    def resolve(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self._resolve_name(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = self._resolve_name(node.value.id)
            if module in {"module:typing", "module:pydantic"}:
                return f"{module.removeprefix('module:')}.{node.attr}"
        return None

    def _resolve_name(self, name: str) -> str | None:
        bound = self._bindings.get(name)
        if bound is not None:
            return next(iter(bound)) if len(bound) == 1 else None
        if self._star_import:
            return None
        if name in PRESEEDED_TYPING:
            return f"typing.{name}"
        return f"builtins.{name}" if hasattr(builtins, name) else None

    def _bind(self, name: str, meaning: str | None) -> None:
        self._bindings.setdefault(name, set()).add(meaning)

    def _record(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                meaning = _module_meaning(alias.name) if alias.asname or "." not in alias.name else None
                self._bind(alias.asname or alias.name.split(".")[0], meaning)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                if alias.name == "*":
                    self._star_import = True
                else:
                    self._bind(alias.asname or alias.name, _imported_meaning(node.module, alias.name))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            self._bind(node.name, None)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            self._bind(node.id, None)
        elif isinstance(node, ast.Global):
            for name in node.names:
                self._bind(name, None)


def _module_meaning(module: str) -> str | None:
    if module in TYPING_MODULES:
        return "module:typing"
    return "module:pydantic" if module == "pydantic" else None


def _imported_meaning(module: str | None, name: str) -> str | None:
    if module in TYPING_MODULES:
        return f"typing.{name}"
    return "pydantic.Field" if module == "pydantic" and name == "Field" else None


def _module_level_nodes(module: ast.Module) -> Iterator[ast.AST]:
    """Every node that can bind a module-level name: not inside function or class bodies.

    `global` statements are the exception: they are found anywhere, since they rebind module names.
    """
    stack: list[ast.AST] = list(module.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            stack.extend(n for n in ast.walk(node) if isinstance(n, ast.Global))
            stack.extend(getattr(node, "decorator_list", []))
        else:
            stack.extend(ast.iter_child_nodes(node))


def _parse_module(source_code: str) -> ast.Module:
    """Parse the source, turning every parser failure into a SchemaProblem with a position."""
    try:
        with PARSE_LOCK:
            return ast.parse(source_code)
    except SyntaxError as exc:
        position = f" at line {exc.lineno}, column {exc.offset}" if exc.lineno else ""
        raise SchemaProblem(f"syntax error{position}: {exc.msg}") from None
    except (RecursionError, MemoryError, SystemError) as exc:  # pathologically nested expressions
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise SchemaProblem(f"source cannot be parsed: {reason} (is it nested too deeply?)") from None


def _last_function(module: ast.Module) -> ast.FunctionDef | ast.AsyncFunctionDef:
    """Letta's rule: the tool is the last function defined at the top level."""
    functions = [n for n in module.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if not functions:
        raise SchemaProblem("source defines no top-level function")
    return functions[-1]


def read_tool_source(source_code: str) -> ToolSource:
    module = _parse_module(source_code)
    function = _last_function(module)
    args = function.args
    return ToolSource(
        name=function.name,
        docstring=ast.get_docstring(function, clean=False),
        parameters=tuple(p for p in _parameters(args) if p.name not in HIDDEN_PARAMETERS),
        varargs=args.vararg.arg if args.vararg else None,
        varkw=args.kwarg.arg if args.kwarg else None,
        positional_only=tuple(a.arg for a in args.posonlyargs if a.arg not in HIDDEN_PARAMETERS),
        scope=Scope(module),
    )


def _parameters(args: ast.arguments) -> list[Parameter]:
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = [*zip(positional, defaults, strict=True), *zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    return [Parameter(arg.arg, arg.annotation, _literal_default(default)) for arg, default in pairs]


def _literal_default(node: ast.expr | None) -> Any:
    if node is None:
        return NO_DEFAULT
    try:
        return _jsonable(ast.literal_eval(node))
    except (ValueError, TypeError, RecursionError):
        return UNKNOWN_DEFAULT


def is_json_scalar(value: Any) -> bool:
    """None, a bool, an int, a finite float or a str: what JSON can carry as one value."""
    return value is None or isinstance(value, bool | int | str) or (isinstance(value, float) and math.isfinite(value))


def _jsonable(value: Any) -> Any:
    """The JSON form of a literal default; raises TypeError for sets, bytes, complex or infinite numbers."""
    if is_json_scalar(value):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _jsonable(item) for key, item in value.items()}
    raise TypeError(f"{type(value).__name__} is not JSON")
