"""Hostile sources are a ToolSchemaError (a 400), never another exception, in threads as the server runs them."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from toolhub.tools.schema.derive import ToolSchemaError, derive_json_schema, function_name

DOC = '"""Doc.\n\n    Args:\n        x: An x.\n    """'

NESTED = {
    "open parentheses": "(" * 100_000,
    "unary minus": "-" * 100_000 + "1",
    "not": "not " * 100_000 + "x",
    "lambdas": "lambda: " * 100_000 + "1",
    "long chain": "x = " + "1|" * 100_000 + "1",
    "calls": "f" + "()" * 100_000,
    "annotation union": f"def f(x: {' | '.join(['int'] * 900)}):\n    {DOC}\n",
    "string annotation": f"def f(x: {'List[' * 150 + 'int' + ']' * 150!r}):\n    {DOC}\n",
}


@pytest.mark.parametrize("source", NESTED.values(), ids=NESTED.keys())
def test_deeply_nested_sources_are_schema_errors(source: str) -> None:
    with ThreadPoolExecutor(1) as thread, pytest.raises(ToolSchemaError):  # the server derives in worker threads
        thread.submit(derive_json_schema, source).result()


class _YieldsWhenCollected:
    """Garbage whose finalizer lets other threads run, mid-parse, when a collection happens there."""

    def __del__(self) -> None:
        time.sleep(0)


def test_concurrent_parsing_never_breaks_the_ast_constructor() -> None:
    """CPython 3.11 shares the AST constructor's recursion counter between threads; a thread switch during
    one parse (a finalizer run by the garbage collector) used to end in "SystemError: AST constructor
    recursion depth mismatch"."""
    source = f"def f(x: int) -> int:\n    {DOC}\n    return {'[' * 100}x{']' * 100} + " + " + ".join(["x"] * 300)

    failures: list[BaseException] = []

    def parse_many() -> None:
        for _ in range(60):
            for _ in range(50):
                first, second = _YieldsWhenCollected(), _YieldsWhenCollected()
                first.other, second.other = second, first  # a cycle: only the collector frees it
            del first, second
            try:
                assert function_name(source) == "f"
            except BaseException as exc:  # noqa: BLE001 - reported below, with the others
                failures.append(exc)

    threads = [threading.Thread(target=parse_many) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
