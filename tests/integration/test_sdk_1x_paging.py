"""The official letta-client 1.12.1 judges `GET /v1/tools` paging: its auto-pagination follows `after=<last id>`
(or `before=<first id>`) until an empty page, so a cursor the server ignores makes it loop forever.

It runs in a subprocess with a timeout (`tests.support.sdk1`): a loop fails the test instead of hanging it.
"""

import uuid

import httpx

from tests.support.sdk1 import run_letta1
from tests.support.server import ServerProcess

SCRIPT = """
import json, sys
from letta_client import Letta

base_url, user_id, name, search = sys.argv[1:5]
client = Letta(base_url=base_url, default_headers={"user_id": user_id}, max_retries=0)
ids = lambda pager: [tool.id for tool in pager]
print(json.dumps({
    "by_name": ids(client.tools.list(name=name)),
    "all_by_two": ids(client.tools.list(limit=2)),
    "asc_by_three": ids(client.tools.list(limit=3, order="asc")),
    "search_by_two": ids(client.tools.list(search=search, tool_types=["custom"], limit=2)),
    "missing_name": ids(client.tools.list(name=name + "_absent")),
}))
"""


def adder_source(name: str) -> str:
    docstring = '"""Add.\n\n    Args:\n        a: A.\n        b: B.\n    """'
    return f"def {name}(a: int, b: int) -> int:\n    {docstring}\n    return a + b\n"


def test_sdk_1x_auto_pagination_sees_each_tool_once(server: ServerProcess, client: httpx.Client):
    org = client.post("/v1/admin/orgs", json={"name": f"sdk1_{uuid.uuid4().hex[:8]}"}).json()
    user = client.post("/v1/admin/users", json={"name": "sdk1", "organization_id": org["id"]}).json()
    prefix = f"sdk1_{uuid.uuid4().hex[:8]}"
    with server.client(user_id=user["id"]) as http:
        sources = [adder_source(f"{prefix}_{n}") for n in range(5)]
        created = [http.post("/v1/tools", json={"source_code": source}).json() for source in sources]
        newest_first = [t["id"] for t in http.get("/v1/tools", params={"limit": 10_000}).json()]

    seen = run_letta1(SCRIPT, server.base_url, user["id"], created[2]["name"], prefix.upper())

    assert seen["by_name"] == [created[2]["id"]]
    assert seen["missing_name"] == []
    assert seen["all_by_two"] == newest_first and len(newest_first) == 5 + 22  # the base tools too
    assert seen["asc_by_three"] == newest_first[::-1]
    assert seen["search_by_two"] == [t["id"] for t in reversed(created)]
