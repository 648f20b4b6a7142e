"""Sandbox configuration shapes (Letta's `LocalSandboxConfig` / `E2BSandboxConfig`, plus `docker`).

A config body is an untagged object in Letta's API; `parse_sandbox_config` decides its type by an explicit
`type` key when present, else by the keys only one type has (Letta's own union picks `local` for ambiguous
bodies, which we keep).
"""

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolhub.errors import InvalidInputError
from toolhub.sandbox.base import ToolInvocation

SandboxType = Literal["local", "docker", "e2b"]
DEFAULT_TIMEOUT_S = 60
MAX_TIMEOUT_S = 86_400
"""A day: any longer is a mistake, and an unbounded number overflows the event loop's timer (a 500)."""
MAX_MEMORY_MB = 1_048_576
NO_NUL_PATTERN = r"^[^\x00]*$"
ENV_NAME_PATTERN = r"^[^=\x00]+$"
ENV_VALUE_PATTERN = NO_NUL_PATTERN
"""What a process environment can hold: a name without `=` or NUL, a value without NUL (paths neither)."""
ADMIN_ONLY = {"admin_only": True}
"""Marks a field that reaches outside the sandbox (a host directory, the network, any image): with it a user
could read the server's files or reach its database and cloud metadata, so only the server admin may set it."""


class PipRequirement(BaseModel):
    name: str = Field(min_length=1, description="Package name on PyPI.")
    version: str | None = Field(default=None, description="Exact version; latest when omitted.")

    def __str__(self) -> str:
        return f"{self.name}=={self.version}" if self.version else self.name


def requirement_strings(stored: Any) -> tuple[str, ...]:
    """Requirements as stored (`{name, version}` objects, or E2B's plain strings) as installer arguments."""
    return tuple(req if isinstance(req, str) else str(PipRequirement.model_validate(req)) for req in stored or ())


def _shaped(
    invocation: ToolInvocation,
    *,
    timeout: int,
    memory_mb: int,
    requirements: Iterable[PipRequirement],
    network: bool,
    sandbox_dir: str | None,
) -> ToolInvocation:
    """An invocation under a config: the tool's own timeout over the config's, the config's memory, its
    requirements before the tool's, its network grant and sandbox_dir."""
    limits = replace(invocation.limits, timeout_s=float(invocation.timeout_s or timeout), memory_mb=memory_mb)
    return replace(
        invocation,
        pip_requirements=(*(str(r) for r in requirements), *invocation.pip_requirements),
        limits=limits,
        allow_network=invocation.allow_network or network,
        sandbox_dir=Path(sandbox_dir) if sandbox_dir else invocation.sandbox_dir,
    )


class LocalSandboxConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sandbox_dir: str | None = Field(
        default=None,
        pattern=NO_NUL_PATTERN,
        description="Letta's TOOL_EXEC_DIR: importable, read-only (admin only).",
        json_schema_extra=ADMIN_ONLY,
    )
    use_venv: bool = False
    venv_name: str = "venv"
    pip_requirements: list[PipRequirement] = Field(default_factory=list)
    timeout: int = Field(default=DEFAULT_TIMEOUT_S, ge=1, le=MAX_TIMEOUT_S, description="Seconds per call.")
    allow_network: bool = Field(
        default=False, description="Let tools open network connections (admin only).", json_schema_extra=ADMIN_ONLY
    )
    memory_mb: int = Field(default=512, ge=32, le=MAX_MEMORY_MB)

    def applied_to(self, invocation: ToolInvocation) -> ToolInvocation:
        return _shaped(
            invocation,
            timeout=self.timeout,
            memory_mb=self.memory_mb,
            requirements=self.pip_requirements,
            network=self.allow_network,
            sandbox_dir=self.sandbox_dir,
        )


class DockerSandboxConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    image: str | None = Field(
        default=None,
        pattern=NO_NUL_PATTERN,
        description="Base image; the built-in sandbox image when omitted (admin only).",
        json_schema_extra=ADMIN_ONLY,
    )
    memory_mb: int = Field(default=256, ge=32, le=MAX_MEMORY_MB)
    cpus: float = Field(default=1.0, gt=0, le=1024)
    pids_limit: int = Field(default=64, ge=8, le=4_194_304)
    network: bool = Field(
        default=False, description="Attach a network (none by default; admin only).", json_schema_extra=ADMIN_ONLY
    )
    timeout: int = Field(default=DEFAULT_TIMEOUT_S, ge=1, le=MAX_TIMEOUT_S)
    pool_size: int = Field(default=2, ge=1, le=32)
    pip_requirements: list[PipRequirement] = Field(default_factory=list)
    sandbox_dir: str | None = Field(
        default=None,
        pattern=NO_NUL_PATTERN,
        description="Mounted read-only at the same path when set (admin only).",
        json_schema_extra=ADMIN_ONLY,
    )
    tmp_mb: int = Field(default=64, ge=8, le=4096, description="Size of the tmpfs at /tmp, the only writable place.")

    def applied_to(self, invocation: ToolInvocation) -> ToolInvocation:
        """What an invocation can carry; image, cpus, pids_limit, tmp_mb and pool_size the Docker sandbox reads
        from the config itself."""
        return _shaped(
            invocation,
            timeout=self.timeout,
            memory_mb=self.memory_mb,
            requirements=self.pip_requirements,
            network=self.network,
            sandbox_dir=self.sandbox_dir,
        )


class E2BSandboxConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timeout: int = Field(default=300, ge=1, le=MAX_TIMEOUT_S, description="Sandbox lifetime in seconds.")
    template: str | None = None
    pip_requirements: list[str] | None = None


CONFIG_MODELS: dict[str, type[BaseModel]] = {
    "local": LocalSandboxConfig,
    "docker": DockerSandboxConfig,
    "e2b": E2BSandboxConfig,
}
_ONLY_IN = {
    "e2b": {"template"},
    "docker": {"image", "cpus", "pids_limit", "network", "pool_size", "tmp_mb"},
}


def admin_only_changes(sandbox_type: str, config: Mapping[str, Any], stored: Mapping[str, Any]) -> list[str]:
    """The admin-only fields a normalized `config` sets to a value that is neither the default nor what `stored`
    (the config it replaces) already has: going back to the default, or keeping the admin's value, is no change."""
    model = CONFIG_MODELS[sandbox_type]
    default = model().model_dump()
    return [
        name
        for name, field in model.model_fields.items()
        if field.json_schema_extra == ADMIN_ONLY
        and name in config
        and config[name] != default[name]
        and config[name] != stored.get(name, default[name])
    ]


def infer_sandbox_type(body: dict[str, Any]) -> str:
    declared = body.get("type")
    if declared is not None:
        if not isinstance(declared, str) or declared not in CONFIG_MODELS:
            raise InvalidInputError(f"Unknown sandbox type {declared!r}; use one of {sorted(CONFIG_MODELS)}")
        return declared
    for sandbox_type, keys in _ONLY_IN.items():
        if keys & body.keys():
            return sandbox_type
    return "local"


def parse_sandbox_config(body: dict[str, Any], sandbox_type: str | None = None) -> tuple[str, dict[str, Any]]:
    """(type, normalised config dict) for a request body; 400 naming the field when invalid."""
    sandbox_type = sandbox_type or infer_sandbox_type(body)
    try:
        model = CONFIG_MODELS[sandbox_type].model_validate({k: v for k, v in body.items() if k != "type"})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise InvalidInputError(f"Invalid {sandbox_type} sandbox config: {problems}") from None
    return sandbox_type, model.model_dump()
