"""No request is lost under load: every call of a burst of concurrent `POST /v1/tools/run` callers gets a 200 with
status "success", whether callers keep their connection or open one per call; and an idle keep-alive connection
stays usable for longer than clients' pools keep one (the race that lost requests: see `toolhub server --help`).

Behaviour only: speed is benchmarks/load.py's business.
"""

import asyncio
import http.client
import json
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.support.load import ADD_BODY, ADD_RETURN
from tests.support.server import ServerProcess, fresh_database_url

CALLERS = 30
BURST_S = 10.0
CLIENT_POOL_IDLE_S = 5.0
"""How long httpx (and so letta-client) keeps an idle connection for reuse."""


@pytest.fixture(scope="module")
def own_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own, so that no other test's sandbox configuration changes what the calls do."""
    home = tmp_path_factory.mktemp(f"load-{backend}")
    proc = ServerProcess(home, fresh_database_url(backend, home)).start()
    yield proc
    proc.stop()


def _outcome(response: httpx.Response) -> str:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    result = response.json()
    if result.get("status") != "success" or result.get("tool_return") != ADD_RETURN:
        return f"tool result: {json.dumps(result)[:200]}"
    return "success"


def _failure(exc: httpx.HTTPError) -> str:
    causes, cause = [], exc.__cause__
    while cause is not None:
        causes.append(repr(cause))
        cause = cause.__cause__
    return f"{type(exc).__name__}: {' <- '.join(causes) or repr(exc)}"


async def _caller(base_url: str, fresh: bool, deadline: float, outcomes: list[str]) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=0 if fresh else 1)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as http:
        while time.monotonic() < deadline:
            try:
                outcomes.append(_outcome(await http.post("/v1/tools/run", json=ADD_BODY)))
            except httpx.HTTPError as exc:
                outcomes.append(_failure(exc))


@pytest.mark.parametrize("fresh", [False, True], ids=["keepalive", "fresh-connection"])
async def test_every_call_of_a_burst_succeeds(own_server: ServerProcess, fresh: bool) -> None:
    with httpx.Client(base_url=own_server.base_url, timeout=120) as http:
        assert _outcome(http.post("/v1/tools/run", json=ADD_BODY)) == "success"  # the worker is up before the burst
    outcomes: list[str] = []
    deadline = time.monotonic() + BURST_S
    await asyncio.gather(*(_caller(own_server.base_url, fresh, deadline, outcomes) for _ in range(CALLERS)))

    failures = Counter(outcome for outcome in outcomes if outcome != "success")
    assert len(outcomes) >= CALLERS
    assert not failures, f"{sum(failures.values())} of {len(outcomes)} calls failed: {failures.most_common(5)}"


def test_an_idle_keep_alive_connection_outlives_client_pools(own_server: ServerProcess) -> None:
    """A client reuses a connection idle for up to CLIENT_POOL_IDLE_S; a server closing it sooner (uvicorn's
    default is 5 s too) races the request sent on it, which is then lost to a reset or a broken pipe."""
    connection = http.client.HTTPConnection("127.0.0.1", own_server.port, timeout=120)
    payload = json.dumps(ADD_BODY)
    headers = {"Content-Type": "application/json"}
    try:
        connection.request("POST", "/v1/tools/run", payload, headers)
        first = connection.getresponse()
        first.read()
        assert first.status == 200
        sock = connection.sock
        assert sock is not None, "the server asked to close the connection after one request"

        time.sleep(CLIENT_POOL_IDLE_S + 2)
        connection.request("POST", "/v1/tools/run", payload, headers)
        second = connection.getresponse()
        assert json.loads(second.read())["status"] == "success"
        assert connection.sock is sock, "the call went over a new connection"
    finally:
        connection.close()
