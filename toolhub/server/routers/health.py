"""`GET /v1/health` — open even when a server password is set."""

from fastapi import APIRouter
from pydantic import BaseModel

from toolhub import __version__
from toolhub.server.routers import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/health", tags=["health"])


class Health(BaseModel):
    version: str
    status: str


@router.get("", response_model=Health, operation_id="health_check")
async def health_check() -> Health:
    return Health(version=__version__, status="ok")
