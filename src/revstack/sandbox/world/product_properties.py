"""What each event says: its name and its ``properties`` JSON text.

Names, features, page paths and durations are drawn from lookup tables built once per tier;
the JSON is joined from precomputed head and tail fragments around the duration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from revstack.sandbox.world.catalog import FEATURES_BY_TIER, PAID_FEATURES, TIER_RANK
from revstack.sandbox.world.product_random import draw, lookup_table, standard_normal
from revstack.sandbox.world.product_tables import (
    EVENT_NAMES,
    EXPORT_VIDEO,
    F64,
    FEATURE_USED,
    I64,
    INVITE,
    LOGIN,
    PAGE_VIEW,
    PROMPT,
    REPORT,
    TIER_NAMES,
    TOP_TIER,
    Bool,
)
from revstack.sandbox.world.product_volume import FUNNEL_FEATURE, FUNNEL_PROMPT, TAIL, EventFrame

#: Share of tail events that are paid-feature use (exporting work before access ends).
TAIL_PAID_SHARE = 0.3
#: Relative weight of each event name (export_video needs Pro; prompts need a higher tier).
NAME_WEIGHTS = {
    PAGE_VIEW: 0.44,
    FEATURE_USED: 0.30,
    EXPORT_VIDEO: 0.04,
    INVITE: 0.015,
    LOGIN: 0.09,
    REPORT: 0.05,
    PROMPT: 0.012,
}
EXPORT_VIDEO_MIN_TIER = TIER_RANK["pro"]
ANONYMOUS_PAGE_VIEW_SHARE = 0.03
FEATURES: tuple[str, ...] = tuple(
    dict.fromkeys(f for tier in TIER_NAMES for f in FEATURES_BY_TIER[tier])
)
FEATURE_WEIGHT = {
    "editor": 0.35,
    "comments": 0.2,
    "templates": 0.12,
    "export_pdf": 0.08,
    "automations": 0.1,
    "api": 0.08,
    "export_video": 0.03,
    "sso": 0.02,
    "audit_log": 0.02,
}
PAGE_PATHS = (
    ("/dashboard", 0.3),
    ("/projects", 0.25),
    ("/editor", 0.2),
    ("/reports", 0.08),
    ("/templates", 0.07),
    ("/settings", 0.05),
    ("/settings/team", 0.03),
    ("/settings/billing", 0.02),
)
LOGIN_METHODS = (("password", 0.55), ("google", 0.35), ("magic_link", 0.1))
REPORT_TYPES = (("usage", 0.4), ("activity", 0.35), ("funnel", 0.15), ("custom", 0.1))
#: Median and log-sigma of duration_ms per event name; other names carry no duration.
DURATION_MS = {
    PAGE_VIEW: (20_000.0, 1.0),
    FEATURE_USED: (45_000.0, 1.1),
    EXPORT_VIDEO: (40_000.0, 0.8),
    REPORT: (1_500.0, 0.7),
}


def _name_weights() -> F64:
    rows = np.zeros((len(TIER_NAMES), len(EVENT_NAMES)))
    for tier in range(len(TIER_NAMES)):
        for name, weight in NAME_WEIGHTS.items():
            if (name == EXPORT_VIDEO and tier < EXPORT_VIDEO_MIN_TIER) or (
                name == PROMPT and tier == TOP_TIER
            ):
                continue
            rows[tier, name] = weight
    return rows


def _feature_weights(paid_only: bool = False) -> F64:
    """Per tier, the weights of its features (only paid ones, if it has any, with `paid_only`)."""
    rows = np.zeros((len(TIER_NAMES), len(FEATURES)))
    for tier, tier_name in enumerate(TIER_NAMES):
        features = FEATURES_BY_TIER[tier_name]
        paid = [f for f in features if f in PAID_FEATURES]
        for feature in paid if paid_only and paid else features:
            rows[tier, FEATURES.index(feature)] = FEATURE_WEIGHT.get(feature, 0.05)
    return rows


def _new_feature_weights() -> F64:
    """Rows indexed by ``from_tier * tiers + to_tier``: the features `to` adds over `from`."""
    tiers = len(TIER_NAMES)
    rows = np.zeros((tiers * tiers, len(FEATURES)))
    for low, low_name in enumerate(TIER_NAMES):
        for high, high_name in enumerate(TIER_NAMES):
            added = set(FEATURES_BY_TIER[high_name]) - set(FEATURES_BY_TIER[low_name])
            for feature in added or FEATURES_BY_TIER[high_name]:
                rows[low * tiers + high, FEATURES.index(feature)] = 1.0
    return rows


def _variant_weights() -> F64:
    """Per event name, the weights of its page path, login method or report type."""
    variants = {PAGE_VIEW: PAGE_PATHS, LOGIN: LOGIN_METHODS, REPORT: REPORT_TYPES}
    width = max(len(options) for options in variants.values())
    rows = np.zeros((len(EVENT_NAMES), width))
    rows[:, 0] = 1.0
    for name, options in variants.items():
        rows[name] = 0.0
        rows[name, : len(options)] = [weight for _, weight in options]
    return rows


NAME_LOOKUP = lookup_table(_name_weights())
FEATURE_LOOKUP = lookup_table(_feature_weights())
PAID_FEATURE_LOOKUP = lookup_table(_feature_weights(paid_only=True))
NEW_FEATURE_LOOKUP = lookup_table(_new_feature_weights())
VARIANT_LOOKUP = lookup_table(_variant_weights())
HAS_DURATION = np.array([name in DURATION_MS for name in range(len(EVENT_NAMES))])
DURATION_MEDIAN = np.array([DURATION_MS.get(n, (1.0, 0.0))[0] for n in range(len(EVENT_NAMES))])
DURATION_SIGMA = np.array([DURATION_MS.get(n, (1.0, 0.0))[1] for n in range(len(EVENT_NAMES))])


def _head_vocabulary() -> tuple[list[str], list[int]]:
    """Opening JSON fragments per event name and variant, and where each name's variants start.

    A fragment opens the object and ends either with ``"duration_ms":`` (names with a
    duration, whose number follows) or with a comma. Variants are the page path, feature,
    login method or report type.
    """
    fields: dict[int, list[str]] = {
        PAGE_VIEW: [f'"path":"{path}"' for path, _ in PAGE_PATHS],
        FEATURE_USED: [f'"feature":"{f}","path":"/app/{f}"' for f in FEATURES],
        EXPORT_VIDEO: ['"feature":"export_video","format":"mp4","path":"/app/export"'],
        INVITE: ['"path":"/settings/team"'],
        LOGIN: [f'"method":"{m}","path":"/login"' for m, _ in LOGIN_METHODS],
        REPORT: [f'"path":"/reports","report_type":"{r}"' for r, _ in REPORT_TYPES],
        PROMPT: [f'"feature":"{f}","path":"/upgrade"' for f in FEATURES],
    }
    heads: list[str] = []
    base: list[int] = []
    for name in range(len(EVENT_NAMES)):
        base.append(len(heads))
        end = ',"duration_ms":' if HAS_DURATION[name] else ","
        heads.extend("{" + text + end for text in fields[name])
    return heads, base


def _tail_vocabulary() -> list[str]:
    """Closing fragments indexed by ``(has_duration * tiers + plan) * (tiers + 1) + target + 1``
    (target -1: no target plan)."""
    return [
        ("," if has_duration else "")
        + f'"plan":"{plan}"'
        + ("" if target is None else f',"target_plan":"{target}"')
        + "}"
        for has_duration in (False, True)
        for plan in TIER_NAMES
        for target in (None, *TIER_NAMES)
    ]


_HEADS, _HEAD_BASE = _head_vocabulary()
HEADS = pa.array(_HEADS, pa.string())
HEAD_BASE = np.array(_HEAD_BASE, dtype=np.int64)
TAILS = pa.array(_tail_vocabulary(), pa.string())


@dataclass(frozen=True)
class EventContent:
    name: I64
    head: I64
    """Index into HEADS."""
    tail: I64
    """Index into TAILS."""
    duration_ms: I64
    anonymous: Bool


def event_content(frame: EventFrame, rng: np.random.Generator) -> EventContent:
    """Event names and properties of each event (as vocabulary indices)."""
    count = frame.occurred_ms.size
    tier = frame.shown_tier
    tiers = len(TIER_NAMES)
    name = draw(rng, NAME_LOOKUP, tier)
    exporting = (frame.kind == TAIL) & (rng.random(count) < TAIL_PAID_SHARE)
    name[exporting | (frame.kind == FUNNEL_FEATURE)] = FEATURE_USED
    name[frame.kind == FUNNEL_PROMPT] = PROMPT
    # Prompts and funnel previews show a feature of a higher tier.
    upselling = (name == PROMPT) | (frame.kind == FUNNEL_FEATURE)
    target = np.where(frame.target_tier >= 0, frame.target_tier, np.minimum(tier + 1, TOP_TIER))
    target = np.where(upselling, target, -1)
    feature = draw(rng, FEATURE_LOOKUP, tier)
    feature[exporting] = draw(rng, PAID_FEATURE_LOOKUP, tier[exporting])
    feature[upselling] = draw(rng, NEW_FEATURE_LOOKUP, (tier * tiers + target)[upselling])
    variant = draw(rng, VARIANT_LOOKUP, name)
    variant = np.where((name == FEATURE_USED) | (name == PROMPT), feature, variant)
    noise = np.exp(standard_normal(rng, count) * DURATION_SIGMA[name])
    prompt_target = np.where(name == PROMPT, target, -1)
    return EventContent(
        name=name,
        head=HEAD_BASE[name] + variant,
        tail=(HAS_DURATION[name] * tiers + tier) * (tiers + 1) + prompt_target + 1,
        duration_ms=np.maximum(1, (DURATION_MEDIAN[name] * noise).astype(np.int64)),
        anonymous=(name == PAGE_VIEW) & (rng.random(count) < ANONYMOUS_PAGE_VIEW_SHARE),
    )


def properties_json(content: EventContent) -> pa.Array:
    """The ``properties`` JSON text of each event: head fragment, duration, tail fragment."""
    duration = pa.array(content.duration_ms, pa.int64(), mask=~HAS_DURATION[content.name])
    return pc.binary_join_element_wise(
        HEADS.take(pa.array(content.head)),
        pc.cast(duration, pa.string()),
        TAILS.take(pa.array(content.tail)),
        "",
        null_handling="replace",
        null_replacement="",
    )
