"""Runs and steps as both SDK generations read them (Letta 0.8's `Run` job shape and Letta 0.16's)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from toolhub.mcp_bridge.netguard import url_refusal
from toolhub.server.schemas.messages import LettaRequest


class Run(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    agent_id: str
    status: Literal["created", "running", "completed", "failed", "cancelled"]
    stop_reason: str | None = None
    background: bool | None = None
    metadata: dict[str, Any] | None = Field(default=None, validation_alias="metadata_")
    request_config: dict[str, Any] | None = None
    callback_url: str | None = None
    callback_sent_at: datetime | None = None
    callback_status_code: int | None = None
    callback_error: str | None = None
    completed_at: datetime | None = None
    total_duration_ns: int | None = None
    ttft_ns: int | None = None
    job_type: Literal["run"] = "run"
    conversation_id: str | None = None
    base_template_id: str | None = None
    created_at: datetime
    updated_at: datetime | None = None
    created_by_id: str | None = None
    last_updated_by_id: str | None = None


class Step(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    agent_id: str | None = None
    run_id: str | None = None
    model: str | None = None
    request_id: str | None = Field(default=None, validation_alias="provider_request_id")
    """The provider's id of the completion."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    llm_ms: float | None = None
    """Time in the LLM call, as this server measured it."""
    tools_ms: float | None = None
    """Time in the step's tool calls."""
    stop_reason: str | None = None
    status: Literal["pending", "success", "failed", "cancelled"] = "success"
    tags: list[str] = Field(default_factory=list)
    messages: list[Any] = Field(default_factory=list)
    created_at: datetime | None = None


class RunUsage(BaseModel):
    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0
    step_count: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0


class LettaAsyncRequest(LettaRequest):
    """The body of `/messages/async`: a message request, and where to POST the run when it ends."""

    callback_url: str | None = None

    @field_validator("callback_url")
    @classmethod
    def _reachable(cls, value: str | None) -> str | None:
        if value is not None and (reason := url_refusal(value)):
            raise ValueError(f"callback_url refused: {reason}")
        return value


class CancelRequest(BaseModel):
    run_ids: list[str] | None = None
