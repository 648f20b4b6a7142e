"""Users: deleting one also drops it from the actor cache, so its requests stop at once on this replica."""

from toolhub.cache import TTLCache
from toolhub.store.db import Database
from toolhub.store.models import User
from toolhub.store.repositories import Actor, IdentityRepository


class UserService:
    def __init__(self, db: Database, actors: TTLCache[str, Actor]) -> None:
        self._db = db
        self._actors = actors

    async def delete(self, user_id: str) -> User:
        """Raises NotFoundError for an unknown user, InvalidInputError for the default user."""
        async with self._db.session() as session:
            deleted = await IdentityRepository(session).delete_user(user_id)
        self._actors.forget(lambda key: key == user_id)
        return deleted
