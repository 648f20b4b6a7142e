"""Repositories: the only way routes and services read or write the database."""

from toolhub.store.repositories.base import Actor, OrgRepository, page
from toolhub.store.repositories.identity import IdentityRepository

__all__ = ["Actor", "IdentityRepository", "OrgRepository", "page"]
