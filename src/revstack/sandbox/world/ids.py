"""Identifiers shaped like the real systems' ones, reproducible from the world seed.

Stripe ids are a prefix plus random base62 characters drawn from the entity's own stream.
CRM ids are pure functions of the entity index (and a per-entity ordinal), so the billing,
CRM and product simulations can refer to each other's records without sharing state.
"""

from __future__ import annotations

import random
import string

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SF_SUFFIX = string.ascii_uppercase + "012345"

# Random bits that cover 62**n for the id lengths in use.
_BITS = {n: (62**n).bit_length() + 8 for n in range(1, 33)}

#: Records per entity reserved in the CRM id spaces (contacts, deals, opportunities, ...).
PER_ENTITY = 64


def stripe_id(rng: random.Random, prefix: str, length: int = 24) -> str:
    """A Stripe-like id such as ``ch_3Pq...``: prefix, underscore, random base62."""
    return prefix + "_" + base62(rng.getrandbits(_BITS[length]) % 62**length, length)


def base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        chars.append(BASE62[rem])
    if number:
        raise ValueError("number does not fit the width")
    return "".join(reversed(chars))


def salesforce_id(key_prefix: str, number: int) -> str:
    """An 18-character Salesforce id: key prefix, pod, record number and the case-safe suffix."""
    id15 = key_prefix + "Dn0" + base62(number, 9)
    return id15 + case_safe_suffix(id15)


def case_safe_suffix(id15: str) -> str:
    """The three characters Salesforce appends to a 15-character id to make it case-safe."""
    suffix = ""
    for chunk_start in range(0, 15, 5):
        bits = 0
        for position, char in enumerate(id15[chunk_start : chunk_start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SF_SUFFIX[bits]
    return suffix


# Salesforce key prefixes of the objects the world holds.
SF_PREFIX = {
    "User": "005",
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "OpportunityLineItem": "00k",
    "OpportunityHistory": "008",
    "Product2": "01t",
    "Pricebook2": "01s",
    "PricebookEntry": "01u",
    "Contract_Terms__c": "a0B",
}


def sf_record_id(sobject: str, entity_index: int, ordinal: int = 0) -> str:
    """Id of the `ordinal`-th record of `sobject` belonging to entity `entity_index`."""
    if not 0 <= ordinal < PER_ENTITY:
        raise ValueError(f"ordinal {ordinal} out of range")
    return salesforce_id(SF_PREFIX[sobject], entity_index * PER_ENTITY + ordinal)


# HubSpot record ids are numeric strings; each object type has its own id range.
_HUBSPOT_BASE = {"companies": 20_000_000_000, "contacts": 100_000, "deals": 30_000_000_000}


def hubspot_id(object_type: str, entity_index: int, ordinal: int = 0) -> str:
    """Id of the `ordinal`-th HubSpot record of a type (companies, contacts, deals) of an entity."""
    if not 0 <= ordinal < PER_ENTITY:
        raise ValueError(f"ordinal {ordinal} out of range")
    return str(_HUBSPOT_BASE[object_type] + entity_index * PER_ENTITY + ordinal)


def workspace_id(entity_index: int, ordinal: int = 0) -> str:
    """Product workspace id (one per subscription line of a customer)."""
    return f"ws_{base62(entity_index * PER_ENTITY + ordinal, 8)}"


def user_id(entity_index: int, ordinal: int) -> str:
    """Product user id; users are numbered within the entity that invited them first."""
    return f"usr_{base62(entity_index * 4096 + ordinal, 9)}"
