"""Letta-style prefixed ids: `<prefix>-<uuid4>`."""

import uuid

DEFAULT_ORG_ID = "org-00000000-0000-4000-8000-000000000000"
DEFAULT_USER_ID = "user-00000000-0000-4000-8000-000000000000"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"
