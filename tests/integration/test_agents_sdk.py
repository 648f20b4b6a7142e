"""Agents and memory blocks through both official SDKs against a real server: letta-client 0.1.197 in-process,
letta-client 1.12.1 in its own virtualenv (`tests.support.sdk1`)."""

import uuid

import pytest
from letta_client import CreateBlock, Letta
from letta_client.core.api_error import ApiError

from tests.support.sdk1 import run_letta1
from tests.support.server import ServerProcess

SECRET_TOOL = '''def {name}() -> str:
    """Return the SECRET variable of the tool's environment."""
    import os
    return os.environ.get("SECRET", "<unset>")
'''


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def letta(server: ServerProcess) -> Letta:
    return Letta(base_url=server.base_url)


def test_sdk_0_1_agent_lifecycle(letta: Letta):
    tool = letta.tools.create(source_code=SECRET_TOOL.format(name=unique("secret")))
    name = unique("legacy")
    agent = letta.agents.create(
        name=name,
        memory_blocks=[CreateBlock(label="human", value="The user is Ada."), CreateBlock(label="persona", value="Me")],
        tools=[tool.name],
        tool_exec_environment_variables={"SECRET": "s3c"},
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
    )
    assert agent.agent_type == "memgpt_agent" and agent.name == name
    assert [t.name for t in agent.tools] == [
        "send_message", "conversation_search", "core_memory_append", "core_memory_replace", tool.name
    ]
    assert [b.label for b in agent.memory.blocks] == ["human", "persona"]
    assert [(v.key, v.value) for v in agent.tool_exec_environment_variables] == [("SECRET", "s3c")]
    assert agent.llm_config.model == "gpt-4o-mini" and agent.embedding_config.embedding_dim == 1536
    assert len(agent.message_ids) == 1

    again = letta.agents.retrieve(agent_id=agent.id)
    assert [t.id for t in again.tools] == [t.id for t in agent.tools] and again.tags == []
    assert [a.id for a in letta.agents.list(name=name)] == [agent.id]

    modified = letta.agents.modify(
        agent_id=agent.id, description="records", tags=["docs"], tool_exec_environment_variables={"OTHER": "x"}
    )
    assert modified.description == "records" and modified.tags == ["docs"]
    assert [v.key for v in modified.tool_exec_environment_variables] == ["OTHER"]

    human = letta.agents.blocks.retrieve(agent_id=agent.id, block_label="human")
    assert human.value == "The user is Ada." and human.limit == 100_000
    assert letta.agents.blocks.modify(agent_id=agent.id, block_label="human", value="Ada L.").value == "Ada L."
    assert [b.value for b in letta.agents.core_memory.retrieve(agent_id=agent.id).blocks] == ["Ada L.", "Me"]
    assert sorted(b.label for b in letta.agents.blocks.list(agent_id=agent.id)) == ["human", "persona"]

    notes = letta.blocks.create(label=unique("notes"), value="remember")
    assert letta.blocks.retrieve(block_id=notes.id).value == "remember"
    assert [b.id for b in letta.blocks.list(label=notes.label)] == [notes.id]
    with_notes = letta.agents.blocks.attach(agent_id=agent.id, block_id=notes.id)
    assert [b.label for b in with_notes.memory.blocks][-1] == notes.label
    assert [a.id for a in letta.blocks.agents.list(block_id=notes.id)] == [agent.id]
    assert letta.blocks.modify(block_id=notes.id, value="changed").value == "changed"

    detached = letta.agents.tools.detach(agent_id=agent.id, tool_id=tool.id)
    assert tool.name not in [t.name for t in detached.tools]
    attached = letta.agents.tools.attach(agent_id=agent.id, tool_id=tool.id)
    assert attached.tools[-1].name == tool.name
    assert tool.id in [t.id for t in letta.agents.tools.list(agent_id=agent.id)]

    count = letta.agents.count()
    letta.agents.delete(agent_id=agent.id)
    assert letta.agents.count() == count - 1
    with pytest.raises(ApiError) as missing:
        letta.agents.retrieve(agent_id=agent.id)
    assert missing.value.status_code == 404
    assert letta.blocks.retrieve(block_id=notes.id).value == "changed"  # not the agent's own block
    assert letta.blocks.delete(block_id=notes.id).id == notes.id


SDK1_SCRIPT = """
import json, sys
from letta_client import Letta

base_url, tool_source, name = sys.argv[1:4]
client = Letta(base_url=base_url, max_retries=0)
tool = client.tools.create(source_code=tool_source)
agent = client.agents.create(
    name=name,
    memory_blocks=[{"label": "human", "value": "The user writes docs."}, {"label": "persona", "value": "I help."}],
    tools=[tool.name],
    secrets={"SECRET": "s3c"},
    model="openai/gpt-4o-mini",
)
bare = client.agents.retrieve(agent.id)
full = client.agents.retrieve(agent.id, include=["agent.tools", "agent.blocks", "agent.secrets", "agent.tags"])
updated = client.agents.update(agent.id, description="docs agent", secrets={"SECRET": "n3w"}, tags=["docs"])
block = client.agents.blocks.retrieve("human", agent_id=agent.id)
changed = client.agents.blocks.update("human", agent_id=agent.id, value="The user is Ada.")
detached = client.agents.tools.detach(tool.id, agent_id=agent.id)
attached = client.agents.tools.attach(tool.id, agent_id=agent.id)
run = client.agents.tools.run(tool.name, agent_id=agent.id, args={})
notes = client.blocks.create(label=name + "_notes", value="remember")
with_notes = client.agents.blocks.attach(notes.id, agent_id=agent.id)
listed = [a.id for a in client.agents.list(name=name)]
tools_paged = [t.name for t in client.agents.tools.list(agent.id, limit=2)]
block_agents = [a.id for a in client.blocks.agents.list(notes.id)]
client.agents.delete(agent.id)
try:
    client.agents.retrieve(agent.id)
    gone = None
except Exception as exc:
    gone = getattr(exc, "status_code", None)
print(json.dumps({
    "id": agent.id,
    "agent_type": agent.agent_type,
    "created_tools": [t.name for t in agent.tools],
    "created_blocks": [b.label for b in agent.blocks],
    "created_secrets": [[s.key, s.value] for s in agent.secrets],
    "bare": [bare.tools, [b.label for b in bare.blocks], bare.secrets or [], bare.memory.blocks],
    "full": [[t.name for t in full.tools], [b.label for b in full.blocks], [[s.key, s.value] for s in full.secrets]],
    "updated": [updated.description, updated.tags, [[s.key, s.value] for s in updated.secrets]],
    "block": [block.label, block.value, block.limit],
    "changed": changed.value,
    "detached": detached,
    "attached": attached,
    "run": [run.status, run.func_return, run.agent_state],
    "with_notes": [b.label for b in with_notes.blocks],
    "listed": listed,
    "tools_paged": tools_paged,
    "block_agents": block_agents,
    "gone": gone,
}))
"""


def test_sdk_1x_agent_lifecycle(server: ServerProcess):
    name = unique("sdk1")
    tool_name = unique("secret")
    seen = run_letta1(SDK1_SCRIPT, server.base_url, SECRET_TOOL.format(name=tool_name), name)

    assert seen["agent_type"] == "letta_v1_agent"
    assert seen["created_tools"] == ["conversation_search", "memory_insert", "memory_replace", tool_name]
    assert seen["created_blocks"] == ["human", "persona"]
    assert seen["created_secrets"] == [["SECRET", "s3c"]]
    assert seen["bare"] == [[], [], [], []]
    assert seen["full"] == [seen["created_tools"], ["human", "persona"], [["SECRET", "s3c"]]]
    assert seen["updated"] == ["docs agent", ["docs"], [["SECRET", "n3w"]]]
    assert seen["block"] == ["human", "The user writes docs.", 100_000]
    assert seen["changed"] == "The user is Ada."
    assert seen["detached"] is None and seen["attached"] is None
    assert seen["run"] == ["success", "n3w", None]  # short values are not redacted
    assert seen["with_notes"] == ["human", "persona", name + "_notes"]
    assert seen["listed"] == [seen["id"]]
    assert sorted(seen["tools_paged"]) == sorted(seen["created_tools"])  # followed page by page
    assert seen["block_agents"] == [seen["id"]]
    assert seen["gone"] == 404
