"""Sandbox configuration shapes (Letta's `LocalSandboxConfig` / `E2BSandboxConfig`, plus `docker`).

A config body is an untagged object in Letta's API; `parse_sandbox_config` decides its type by an explicit
`type` key when present, else by the keys only one type has (Letta's own union picks `local` for ambiguous
bodies, which we keep).
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolhub.errors import InvalidInputError

SandboxType = Literal["local", "docker", "e2b"]
DEFAULT_TIMEOUT_S = 60


class PipRequirement(BaseModel):
    name: str = Field(min_length=1, description="Package name on PyPI.")
    version: str | None = Field(default=None, description="Exact version; latest when omitted.")

    def __str__(self) -> str:
        return f"{self.name}=={self.version}" if self.version else self.name


def requirement_strings(stored: Any) -> tuple[str, ...]:
    """Requirements as stored (`{name, version}` objects, or E2B's plain strings) as installer arguments."""
    return tuple(req if isinstance(req, str) else str(PipRequirement.model_validate(req)) for req in stored or ())


class LocalSandboxConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sandbox_dir: str | None = Field(default=None, description="Letta's TOOL_EXEC_DIR: importable, read-only.")
    use_venv: bool = False
    venv_name: str = "venv"
    pip_requirements: list[PipRequirement] = Field(default_factory=list)
    timeout: int = Field(default=DEFAULT_TIMEOUT_S, ge=1, description="Seconds per call.")
    allow_network: bool = Field(default=False, description="Let tools open network connections.")
    memory_mb: int = Field(default=512, ge=32)


class DockerSandboxConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    image: str | None = Field(default=None, description="Base image; the built-in sandbox image when omitted.")
    memory_mb: int = Field(default=256, ge=32)
    cpus: float = Field(default=1.0, gt=0)
    pids_limit: int = Field(default=64, ge=8)
    network: bool = Field(default=False, description="Attach a network (none by default).")
    timeout: int = Field(default=DEFAULT_TIMEOUT_S, ge=1)
    pool_size: int = Field(default=2, ge=1, le=32)
    pip_requirements: list[PipRequirement] = Field(default_factory=list)
    sandbox_dir: str | None = Field(default=None, description="Mounted read-only at the same path when set.")
    tmp_mb: int = Field(default=64, ge=8, le=4096, description="Size of the tmpfs at /tmp, the only writable place.")


class E2BSandboxConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timeout: int = Field(default=300, ge=1, description="Sandbox lifetime in seconds.")
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


def infer_sandbox_type(body: dict[str, Any]) -> str:
    declared = body.get("type")
    if declared is not None:
        if declared not in CONFIG_MODELS:
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
