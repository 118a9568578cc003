"""The users of a customer's workspaces: who fills each seat slot, when, and who acts.

Users are numbered within the customer's entity; later workspaces reuse some of the
customer's users, and a few slots go to guests from other entities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from revstack.sandbox.world.ids import user_id
from revstack.sandbox.world.product_spans import SpanParams
from revstack.sandbox.world.product_tables import F64, I64

USER_ORDINALS = 4096
"""Ordinals per entity available to `ids.user_id`."""
GUEST_SHARE = 0.05
#: Chance that the first slot of a customer's second (third, ...) workspace is an existing
#: user of the customer, and the same for its other slots.
SHARED_SHARE_FIRST = 0.7
SHARED_SHARE = 0.3
GUEST_ENTITY_SPREAD = 500
GUEST_ORDINALS = 8
USER_ACTIVITY_SIGMA = 0.8


@dataclass
class UserDirectory:
    """The customer's user slots across its workspaces, filled workspace by workspace."""

    entity_index: int
    next_ordinal: int = 0
    own: list[str] = field(default_factory=list)
    """The customer's own users (numbered within its entity), in order of creation."""
    slots: list[str] = field(default_factory=list)
    """User id of every slot of every workspace, workspace after workspace."""


def guest_id(rng: np.random.Generator, entity_index: int) -> str:
    """A user id from another entity's range (a consultant or agency user)."""
    offset = int(rng.integers(1, GUEST_ENTITY_SPREAD + 1))
    other = entity_index - offset if rng.random() < 0.5 else entity_index + offset
    if other < 0:
        other = entity_index + offset
    return user_id(other, int(rng.integers(0, GUEST_ORDINALS)))


def fill_slots(
    directory: UserDirectory, slots: int, first_workspace: bool, rng: np.random.Generator
) -> list[str]:
    """User ids of a workspace's `slots` user slots: new users, the customer's users from its
    other workspaces, and guests from other entities; distinct within the workspace."""
    chosen: list[str] = []
    taken: set[str] = set()
    draws = rng.random(slots)
    for slot in range(slots):
        share = SHARED_SHARE_FIRST if slot == 0 else SHARED_SHARE
        reuse = not first_workspace and draws[slot] < share
        candidates = [u for u in directory.own if u not in taken] if reuse else []
        if candidates:
            uid = candidates[int(rng.integers(0, len(candidates)))]
        elif (slot > 0 and draws[slot] > 1 - GUEST_SHARE) or (
            directory.next_ordinal >= USER_ORDINALS
        ):
            uid = guest_id(rng, directory.entity_index)
            while uid in taken:
                uid = guest_id(rng, directory.entity_index)
        else:
            uid = user_id(directory.entity_index, directory.next_ordinal)
            directory.next_ordinal += 1
            directory.own.append(uid)
        chosen.append(uid)
        taken.add(uid)
    directory.slots.extend(chosen)
    return chosen


def slot_joined_at(params: SpanParams) -> I64:
    """When each user slot first became active: the start of the first non-empty span with
    more active users than the slot's position (-1: never active)."""
    slots = int(params.users.max(initial=0))
    joined = np.full(slots, -1, dtype=np.int64)
    for start, end, users in zip(params.start, params.end, params.users, strict=True):
        if end > start:
            fresh = (np.arange(slots) < users) & (joined < 0)
            joined[fresh] = start
    return joined


def pick_users(params: SpanParams, span: I64, activity: F64, rng: np.random.Generator) -> I64:
    """Slot of the acting user: one of the span's active users, busier users more often."""
    cumulative = np.cumsum(activity)
    limit = cumulative[params.users[span] - 1]
    slot = np.searchsorted(cumulative, rng.random(span.size) * limit, side="right")
    picked: I64 = np.minimum(slot, params.users[span] - 1).astype(np.int64)
    return picked
