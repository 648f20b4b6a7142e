"""Who hears `tools/list_changed`: only the groups whose view of the tools changed, once per burst of changes."""

import asyncio

import pytest

from toolhub.server.mcp_endpoint.audiences import Audiences, TooManyListenersError
from toolhub.server.mcp_endpoint.caller import Caller
from toolhub.services.mcp_profiles import ProfileScope
from toolhub.store.repositories import Actor

ALICE = Caller(actor=Actor(user_id="user-a", organization_id="org-1"))
ALICE_PROFILE = Caller(
    actor=ALICE.actor, profile=ProfileScope(id="mcp_profile-1", name="research", tags=("r",), tool_ids=())
)
BOB_SAME_ORG = Caller(actor=Actor(user_id="user-b", organization_id="org-1"))
CAROL = Caller(actor=Actor(user_id="user-c", organization_id="org-2"))


class Views:
    """What each audience sees, as a digest the test changes at will; counts how often each was computed."""

    def __init__(self) -> None:
        self.digests = {ALICE.audience: "a1", ALICE_PROFILE.audience: "p1", CAROL.audience: "c1"}
        self.computed = 0

    async def __call__(self, caller: Caller) -> str:
        self.computed += 1
        await asyncio.sleep(0.01)
        return self.digests[caller.audience]


class Counter:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


async def settle() -> None:
    await asyncio.sleep(0.1)


async def joined(audiences: Audiences, caller: Caller) -> Counter:
    counter = Counter()
    await audiences.join(caller)
    audiences.register(caller, counter)
    return counter


async def test_only_groups_whose_view_changed_are_told():
    views = Views()
    audiences = Audiences(views)
    whole, profile, carol = [await joined(audiences, c) for c in (ALICE, ALICE_PROFILE, CAROL)]
    # Bob is in Alice's organization and audience: one group, one digest.
    bob = await joined(audiences, BOB_SAME_ORG)

    views.digests[ALICE.audience] = "a2"  # a tool outside the profile changed
    await audiences.changed("org-1")
    await settle()
    assert (whole.count, bob.count, profile.count, carol.count) == (1, 1, 0, 0)

    await audiences.changed("org-1")  # nothing changed since
    await settle()
    assert (whole.count, profile.count) == (1, 0)
    await audiences.aclose()


async def test_a_burst_of_changes_costs_at_most_one_more_comparison():
    views = Views()
    audiences = Audiences(views)
    counter = await joined(audiences, ALICE)
    computed = views.computed
    views.digests[ALICE.audience] = "a2"
    for _ in range(10):
        await audiences.changed("org-1")
    await settle()
    assert views.computed - computed <= 2
    assert counter.count == 1
    await audiences.aclose()


async def test_unregistered_listeners_are_forgotten():
    views = Views()
    audiences = Audiences(views)
    counter = Counter()
    await audiences.join(ALICE)
    unregister = audiences.register(ALICE, counter)
    unregister()
    unregister()  # idempotent
    computed = views.computed
    views.digests[ALICE.audience] = "a2"
    await audiences.changed("org-1")
    await settle()
    assert counter.count == 0 and views.computed == computed  # the empty group is gone: nothing to compare
    await audiences.aclose()


async def test_listeners_are_bounded():
    audiences = Audiences(Views(), max_listeners=2)
    audiences.register(ALICE, Counter())
    audiences.register(CAROL, Counter())
    with pytest.raises(TooManyListenersError):
        audiences.register(ALICE_PROFILE, Counter())
    await audiences.aclose()


async def test_a_failing_comparison_or_listener_stops_nobody(caplog):
    views = Views()
    audiences = Audiences(views)
    failing_listener = Counter()

    async def broken() -> None:
        failing_listener.count += 1
        raise RuntimeError("stream gone")

    await audiences.join(ALICE)
    audiences.register(ALICE, broken)
    healthy = Counter()
    audiences.register(ALICE, healthy)
    views.digests[ALICE.audience] = "a2"
    await audiences.changed("org-1")
    await settle()
    assert failing_listener.count == 1 and healthy.count == 1
    assert "could not send tools/list_changed" in caplog.text

    del views.digests[ALICE.audience]  # the comparison itself fails
    await audiences.changed("org-1")
    await settle()
    assert "could not compare a tool list" in caplog.text
    await audiences.aclose()
