"""Server-sent events for a message stream, as both SDK generations parse them: one `data: <json>` line per
event; errors and cancellation as named events (`event: error`), which the 1.x SDK skips and 0.1.x ignores;
`data: [DONE]` last.

With token streaming, the model's answer goes out in pieces that share the id of the row it becomes: reasoning
and plain text as they arrive, and tool-call argument fragments that concatenate to the call's exact arguments
(the loop sends none for agents whose calls carry inner thoughts). Whatever was not streamed in pieces is sent
whole when the step is committed.
"""

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel

from toolhub.agent.loop import TokenDelta
from toolhub.agent.views import otid
from toolhub.server.schemas.messages import AssistantMessage, ReasoningMessage, ToolCall, ToolCallMessage

DONE = "data: [DONE]\n\n"


def data_event(model: BaseModel | dict[str, Any]) -> str:
    payload = model if isinstance(model, dict) else model.model_dump(mode="json")
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def named_event(name: str, model: BaseModel) -> str:
    return f"event: {name}\ndata: {json.dumps(model.model_dump(mode='json'), ensure_ascii=False)}\n\n"


class TokenChunks:
    """Turns token deltas into Letta message chunks and remembers which parts of a row went out in pieces."""

    def __init__(self, *, run_id: str | None) -> None:
        self._run_id = run_id
        self.streamed: set[tuple[str, str]] = set()
        """(row id, message_type) pairs already sent in pieces."""

    def chunks(self, event: TokenDelta) -> Iterable[BaseModel]:
        delta = event.delta
        common = {
            "id": event.message_id,
            "date": datetime.now(timezone.utc).replace(microsecond=0),
            "step_id": event.step_id,
            "run_id": self._run_id,
        }
        if delta.reasoning:
            self.streamed.add((event.message_id, "reasoning_message"))
            yield ReasoningMessage(**common, otid=otid(event.message_id, 0), reasoning=delta.reasoning)
        if delta.content:
            self.streamed.add((event.message_id, "assistant_message"))
            yield AssistantMessage(**common, otid=otid(event.message_id, 1), content=delta.content)
        if delta.tool_call_index is not None:
            self.streamed.add((event.message_id, "tool_call_message"))
            call = ToolCall(name=delta.tool_name, arguments=delta.arguments, tool_call_id=delta.tool_call_id)
            yield ToolCallMessage(**common, otid=otid(event.message_id, 2), tool_call=call, tool_calls=call)

    def unsent(self, views: Iterable[Any]) -> list[Any]:
        return [view for view in views if (view.id, view.message_type) not in self.streamed]
