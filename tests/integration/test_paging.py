"""Every list route pages the same way: keyset cursors (`after`/`before`), `limit`, `order`, filters ANDed, and
unknown query parameters refused. Raw HTTP against a real server, on both backends.

Each test works in an organization of its own (created through the admin routes and acted as with the `user_id`
header), so the shared server's other tools do not show up in its lists.
"""

import uuid

import httpx
import pytest

from tests.support.server import ServerProcess

MAX_PAGES = 100


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def adder_source(name: str) -> str:
    return (
        f"def {name}(a: int, b: int) -> int:\n"
        '    """Add two integers.\n\n    Args:\n        a (int): The first.\n        b (int): The second.\n\n'
        '    Returns:\n        int: The sum.\n    """\n    return a + b\n'
    )


def walk(http: httpx.Client, path: str, cursor: str = "after", **params) -> list[list[dict]]:
    """Follow `cursor` the way letta-client 1.x does (last id forwards, first id backwards) until an empty page."""
    pages: list[list[dict]] = []
    for _ in range(MAX_PAGES):
        response = http.get(path, params=params)
        assert response.status_code == 200, response.text
        items = response.json()
        if not items:
            return pages
        pages.append(items)
        params[cursor] = items[-1]["id"] if cursor == "after" else items[0]["id"]
    raise AssertionError(f"{path} still had items after {MAX_PAGES} pages: the cursor does not advance")


def ids(items: list[dict]) -> list[str]:
    return [item["id"] for item in items]


@pytest.fixture
def tenant(server: ServerProcess, client: httpx.Client) -> httpx.Client:
    """A client acting as the only user of a fresh organization."""
    org = client.post("/v1/admin/orgs", json={"name": unique("paging")}).json()
    user = client.post("/v1/admin/users", json={"name": "pager", "organization_id": org["id"]}).json()
    with server.client(user_id=user["id"]) as http:
        assert len(http.get("/v1/tools").json()) == 22  # the first list seeds the base tools: older than ours
        yield http


@pytest.fixture
def my_tools(tenant: httpx.Client) -> list[dict]:
    """Twelve custom tools with one unique name prefix, in creation order."""
    prefix = unique("pg")
    created = []
    for n in range(12):
        response = tenant.post("/v1/tools", json={"source_code": adder_source(f"{prefix}_{n:02d}")})
        assert response.status_code == 200, response.text
        created.append(response.json())
    return created


def prefix_of(tools: list[dict]) -> str:
    return tools[0]["name"].rsplit("_", 1)[0]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_tools_page_after_until_empty_each_once_in_order(tenant, my_tools, order):
    full = tenant.get("/v1/tools", params={"limit": 10_000, "order": order}).json()
    assert len(full) == len(my_tools) + 22 and len(set(ids(full))) == len(full)  # with the base tools
    pages = walk(tenant, "/v1/tools", limit=3, order=order)
    assert all(len(page) <= 3 for page in pages)
    assert [item for page in pages for item in page] == full
    mine = [item for item in full if item["name"].startswith(prefix_of(my_tools))]
    expected = ids(my_tools) if order == "asc" else ids(my_tools)[::-1]
    assert ids(mine) == expected
    assert ids(walk(tenant, "/v1/tools", limit=3, order=order, search=prefix_of(my_tools))[0]) == expected[:3]


def test_tools_default_to_newest_first_with_limit_50(tenant, my_tools):
    listed = tenant.get("/v1/tools").json()
    assert len(listed) == 34
    assert listed == tenant.get("/v1/tools", params={"order": "desc", "limit": 50, "order_by": "created_at"}).json()
    assert ids(listed)[0] == my_tools[-1]["id"]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_tools_page_before_backwards(tenant, my_tools, order):
    prefix = prefix_of(my_tools)
    full = ids(tenant.get("/v1/tools", params={"search": prefix, "order": order}).json())
    pages = walk(tenant, "/v1/tools", cursor="before", limit=5, order=order, search=prefix, before=full[-1])
    assert [len(page) for page in pages] == [5, 5, 1]
    assert [item for page in reversed(pages) for item in ids(page)] == full[:-1]
    after_and_before = {"search": prefix, "order": order, "after": full[2], "before": full[7], "limit": 10}
    assert ids(tenant.get("/v1/tools", params=after_and_before).json()) == full[3:7]


def test_name_filter_ends_the_sdk_loop(tenant, my_tools):
    target = my_tools[4]
    pages = walk(tenant, "/v1/tools", name=target["name"])
    assert [ids(page) for page in pages] == [[target["id"]]]
    assert tenant.get("/v1/tools", params={"name": target["name"], "after": target["id"]}).json() == []
    assert tenant.get("/v1/tools", params={"name": unique("absent")}).json() == []


def test_names_search_and_tool_types_combine_with_cursors(tenant, my_tools):
    prefix = prefix_of(my_tools)
    chosen = [my_tools[n] for n in (1, 3, 5, 8, 10)]
    by_names = walk(tenant, "/v1/tools", limit=2, order="asc", names=[t["name"] for t in chosen])
    assert [ids(page) for page in by_names] == [ids(chosen[:2]), ids(chosen[2:4]), ids(chosen[4:])]
    comma = {"tool_ids": ",".join(ids(chosen)), "order": "asc"}  # as Letta: ids and types, not names
    assert ids(tenant.get("/v1/tools", params=comma).json()) == ids(chosen)

    searched = walk(tenant, "/v1/tools", limit=4, order="desc", search=prefix.upper(), tool_types="custom")
    assert [item for page in searched for item in ids(page)] == ids(my_tools)[::-1]
    assert walk(tenant, "/v1/tools", search=prefix, tool_types="letta_core") == []
    assert walk(tenant, "/v1/tools", search=prefix, exclude_tool_types=["custom"]) == []

    both = {"names": [t["name"] for t in chosen], "tool_ids": ids(my_tools[:4]), "order": "asc"}
    assert ids(tenant.get("/v1/tools", params=both).json()) == ids([my_tools[1], my_tools[3]])

    letta_only = walk(tenant, "/v1/tools", limit=7, return_only_letta_tools="true")
    flat = [item for page in letta_only for item in page]
    assert len(flat) == 22 and all(item["tool_type"].startswith("letta_") for item in flat)
    custom_and_cursor = {"tool_types": ["custom"], "after": my_tools[5]["id"], "order": "asc", "limit": 100}
    assert ids(tenant.get("/v1/tools", params=custom_and_cursor).json()) == ids(my_tools[6:])


def test_search_is_a_literal_substring(tenant, my_tools):
    assert tenant.get("/v1/tools", params={"search": "%"}).json() == []
    underscored = tenant.get("/v1/tools", params={"search": f"{prefix_of(my_tools)}_1", "order": "asc"}).json()
    assert ids(underscored) == ids(my_tools[10:])


def test_unknown_cursor_gives_the_first_page(tenant, my_tools):
    first = tenant.get("/v1/tools", params={"limit": 3}).json()
    missing = f"tool-{uuid.uuid4()}"
    assert tenant.get("/v1/tools", params={"limit": 3, "after": missing}).json() == first
    assert tenant.get("/v1/tools", params={"limit": 3, "before": missing}).json() == first


def test_unknown_query_parameter_is_a_400_naming_it(tenant, client):
    response = tenant.get("/v1/tools", params={"nme": "x"})
    assert response.status_code == 400
    assert "'nme'" in response.json()["detail"] and "name" in response.json()["detail"]
    for path in ("/v1/sandbox-config", "/v1/admin/users", "/v1/admin/orgs", "/v1/tools/mcp/servers/none/tools"):
        response = client.get(path, params={"limit_": 2})
        assert response.status_code == 400 and "'limit_'" in response.json()["detail"], path
    assert tenant.get("/v1/tools", params={"order": "sideways"}).status_code == 422
    assert tenant.get("/v1/tools", params={"limit": 10_001}).status_code == 422


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_sandbox_env_vars_page(tenant, order):
    config = tenant.post("/v1/sandbox-config/local/default").json()
    path = f"/v1/sandbox-config/{config['id']}/environment-variable"
    created = [tenant.post(path, json={"key": f"K{n}", "value": str(n)}).json() for n in range(7)]
    expected = ids(created) if order == "asc" else ids(created)[::-1]
    assert ids(tenant.get(path).json()) == ids(created)  # Letta's default: oldest first
    pages = walk(tenant, path, limit=3, order=order)
    assert [ids(page) for page in pages] == [expected[:3], expected[3:6], expected[6:]]
    backwards = walk(tenant, path, cursor="before", limit=4, order=order, before=expected[-1])
    assert [ids(page) for page in backwards] == [expected[2:6], expected[:2]]
    assert tenant.get(path, params={"reveal": "true", "limit": 1}).json()[0]["value"] == "0"
    assert tenant.get(path, params={"revael": "true"}).status_code == 400
    configs = walk(tenant, "/v1/sandbox-config", limit=1, sandbox_type="local")
    assert [ids(page) for page in configs] == [[config["id"]]]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_admin_users_and_keys_page(client, order):
    org = client.post("/v1/admin/orgs", json={"name": unique("people")}).json()
    new_user = {"organization_id": org["id"]}
    users = [client.post("/v1/admin/users", json={**new_user, "name": f"u{n}"}).json() for n in range(5)]
    full = client.get("/v1/admin/users", params={"limit": 10_000, "order": order}).json()
    pages = walk(client, "/v1/admin/users", limit=2, order=order)
    assert [item for page in pages for item in page] == full
    mine = [item["id"] for item in full if item["organization_id"] == org["id"]]
    assert mine == (ids(users) if order == "asc" else ids(users)[::-1])
    orgs = walk(client, "/v1/admin/orgs", limit=2, order=order)
    assert [item for page in orgs for item in page] == client.get("/v1/admin/orgs", params={"order": order}).json()

    keys_path = f"/v1/admin/users/{users[0]['id']}/api-keys"
    keys = [client.post(keys_path, json={"name": f"k{n}"}).json() for n in range(3)]
    expected = ids(keys) if order == "asc" else ids(keys)[::-1]
    assert [ids(page) for page in walk(client, keys_path, limit=2, order=order)] == [expected[:2], expected[2:]]
    assert client.get(f"/v1/admin/users/{users[1]['id']}/api-keys", params={"after": keys[0]["id"]}).json() == []
