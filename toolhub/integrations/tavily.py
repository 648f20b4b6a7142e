"""`web_search` through Tavily's SDK.

Letta 0.8.5+ takes `tasks` of query/question pairs and answers with JSON keyed by query; toolhub keeps that shape
and returns Tavily's sources for each task (Letta's LLM passage extraction is not done here).
"""

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

from toolhub.integrations.keys import BuiltinToolError, endpoint, service_key


async def web_search(
    secrets: Mapping[str, str], tasks: Sequence[Mapping[str, str]], limit: int = 3, return_raw: bool = False
) -> str:
    """Search every task concurrently; a failed task is reported in its own entry, not as a failed call."""
    from tavily import AsyncTavilyClient

    if not tasks:
        raise BuiltinToolError("web_search needs at least one task")
    if limit <= 0:
        raise BuiltinToolError("limit must be greater than 0")
    key, source = service_key("TAVILY_API_KEY", secrets)
    client = AsyncTavilyClient(api_key=key, api_base_url=endpoint("TAVILY_BASE_URL"))
    try:
        answers = await asyncio.gather(*(_search(client, task, limit, return_raw) for task in tasks))
    finally:
        await client.close()
    results = {task["query"]: answer for task, answer in zip(tasks, answers)}
    return json.dumps({"api_key_source": source, "results": results}, indent=2, ensure_ascii=False)


async def _search(client: Any, task: Mapping[str, str], limit: int, return_raw: bool) -> dict[str, Any]:
    query, question = task.get("query", ""), task.get("question", "")
    try:
        found = await client.search(query=query, max_results=limit, include_raw_content=return_raw or None)
    except Exception as exc:  # noqa: BLE001 - any SDK or transport failure belongs to this task's entry
        return {"query": query, "question": question, "error": f"{type(exc).__name__}: {exc}"}
    sources = [_source(item, return_raw) for item in found.get("results", [])[:limit]]
    return {"query": query, "question": question, "sources": sources}


def _source(item: Mapping[str, Any], return_raw: bool) -> dict[str, Any]:
    source = {"title": item.get("title", ""), "url": item.get("url", ""), "content": item.get("content", "")}
    if return_raw and item.get("raw_content"):
        source["raw_content"] = item["raw_content"]
    return source
