"""What every sandbox backend takes and returns, and the one rule for a tool's environment variables.

Backends (local, docker, e2b) implement `Sandbox`; the tool executor builds a `ToolInvocation` and gets an
`ExecutionResult` back. A failing tool is a result, never an exception: the model reads the error text.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

SERVER_ENV_ALLOWED = ("PATH", "LANG", "LC_ALL", "TZ")
"""The only server variables a tool sees; everything else of the server (LLM keys, database URLs,
`TOOLHUB_*`, `LETTA_*`) stays out of the sandbox."""


class SandboxError(Exception):
    """A failure of the sandbox rather than of the tool (bad requirement, install, worker crash).

    Backends turn it into an error result whose text names this class, e.g. `InstallError: ...`, and whose `cause`
    is the exception itself; the tool executor decides which are the machinery's (typed errors for the caller) and
    which belong to the tool's own definition (results the model reads).
    """


@dataclass(frozen=True, kw_only=True)
class SandboxLimits:
    """Per-call limits. Memory is what the call may allocate on top of the warm interpreter."""

    timeout_s: float = 60.0
    memory_mb: int = 512
    cpu_s: int | None = None
    """CPU seconds per process; by default the wall-clock timeout rounded up, plus one."""
    max_processes: int = 64
    max_file_mb: int = 64
    max_open_files: int = 256
    output_cap_bytes: int = 1024 * 1024
    """For stdout and for stderr each; what is cut is replaced by a note saying how much."""


@dataclass(frozen=True, kw_only=True)
class AgentSnapshot:
    """The agent as a tool's `agent_state` parameter sees it; edits to blocks come back as data."""

    id: str
    name: str
    tags: tuple[str, ...] = ()
    blocks: Mapping[str, str] = field(default_factory=dict)
    """Memory block values by label."""


@dataclass(frozen=True, kw_only=True)
class ToolInvocation:
    """One call of a custom Python tool, with everything the sandbox needs and nothing of the server."""

    name: str
    source_code: str
    args: Mapping[str, Any]
    tenant: str = ""
    """The organization the call runs for: pools and workers are never shared across tenants."""
    json_schema: Mapping[str, Any] | None = None
    args_json_schema: Mapping[str, Any] | None = None
    pip_requirements: tuple[str, ...] = ()
    """The tool's and the sandbox config's requirements, "name" or "name==version" (duplicates are fine)."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Already merged with `merge_environment`."""
    agent_state: AgentSnapshot | None = None
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    timeout_s: float | None = None
    """The tool's own timeout (`metadata_.timeout`): over the sandbox config's when a config is applied."""
    allow_network: bool = False
    sandbox_dir: Path | None = None
    """Letta's TOOL_EXEC_DIR: importable and readable by the tool; its requirements.txt is installed too."""


@dataclass(kw_only=True)
class ExecutionResult:
    """How a call ended. On error `func_return` holds the same text as `error`, as Letta returns it."""

    status: Literal["success", "error"]
    func_return: Any
    """A JSON value (Pydantic models dumped, other objects as str()) or the error text."""
    stdout: str = ""
    stderr: str = ""
    duration_ms: float = 0.0
    memory_edits: dict[str, str] = field(default_factory=dict)
    """New values of the agent's memory blocks, by label; only labels the agent has."""
    error: str | None = None
    """Letta's text: "Error executing function <name>: <ExcType>: <message>"."""
    cause: SandboxError | None = field(default=None, repr=False, compare=False)
    """The sandbox's own failure when the call ended because of one, rather than because of the tool."""

    @classmethod
    def failure(
        cls,
        name: str,
        exc_type: str,
        message: str,
        *,
        stdout: str = "",
        stderr: str = "",
        duration_ms: float = 0.0,
        cause: SandboxError | None = None,
    ) -> "ExecutionResult":
        """An error result; `cause` is the sandbox's own exception when that is why the call ended, so that the
        executor classifies the exception itself, never its class name."""
        error = f"Error executing function {name}: {exc_type}: {message}"
        return cls(
            status="error",
            func_return=error,
            stdout=stdout,
            stderr=stderr,
            duration_ms=duration_ms,
            error=error,
            cause=cause,
        )


class Sandbox(Protocol):
    """A place to run custom Python tools. Implementations own their processes until `close()`.

    Each backend has its own typed config (`config_model`, a pydantic model: the stored `/v1/sandbox-config` of its
    type) and applies it to the invocation itself, so the executor never reads one backend's field names.
    """

    config_model: ClassVar[type[BaseModel]]

    async def run(self, invocation: ToolInvocation, config: Any = None) -> ExecutionResult: ...

    async def close(self) -> None: ...


@runtime_checkable
class Startable(Protocol):
    """A backend with work to do before its first call (connect to an engine, check its confinement, clean up
    what an earlier run left): the server calls `start()` in the background at start-up and logs a SandboxError
    it raises as "unavailable"; calls then fail with the same reason."""

    async def start(self) -> None: ...


def merge_environment(
    server_env: Mapping[str, str],
    sandbox_config_env: Mapping[str, str] | None = None,
    agent_env: Mapping[str, str] | None = None,
    call_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A tool's environment, lowest precedence first: a few server variables, then the sandbox config's,
    the agent's and the call's own variables (later wins).

    Unlike Letta, which starts from a copy of the server's whole environment, only `SERVER_ENV_ALLOWED` is taken
    from the server, so no server secret reaches a tool. HOME is left to the backend, which points it at the
    call's working directory.
    """
    merged = {key: server_env[key] for key in SERVER_ENV_ALLOWED if key in server_env}
    for layer in (sandbox_config_env, agent_env, call_env):
        merged.update(layer or {})
    return merged
