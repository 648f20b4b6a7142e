"""`run_code` through E2B's code interpreter: Python and the other kernels E2B's template has (js, ts, r, java).

Unlike Letta, the sandbox is killed after the call instead of being left to expire, and an execution error is
returned as JSON the model can read instead of an unserialisable object.
"""

import json
from collections.abc import Mapping
from typing import Any

from toolhub.integrations.e2b_connection import connection_options
from toolhub.integrations.keys import BuiltinToolError

LANGUAGES = ("python", "js", "ts", "r", "java")


async def run_code(secrets: Mapping[str, str], code: str, language: str = "python") -> str:
    from e2b_code_interpreter import AsyncSandbox

    if language not in LANGUAGES:
        raise BuiltinToolError(f"language {language!r} is not supported (choose from {', '.join(LANGUAGES)})")
    options = connection_options(secrets)
    try:
        sandbox = await AsyncSandbox.create(**options)
        try:
            execution = await sandbox.run_code(code, language=None if language == "python" else language)
        finally:
            await sandbox.kill()
    except Exception as exc:  # noqa: BLE001 - the SDK raises plain Exception subclasses for every API failure
        raise BuiltinToolError(f"E2B sandbox failed: {type(exc).__name__}: {exc}") from exc
    return json.dumps(_execution(execution), ensure_ascii=False)


def _execution(execution: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "results": [result.text for result in execution.results if result.text is not None],
        "logs": {"stdout": list(execution.logs.stdout), "stderr": list(execution.logs.stderr)},
    }
    if execution.error is not None:
        error = execution.error
        out["error"] = {"name": error.name, "value": error.value, "traceback": error.traceback}
    return out
