"""Schemathesis over the server's own OpenAPI spec, against a real server: no generated request may get a 5xx.

The engine runs the spec's examples, its coverage cases (boundaries, wrong types, missing fields) and fuzzing,
valid and invalid requests, with a fixed seed, a fixed number of examples per operation and deterministic
generation: a run is repeatable and takes about half a minute per backend. The server has no password, so
every request is the admin's and reaches every route. It has no LLM provider either: a message that reaches an
agent gets a 502 naming the provider problem (code `llm_*`), which is the answer, not a server error.
"""

import schemathesis
from schemathesis.engine import Status, events, from_schema

SEED = 20_240_601
MAX_EXAMPLES = 40
REQUEST_TIMEOUT_S = 30
"""A hung route fails its request instead of the run. (No `max-time`: with one, fuzzing runs until it is up.)"""

EXCLUDED_PATHS = [
    # Reinstalls the organization's local venv with pip: minutes and the network for one request, and a
    # fuzzed config can name any package.
    "/v1/sandbox-config/local/recreate-venv",
]


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "request-timeout": REQUEST_TIMEOUT_S,
            "cache": {"enabled": False},  # no .schemathesis/ left in the working directory
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "checks": {"enabled": False, "not_a_server_error": {"enabled": True}},
            "phases": {"stateful": {"enabled": False}},
        }
    )


def _provider_failure(response) -> bool:
    """A 502 that names an LLM provider failure: the server works, the model behind it cannot be reached (this
    server has none configured). Every other 5xx is a failure."""
    if response is None or response.status_code != 502:
        return False
    try:
        return str(response.json().get("code", "")).startswith("llm_")
    except ValueError:
        return False


def _failures(event: events.EngineEvent) -> list[str]:
    if isinstance(event, (events.NonFatalError, events.FatalError)):
        return [f"schemathesis error: {event}"]
    if not isinstance(event, events.ScenarioFinished) or event.status != Status.FAILURE:
        return []
    recorder = event.recorder
    found = []
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                interaction = recorder.interactions.get(case_id)
                if interaction and _provider_failure(interaction.response):
                    continue
                status = interaction.response.status_code if interaction and interaction.response else "no response"
                found.append(f"{recorder.label} [{event.phase}] -> {status}\n    {check.failure_info.code_sample}")
    return found


def test_no_request_gets_a_server_error(server):
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", config=_config())
    schema = schema.exclude(path=EXCLUDED_PATHS)
    failures: list[str] = []
    stop_reason = None
    for event in from_schema(schema).execute():
        failures.extend(_failures(event))
        if isinstance(event, events.EngineFinished):
            stop_reason = event.stop_reason
    assert not failures, f"{len(failures)} request(s) got a 5xx (server log: {server.log_path}):\n" + "\n".join(
        sorted(set(failures))
    )
    assert stop_reason == "completed", f"the fuzz run stopped early: {stop_reason}"
