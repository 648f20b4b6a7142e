"""Attacks on schema derivation over HTTP with an ordinary user's API key, against a real server.

A source whose types must be evaluated is loaded in a confined child: it cannot read the host's files or
the server's database, and what it says back is capped. Such derivations are bounded per user and in
total, so looping sources cannot delay tool calls, and a caller over the bound gets a 429.
"""

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess, fresh_database_url
from toolhub.tools.registry import DerivationBounds
from toolhub.tools.schema.probe import DESCRIPTION_CHARS

PASSWORD = "schema-admin-password"

ADD = '''def add_numbers(a: int, b: int) -> int:
    """Add two integers and return the sum.

    Args:
        a (int): The first integer.
        b (int): The second integer.
    """
    return a + b
'''

MODEL_TOOL = '''{head}
from typing import Annotated
from pydantic import BaseModel, Field


class Point(BaseModel):
    x: int


def {name}(point: Annotated[Point, Field(description={description})]) -> str:
    """Move to a point.

    Args:
        point: Where to go.
    """
    return "ok"
'''


def model_tool(head: str = "", description: str = "'Where to go.'") -> str:
    return MODEL_TOOL.format(head=head, name=f"move_{uuid.uuid4().hex[:8]}", description=description)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("schema-home")
    proc = ServerProcess(home, fresh_database_url("sqlite", home), TOOLHUB_SERVER_PASSWORD=PASSWORD).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def admin(secured: ServerProcess) -> Iterator[httpx.Client]:
    with secured.client(Authorization=f"Bearer {PASSWORD}") as http:
        yield http


def new_user(secured: ServerProcess, admin: httpx.Client, organization_id: str | None = None) -> httpx.Client:
    """A client acting with a fresh ordinary user's API key (the caller closes it)."""
    user = admin.post("/v1/admin/users", json={"name": "u", "organization_id": organization_id}).json()
    key = admin.post(f"/v1/admin/users/{user['id']}/api-keys", json={"name": "k"}).json()["key"]
    return secured.client(Authorization=f"Bearer {key}")


@pytest.fixture
def user(secured: ServerProcess, admin: httpx.Client) -> Iterator[httpx.Client]:
    with new_user(secured, admin) as http:
        yield http


@pytest.mark.parametrize(
    "source",
    [
        model_tool(description="open('/etc/shadow').read()"),
        model_tool(head="raise Exception(open('/etc/passwd').read())"),
        model_tool(head="import os\nraise Exception(repr([open(p).read() for p in os.listdir('/etc')]))"),
    ],
    ids=["shadow in a description", "passwd raised at import", "all of /etc"],
)
@pytest.mark.parametrize("route", ["/v1/tools/", "/v1/tools/generate-schema"])
def test_host_files_never_reach_the_client(user: httpx.Client, source: str, route: str) -> None:
    assert Path("/etc/passwd").read_text().startswith("root:")  # the server itself could read them
    body = {"source_code": source} if route == "/v1/tools/" else {"code": source}
    response = user.post(route, json=body)
    assert response.status_code == 400
    assert "root:" not in response.text and "nologin" not in response.text
    assert "No such file or directory" in response.json()["detail"]


def test_the_servers_database_never_reaches_the_client(
    secured: ServerProcess, admin: httpx.Client, user: httpx.Client
) -> None:
    marker = f"other-org-secret-{uuid.uuid4().hex}"
    org = admin.post("/v1/admin/orgs", json={"name": "victims"}).json()
    with new_user(secured, admin, org["id"]) as victim:
        created = victim.post("/v1/tools/", json={"source_code": ADD.replace("Add two", f"{marker}. Add two")})
        assert created.status_code == 200, created.text
    on_disk = b"".join(path.read_bytes() for path in secured.home.iterdir() if path.name.startswith("toolhub.db"))
    assert marker.encode() in on_disk  # what a reader of TOOLHUB_HOME would find
    home = str(secured.home)
    steal = (
        "import os\n"
        f"raise Exception(repr([open(os.path.join({home!r}, n), 'rb').read() for n in os.listdir({home!r})]))"
    )
    response = user.post("/v1/tools/", json={"source_code": model_tool(head=steal)})
    assert response.status_code == 400
    assert marker not in response.text and "SQLite format" not in response.text
    assert "No such file or directory" in response.json()["detail"]


def test_a_long_description_comes_back_capped(user: httpx.Client) -> None:
    response = user.post("/v1/tools/generate-schema", json={"code": model_tool(description="'d' * 100_000")})
    assert response.status_code == 200, response.text
    description = response.json()["parameters"]["properties"]["point"]["description"]
    assert len(description) == DESCRIPTION_CHARS and description.startswith("ddd")


NESTED = {
    "parentheses": "(" * 100_000,
    "unary minus": "-" * 100_000 + "1",
    "long chain": "x = " + "1|" * 100_000 + "1",
    "annotation": f"def f(x: {' | '.join(['int'] * 900)}):\n  pass",
}


@pytest.mark.parametrize("source", NESTED.values(), ids=NESTED.keys())
def test_deeply_nested_sources_are_400(user: httpx.Client, source: str) -> None:
    for route, body in (("/v1/tools/", {"source_code": source}), ("/v1/tools/generate-schema", {"code": source})):
        response = user.post(route, json=body)
        assert response.status_code == 400, response.text


LOOP = "while True:\n    pass"


def test_looping_derivations_do_not_delay_tool_calls(secured: ServerProcess, admin: httpx.Client) -> None:
    """Sixteen looping derivations from eight users: at most `total` run (each until its timeout), the rest
    get a 429 after a short wait, and a trivial tool run meanwhile answers promptly."""
    bounds = DerivationBounds()
    users = [new_user(secured, admin) for _ in range(8)]
    with new_user(secured, admin) as runner, ThreadPoolExecutor(16) as pool:
        run = {"source_code": ADD, "args": {"a": 2, "b": 1}}
        assert runner.post("/v1/tools/run", json=run).json()["tool_return"] == "3"  # sandbox warm
        loops = [
            pool.submit(users[i % 8].post, "/v1/tools/", json={"source_code": model_tool(LOOP)}) for i in range(16)
        ]
        time.sleep(1.0)  # all sixteen are in: two loading their source, the others waiting for a slot
        started = time.monotonic()
        result = runner.post("/v1/tools/run", json=run)
        elapsed = time.monotonic() - started
        still_looping = not all(loop.done() for loop in loops)
        responses = [loop.result() for loop in loops]
    for http in users:
        http.close()
    assert result.status_code == 200 and result.json()["tool_return"] == "3"
    assert elapsed < 5, f"a trivial tool run took {elapsed:.1f} s while schemas were being derived"
    assert still_looping
    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {400, 429}, statuses
    assert statuses.count(400) <= bounds.total
    stopped = [response.json()["detail"] for response in responses if response.status_code == 400]
    assert all("timed out" in detail or "CPU time" in detail for detail in stopped), stopped
    busy = [response for response in responses if response.status_code == 429]
    assert len(busy) >= 16 - bounds.total
    assert all(f"Retry in {bounds.retry_after_seconds} s" in response.json()["detail"] for response in busy)


def test_one_derivation_at_a_time_per_user(user: httpx.Client) -> None:
    slow = model_tool("import time\ntime.sleep(5)")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(user.post, "/v1/tools/generate-schema", json={"code": slow})
        time.sleep(0.5)
        second = user.post("/v1/tools/generate-schema", json={"code": model_tool()})
        assert first.result().status_code == 200
    assert second.status_code == 429
    assert "you already have 1" in second.json()["detail"]
    assert user.post("/v1/tools/generate-schema", json={"code": model_tool()}).status_code == 200  # slot freed
    assert second.headers["retry-after"] == str(DerivationBounds().retry_after_seconds)
