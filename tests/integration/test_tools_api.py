"""`/v1/tools` through letta-client 0.1.197 and raw HTTP, against a real server."""

import uuid

import pytest
from letta_client import Letta
from letta_client.core.api_error import ApiError

from tests.support import example_tools

DEFAULT_USER = "user-00000000-0000-4000-8000-000000000000"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def adder_source(name: str, doc: str = "Add two integers and return the sum.") -> str:
    return (
        f"def {name}(a: int, b: int) -> int:\n"
        f'    """{doc}\n\n    Args:\n        a (int): The first integer.\n        b (int): The second integer.\n\n'
        '    Returns:\n        int: The sum of a and b.\n    """\n    return a + b\n'
    )


@pytest.fixture
def letta(server) -> Letta:
    return Letta(base_url=server.base_url)


def test_create_matches_letta_wire_sample(letta):
    name = unique("add")
    tool = letta.tools.create(source_code=adder_source(name))
    assert tool.id.startswith("tool-")
    assert tool.tool_type == "custom" and tool.source_type == "python" and tool.name == name
    assert tool.description == "Add two integers and return the sum."
    assert tool.json_schema == {
        "name": name,
        "description": "Add two integers and return the sum.",
        "parameters": {
            "type": "object",
            "properties": {
                "a": {"type": "integer", "description": "The first integer."},
                "b": {"type": "integer", "description": "The second integer."},
            },
            "required": ["a", "b"],
        },
    }
    assert tool.return_char_limit == 6000 and tool.tags == [] and tool.metadata == {}
    assert tool.created_by_id == DEFAULT_USER == tool.last_updated_by_id


def test_wire_fields_and_strict_health(client):
    name = unique("add")
    body = client.post("/v1/tools/", json={"source_code": adder_source(name)}).json()
    for field in ("id", "tool_type", "description", "source_type", "name", "tags", "source_code", "json_schema",
                  "args_json_schema", "return_char_limit", "pip_requirements", "created_by_id",
                  "last_updated_by_id", "metadata_"):
        assert field in body
    assert body["schema_health"] == "STRICT_COMPLIANT"
    assert body["json_schema_strict"]["strict"] is True


def test_duplicate_name_is_409(letta, client):
    name = unique("dup")
    letta.tools.create(source_code=adder_source(name))
    response = client.post("/v1/tools/", json={"source_code": adder_source(name)})
    assert response.status_code == 409
    assert response.json() == {"detail": "Tool with this name already exists.", "code": "conflict"}


def test_create_from_function_roll_dice(letta):
    tool = letta.tools.upsert_from_function(func=example_tools.roll_dice)
    assert tool.name == "roll_dice"
    assert tool.json_schema["parameters"] == {"type": "object", "properties": {}, "required": []}
    assert tool.description.startswith("Simulate the roll of a 20-sided die (d20).\n\nThis function generates")


def test_create_from_function_creates_once(make_server):
    letta = Letta(base_url=make_server().base_url)
    tool = letta.tools.create_from_function(func=example_tools.roll_dice)
    assert tool.name == "roll_dice" and tool.source_code.startswith("def roll_dice() -> str:")
    with pytest.raises(ApiError) as err:
        letta.tools.create_from_function(func=example_tools.roll_dice)
    assert err.value.status_code == 409


def test_upsert_from_function_with_args_schema(letta):
    tool = letta.tools.upsert_from_function(func=example_tools.create_task_plan, args_schema=example_tools.StepsList)
    assert tool.name == "create_task_plan"
    params = tool.json_schema["parameters"]
    assert params["required"] == ["steps", "explanation"]
    steps = params["properties"]["steps"]
    assert steps["type"] == "array"
    assert steps["items"]["properties"]["name"]["description"] == "Name of the step."
    assert "$ref" not in str(tool.json_schema) and "$defs" not in str(tool.json_schema)
    again = letta.tools.upsert_from_function(func=example_tools.create_task_plan, args_schema=example_tools.StepsList)
    assert again.id == tool.id


def test_add_base_tool_subclass_manage_inventory(letta):
    tool = letta.tools.add(tool=example_tools.ManageInventoryTool())
    assert tool.name == "manage_inventory"
    assert tool.tags == ["inventory", "shop"]
    assert tool.description == "Update inventory catalogue with a new data entry"
    props = tool.json_schema["parameters"]["properties"]
    assert props["quantity_change"]["type"] == "integer"
    assert props["data"]["properties"]["item"]["properties"]["price"]["type"] == "number"
    assert tool.args_json_schema["title"] == "InventoryEntryData"


def test_create_from_source_file_check_order_status(letta):
    tool = letta.tools.upsert(source_code=example_tools.CHECK_ORDER_STATUS_SOURCE)
    assert tool.name == "check_order_status"
    orders = tool.json_schema["parameters"]["properties"]["orders"]
    assert orders["type"] == "array"
    assert orders["items"]["properties"]["order_number"] == {
        "type": "integer",
        "description": "The order number to check on.",
    }


def test_list_retrieve_modify_delete(letta):
    name = unique("crud")
    tool = letta.tools.create(source_code=adder_source(name))
    assert [t.id for t in letta.tools.list(name=name)] == [tool.id]
    assert letta.tools.list(name=unique("absent")) == []
    assert letta.tools.retrieve(tool.id).name == name

    modified = letta.tools.modify(tool.id, tags=["bench", "compat"], return_char_limit=5000,
                                  description="Adds two integers (modified).")
    assert modified.tags == ["bench", "compat"] and modified.return_char_limit == 5000
    assert modified.description == "Adds two integers (modified)."
    assert letta.tools.retrieve(tool.id).return_char_limit == 5000

    letta.tools.delete(tool.id)
    with pytest.raises(ApiError) as err:
        letta.tools.retrieve(tool.id)
    assert err.value.status_code == 404


def test_unknown_ids_are_404_on_every_route(client):
    missing = "tool-00000000-0000-4000-8000-00000000dead"
    assert client.get(f"/v1/tools/{missing}").status_code == 404
    assert client.patch(f"/v1/tools/{missing}", json={"tags": ["x"]}).status_code == 404
    assert client.delete(f"/v1/tools/{missing}").status_code == 404


def test_changing_source_renames_and_rederives(letta):
    name = unique("before")
    tool = letta.tools.create(source_code=adder_source(name))
    new_name = unique("after")
    renamed = letta.tools.modify(tool.id, source_code=adder_source(new_name, doc="Sum of two."))
    assert renamed.id == tool.id and renamed.name == new_name
    assert renamed.json_schema["name"] == new_name and renamed.json_schema["description"] == "Sum of two."


def test_rename_onto_existing_name_is_409(letta, client):
    taken = unique("taken")
    letta.tools.create(source_code=adder_source(taken))
    other = letta.tools.create(source_code=adder_source(unique("other")))
    response = client.patch(f"/v1/tools/{other.id}", json={"source_code": adder_source(taken)})
    assert response.status_code == 409
    assert letta.tools.retrieve(other.id).name == other.name


def test_upsert_keeps_id_and_updates(letta):
    name = unique("up")
    first = letta.tools.upsert(source_code=adder_source(name))
    second = letta.tools.upsert(source_code=adder_source(name, doc="Updated doc."), tags=["v2"])
    assert second.id == first.id and second.description == "Updated doc." and second.tags == ["v2"]


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("def nodoc(a: int) -> int:\n    return a\n", "docstring"),
        ("def untyped(a):\n    '''Doc.\n\n    Args:\n        a: thing\n    '''\n", "'a'"),
        ("def broken(:\n", "line 1"),
        ("x = 1\n", "function"),
    ],
)
def test_invalid_source_is_400_and_stores_nothing(letta, client, source, fragment):
    before = letta.tools.count()
    response = client.post("/v1/tools/", json={"source_code": source})
    assert response.status_code == 400, response.text
    assert fragment in response.json()["detail"]
    assert letta.tools.count() == before


def test_unknown_body_field_is_422(client):
    response = client.post("/v1/tools/", json={"source_code": adder_source(unique("x")), "name": "nope"})
    assert response.status_code == 422


def test_client_json_schema_is_honoured(letta):
    name = unique("schema")
    schema = {
        "name": name,
        "description": "Hand-written schema.",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer", "description": "A."},
                                                        "b": {"type": "integer", "description": "B."}},
                       "required": ["a"]},
    }
    tool = letta.tools.create(source_code=adder_source(name), json_schema=schema)
    assert tool.json_schema == schema


def test_base_tools_seeded_on_list_and_counted_honestly(make_server):
    server = make_server()
    letta = Letta(base_url=server.base_url)
    assert letta.tools.count(include_base_tools=True) == 0
    listed = letta.tools.list(limit=100)
    assert len(listed) == 22
    send_message = next(t for t in listed if t.name == "send_message")
    assert send_message.tool_type == "letta_core" and send_message.tags == ["letta_core"]
    assert send_message.return_char_limit == 1_000_000 and send_message.source_code is None
    letta.tools.create(source_code=adder_source(unique("mine")))
    assert letta.tools.count() == 1
    assert letta.tools.count(include_base_tools=True) == 23
    upserted = letta.tools.upsert_base_tools()
    assert len(upserted) == 22 and {t.id for t in upserted} == {t.id for t in listed}


def test_base_tool_schemas_are_lettas(client):
    import json
    from pathlib import Path

    sample = Path(__file__).parents[1] / "fixtures" / "letta-samples" / "compat_tools_upsert_base_tools.json"
    expected = {t["name"]: t for t in json.loads(sample.read_text())["body"]}
    ours = {t["name"]: t for t in client.post("/v1/tools/add-base-tools").json()}
    assert ours.keys() == expected.keys()
    for name, tool in expected.items():
        for field in ("tool_type", "description", "json_schema", "tags", "return_char_limit", "source_type"):
            assert ours[name][field] == tool[field], (name, field)


def test_pagination_with_after_and_limit(letta):
    ids = [letta.tools.create(source_code=adder_source(unique("page"))).id for _ in range(3)]
    everything = [t.id for t in letta.tools.list(limit=10_000)]
    start = everything.index(ids[0])
    assert [t.id for t in letta.tools.list(after=ids[0], limit=2)] == everything[start + 1 : start + 3]


def test_generate_schema(client):
    name = unique("gen")
    response = client.post("/v1/tools/generate-schema", json={"code": adder_source(name)})
    assert response.status_code == 200 and response.json()["name"] == name
    assert client.post("/v1/tools/generate-schema", json={"code": "def f(:"}).status_code == 400


def test_tools_are_invisible_across_organizations(client, letta, server):
    org = client.post("/v1/admin/orgs", json={"name": unique("org")}).json()
    stranger = client.post("/v1/admin/users", json={"name": "stranger", "organization_id": org["id"]}).json()
    mine = letta.tools.create(source_code=adder_source(unique("private")))
    headers = {"user_id": stranger["id"]}
    assert client.get(f"/v1/tools/{mine.id}", headers=headers).status_code == 404
    assert client.delete(f"/v1/tools/{mine.id}", headers=headers).status_code == 404
    assert mine.id not in {t["id"] for t in client.get("/v1/tools/", headers=headers, params={"limit": 10000}).json()}
    created = client.post("/v1/tools/", json={"source_code": mine.source_code}, headers=headers)
    assert created.status_code == 200 and created.json()["created_by_id"] == stranger["id"]
    assert client.get("/v1/tools/", headers={"user_id": "user-nobody"}).status_code == 404


def test_api_key_acts_as_its_user(make_server):
    server = make_server(TOOLHUB_SERVER_PASSWORD="pw")
    with server.client(Authorization="Bearer pw") as admin:
        dana = admin.post("/v1/admin/users", json={"name": "dana"}).json()
        key = admin.post(f"/v1/admin/users/{dana['id']}/api-keys").json()["key"]
    letta = Letta(base_url=server.base_url, token=key)
    tool = letta.tools.create(source_code=adder_source(unique("keyed")))
    assert tool.created_by_id == dana["id"]
    with pytest.raises(ApiError) as err:
        Letta(base_url=server.base_url, token="wrong").tools.list()
    assert err.value.status_code == 401
