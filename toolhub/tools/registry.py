"""Tool registration: turn a create/update request into stored columns, and keep base tools seeded.

Schema derivation runs before any database transaction opens, so a slow or hostile source never holds a
connection. It runs in two steps. The static step (AST only, milliseconds) runs on the default worker
threads that the rest of the server shares; a small source (a fraction of a millisecond) is read on the event
loop itself, which is cheaper than the hop to a thread and back. Only a source whose annotations must be
evaluated takes the second step, which starts a confined child that may stay busy until its timeout (10 s); those
run on their own small thread pool, at most `DerivationBounds.total` at once and `per_caller` per user. A caller
over the bound waits up to `wait_seconds` for a slot, then gets a 429 with `Retry-After`. So hostile sources
can only slow down other such derivations, never tool calls or static derivations.

What is derived depends only on the source and the schemas sent with it, so it is kept by a hash of those
(`DerivedSchemas`): running the same source again (`POST /v1/tools/run`, an upsert) derives nothing.
"""

import asyncio
import functools
import hashlib
import json
import math
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from toolhub.builtin_tools.base import base_tool_fields, base_tool_names, base_tool_specs
from toolhub.errors import ConflictError, InvalidInputError, TooManyRequestsError
from toolhub.store.models import Tool as ToolRow
from toolhub.store.repositories.tools import ToolRepository
from toolhub.tools.model import PipRequirement, ToolCreate, ToolUpdate
from toolhub.tools.schema.derive import EvaluationRequired, derive_json_schema, function_name, json_schema_from_args_schema
from toolhub.tools.schema.probe import DEFAULT_LIMITS
from toolhub.tools.schema.source import PARSE_LOCK
from toolhub.tools.schema.strict import strict_variant

T = TypeVar("T")
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class SchemaFields:
    """The columns that follow from a tool's source and schemas."""

    name: str
    description: str | None
    json_schema: dict[str, Any]
    strict_json_schema: dict[str, Any] | None
    schema_health: str

    def columns(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "json_schema": self.json_schema,
            "strict_json_schema": self.strict_json_schema,
            "schema_health": self.schema_health,
        }


@dataclass(frozen=True, kw_only=True)
class DerivationBounds:
    """How many derivations that load the source in the confined child may run at once."""

    total: int = 2
    """Across all callers; each child may keep a core busy until its timeout (this machine kind has 2)."""
    per_caller: int = 1
    """Per acting user."""
    wait_seconds: float = 2.0
    """How long a caller over the bound waits for a slot before the 429."""
    retry_after_seconds: int = math.ceil(DEFAULT_LIMITS.timeout_seconds)
    """Sent as `Retry-After`: by then every running child has finished or been killed."""


class ProbeGate:
    """Admits bounded numbers of confined derivations and runs them on its own threads.

    Plain counters under a threading lock, polled by waiting callers (no FIFO order), so it works from any
    event loop and thread. A slot is released when its work has finished, even if the caller went away.
    """

    def __init__(self, bounds: DerivationBounds) -> None:
        self.bounds = bounds
        self._lock = threading.Lock()
        self._running: Counter[str] = Counter()
        self._threads = ThreadPoolExecutor(max_workers=bounds.total, thread_name_prefix="schema-probe")

    async def run(self, caller: str, work: Callable[[], T]) -> T:
        """`work()` on the gate's threads once `caller` has a slot.

        Raises:
            TooManyRequestsError: no slot came free within `wait_seconds`.
        """
        await self._admit(caller)
        try:
            job = self._threads.submit(self._run_then_leave, caller, work)
        except BaseException:
            self._leave(caller)
            raise

        def leave_if_never_run(done: Future[T]) -> None:
            if done.cancelled():  # the caller was cancelled before a thread picked the job up
                self._leave(caller)

        job.add_done_callback(leave_if_never_run)
        return await asyncio.wrap_future(job)

    async def _admit(self, caller: str) -> None:
        deadline = time.monotonic() + self.bounds.wait_seconds
        while (busy := self._try_enter(caller)) is not None:
            if time.monotonic() >= deadline:
                retry = self.bounds.retry_after_seconds
                raise TooManyRequestsError(
                    f"Too busy to derive this tool's schema: {busy}. Retry in {retry} s, or send json_schema, or "
                    "use only builtin and typing annotations (those are read without loading the source)",
                    retry_after_seconds=retry,
                )
            await asyncio.sleep(_POLL_SECONDS)

    def _try_enter(self, caller: str) -> str | None:
        """None when `caller` got a slot, else why not."""
        with self._lock:
            if self._running[caller] >= self.bounds.per_caller:
                return f"you already have {self._running[caller]} tool schema(s) being derived by loading the source"
            if self._running.total() >= self.bounds.total:
                return f"the server is already deriving {self.bounds.total} schemas by loading their source"
            self._running[caller] += 1
            return None

    def _leave(self, caller: str) -> None:
        with self._lock:
            self._running[caller] -= 1
            if self._running[caller] <= 0:
                del self._running[caller]

    def _run_then_leave(self, caller: str, work: Callable[[], T]) -> T:
        try:
            return work()
        finally:
            self._leave(caller)


_PROBES = ProbeGate(DerivationBounds())

INLINE_SOURCE_CHARS = 8192
"""Sources up to this size take the static step on the event loop (see the module docstring)."""

SchemaInputs = tuple[str, dict | None, dict | None, str | None]
"""source_code, json_schema, args_json_schema, description: everything a schema is derived from."""


class DerivedSchemas:
    """Derived `SchemaFields` by a hash of their inputs, the least recently used dropped beyond `size`.

    Entries are kept as JSON text, so every caller gets dicts of its own (a stored row or a spec may be changed
    later without changing what the next caller gets). Failures are not kept.
    """

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._entries: OrderedDict[bytes, str] = OrderedDict()

    @staticmethod
    def key(inputs: SchemaInputs) -> bytes | None:
        """None for inputs that are not plain JSON (then nothing is kept for them)."""
        try:
            return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).digest()
        except (TypeError, ValueError):
            return None

    def get(self, key: bytes | None) -> "SchemaFields | None":
        text = None if key is None else self._entries.get(key)
        if text is None:
            return None
        self._entries.move_to_end(key)  # type: ignore[arg-type]
        return SchemaFields(**json.loads(text))

    def put(self, key: bytes | None, fields: "SchemaFields") -> None:
        try:
            text = json.dumps(fields.columns())
        except (TypeError, ValueError):
            return
        if key is not None:
            self._entries[key] = text
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


_DERIVED = DerivedSchemas()


def _check_source_type(source_type: str | None) -> None:
    if source_type not in (None, "python"):
        raise InvalidInputError(f"Unsupported source_type {source_type!r}: tools are created from Python source")


def _schema_for(
    source_code: str, json_schema: dict | None, args_json_schema: dict | None, evaluate: bool
) -> dict[str, Any]:
    """A client-supplied json_schema wins; then args_json_schema; then the source itself."""
    if json_schema is not None:
        declared = json_schema.get("name")
        actual = function_name(source_code)
        if declared is not None and declared != actual:
            raise InvalidInputError(f"json_schema names '{declared}' but the source defines function '{actual}'")
        return {**json_schema, "name": actual}
    if args_json_schema is not None:
        return json_schema_from_args_schema(source_code, args_json_schema)
    return derive_json_schema(source_code, evaluate=evaluate)


def _derive(
    source_code: str,
    json_schema: dict | None,
    args_json_schema: dict | None,
    description: str | None,
    *,
    evaluate: bool,
) -> SchemaFields:
    schema = _schema_for(source_code, json_schema, args_json_schema, evaluate)
    if description:
        schema = {**schema, "description": description}
    strict, health = strict_variant(schema)
    if health == "INVALID":
        raise InvalidInputError(f"json_schema for '{schema.get('name')}' is not a valid function schema")
    return SchemaFields(schema["name"], schema.get("description"), schema, strict, health)


async def derive_schema_fields(
    source_code: str,
    *,
    caller: str,
    source_type: str | None = "python",
    json_schema: dict | None = None,
    args_json_schema: dict | None = None,
    description: str | None = None,
) -> SchemaFields:
    """The schema columns; `caller` (the acting user's id) is whose bound a confined derivation counts against.

    Raises:
        InvalidInputError: the source or schemas cannot become a function schema (ToolSchemaError included).
        TooManyRequestsError: the source must be loaded and no slot came free in time.
    """
    _check_source_type(source_type)
    inputs: SchemaInputs = (source_code, json_schema, args_json_schema, description)
    key = DerivedSchemas.key(inputs)
    derived = _DERIVED.get(key)
    if derived is None:
        try:
            derived = await _derive_statically(inputs)
        except EvaluationRequired:
            derived = await _PROBES.run(caller, functools.partial(_derive, *inputs, evaluate=True))
        _DERIVED.put(key, derived)
    return derived


async def _derive_statically(inputs: SchemaInputs) -> SchemaFields:
    """The static step: on the event loop for a small source when no thread is parsing, else on a thread."""
    if len(inputs[0]) <= INLINE_SOURCE_CHARS and PARSE_LOCK.acquire(blocking=False):
        try:
            return _derive(*inputs, evaluate=False)
        finally:
            PARSE_LOCK.release()
    return await asyncio.to_thread(_derive, *inputs, evaluate=False)


def _requirements(reqs: list[PipRequirement] | None) -> list[dict[str, Any]] | None:
    return None if reqs is None else [r.model_dump() for r in reqs]


async def columns_for_create(body: ToolCreate, *, caller: str) -> dict[str, Any]:
    derived = await derive_schema_fields(
        body.source_code,
        caller=caller,
        source_type=body.source_type,
        json_schema=body.json_schema,
        args_json_schema=body.args_json_schema,
        description=body.description,
    )
    _refuse_base_name(derived.name)
    return {
        **derived.columns(),
        "tool_type": "custom",
        "source_type": body.source_type,
        "source_code": body.source_code,
        "args_json_schema": body.args_json_schema,
        "tags": body.tags,
        "return_char_limit": body.return_char_limit,
        "pip_requirements": _requirements(body.pip_requirements),
        "default_requires_approval": body.default_requires_approval,
        "enable_parallel_execution": body.enable_parallel_execution,
    }


async def columns_for_update(current: ToolRow, body: ToolUpdate, *, caller: str) -> dict[str, Any]:
    """Only the fields the client sent change; new source or schemas re-derive the schema (and may rename)."""
    sent = body.model_dump(exclude_none=True)
    plain = ("tags", "return_char_limit", "metadata_", "default_requires_approval", "enable_parallel_execution")
    columns: dict[str, Any] = {k: v for k, v in sent.items() if k in plain}
    if "pip_requirements" in sent:
        columns["pip_requirements"] = _requirements(body.pip_requirements)
    schema_inputs = {"source_code", "source_type", "json_schema", "args_json_schema", "description"}
    if not schema_inputs & sent.keys():
        return columns
    if current.tool_type != "custom":
        if "description" in sent and not ({"source_code", "json_schema", "args_json_schema"} & sent.keys()):
            return {**columns, "description": body.description}
        raise InvalidInputError(f"Tool '{current.name}' is a {current.tool_type} tool; its schema cannot be edited")
    source_changed = "source_code" in sent
    derived = await derive_schema_fields(
        body.source_code if source_changed else current.source_code,
        caller=caller,
        source_type=body.source_type if body.source_type is not None else current.source_type,
        json_schema=body.json_schema if "json_schema" in sent else (None if source_changed else current.json_schema),
        args_json_schema=body.args_json_schema if "args_json_schema" in sent else current.args_json_schema,
        description=body.description,
    )
    _refuse_base_name(derived.name)
    return {
        **columns,
        **derived.columns(),
        **{k: sent[k] for k in ("source_code", "source_type", "args_json_schema") if k in sent},
    }


def _refuse_base_name(name: str) -> None:
    """A custom tool may not take a base tool's name: an upsert would turn the agent's send_message or memory tool
    into arbitrary code."""
    if name in base_tool_names():
        raise ConflictError(f"{name!r} is the name of a base tool; give the custom tool another name")


async def ensure_base_tools(tools: ToolRepository) -> None:
    """Seed any missing base tool (Letta does this on list)."""
    if await tools.names(base_tool_names()) != base_tool_names():
        await upsert_base_tools(tools)


async def upsert_base_tools(tools: ToolRepository) -> list[ToolRow]:
    return [await tools.upsert(**base_tool_fields(spec)) for spec in base_tool_specs()]
