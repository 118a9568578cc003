"""Made-up people and companies. Word lists are small and fixed so worlds stay reproducible."""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST_NAMES = (
    "Ada Alan Alice Amara Ana Andre Anika Arjun Astrid Ben Bianca Bruno Carla Carlos Chen Chloe "
    "Clara Daniel Dara Diego Elena Elif Emil Emma Erik Farah Felix Fiona Gabriel Grace Hana Hugo "
    "Ines Ivan Jade Jakob James Jana Jonas Julia Kai Kenji Lara Leo Lena Liam Lina Luca Maya Mei "
    "Mila Nadia Naomi Nina Noah Olga Omar Oscar Paula Pedro Priya Quinn Rafael Rosa Ruth Sam "
    "Sara Sofia Sven Tara Theo Tomas Uma Vera Victor Wei Yara Yuki Zoe Zara Ravi Ingrid Mateo"
).split()
LAST_NAMES = (
    "Abe Adams Ahmed Alvarez Andersen Bauer Becker Bianchi Brown Campbell Chen Costa Cruz Davies "
    "Dubois Eriksen Evans Fischer Garcia Gomez Gupta Hansen Hoffmann Ito Jensen Johnson Kato Khan "
    "Kim Kowalski Larsen Lee Lopez Martin Meyer Moreau Muller Nakamura Nguyen Novak Olsen Patel "
    "Perez Petrov Rossi Sato Schmidt Silva Singh Smith Suzuki Tanaka Taylor Thomas Torres Wagner "
    "Walker Wang Weber Wilson Wright Yamamoto Young Zhang Ortiz Lindqvist Haddad Mensah Okafor"
).split()
_ADJECTIVES = (
    "agile amber apex arc atlas azure blue bold bright cedar clear cloud coral crisp deep delta "
    "echo ember fair fast fern first fleet flux frost golden granite green harbor high iron ivy "
    "jade keen kinetic lumen lunar maple meta micro mint modern nimble noble north nova oak onyx "
    "open orbit pine pixel polar prime pulse quant quick radiant rapid red ridge river rocket "
    "sage silver solar spark spring steady stone summit swift terra tidal true urban vast velvet "
    "vivid wild wise zen"
).split()
_NOUNS = (
    "analytics apps bay bridge cart cast cloud code craft data desk dock field flow forge frame "
    "garden gate grid hive hub labs lane layer ledger link logic loop works mesh mill mind motion "
    "nest net node path peak pilot point port post press quest rail reach root route scale scope "
    "shift signal sky soft sphere stack station stream studio sync systems tech track trail tree "
    "vault view wave way wing yard"
).split()
_SUFFIXES = {
    "US": ("Inc", "LLC"),
    "CA": ("Inc", "Ltd"),
    "DE": ("GmbH", "AG"),
    "FR": ("SAS", "SA"),
    "NL": ("BV",),
    "ES": ("SL", "SA"),
    "JP": ("KK",),
}
_TLDS = ("com", "io", "co", "dev", "ai", "net")
INDUSTRIES = (
    "COMPUTER_SOFTWARE",
    "FINANCIAL_SERVICES",
    "MARKETING_AND_ADVERTISING",
    "HOSPITAL_HEALTH_CARE",
    "RETAIL",
    "EDUCATION_MANAGEMENT",
    "LOGISTICS_AND_SUPPLY_CHAIN",
    "MEDIA_PRODUCTION",
)
JOB_TITLES = (
    "CEO",
    "CTO",
    "VP Engineering",
    "Head of Operations",
    "Finance Manager",
    "Product Manager",
    "Marketing Lead",
    "Engineer",
    "Designer",
    "Office Manager",
)
COUNTRY_BY_CURRENCY = {"usd": ("US", "CA"), "eur": ("DE", "FR", "NL", "ES"), "jpy": ("JP",)}
_PHONE_PREFIX = {"US": "+1", "CA": "+1", "DE": "+49", "FR": "+33", "NL": "+31", "ES": "+34"}
FREE_MAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "proton.me")


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    industry: str
    country: str
    employees: int


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str
    title: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def company_for(entity_index: int, rng: random.Random, currency: str) -> Company:
    """A company whose name and domain are unique to `entity_index`."""
    combos = len(_ADJECTIVES) * len(_NOUNS)
    generation = entity_index // combos
    combo = entity_index * 7919 % combos  # a bijection on each block of `combos` indices
    adjective = _ADJECTIVES[combo // len(_NOUNS)]
    noun = _NOUNS[combo % len(_NOUNS)]
    label = f"{adjective}{noun}" + (str(generation) if generation else "")
    country = rng.choice(COUNTRY_BY_CURRENCY[currency])
    suffix = rng.choice(_SUFFIXES[country])
    name = f"{adjective.title()} {noun.title()}" + (f" {generation}" if generation else "")
    return Company(
        name=f"{name} {suffix}",
        domain=f"{label}.{rng.choice(_TLDS)}",
        industry=rng.choice(INDUSTRIES),
        country=country,
        employees=max(2, int(rng.lognormvariate(3.3, 1.1))),
    )


def phone_for(rng: random.Random, country: str) -> str:
    if country == "JP":
        return f"+81 3-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
    prefix = _PHONE_PREFIX.get(country, "+1")
    return f"{prefix} {rng.randint(200, 989)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def person_at(rng: random.Random, company: Company, free_mail: bool = False) -> Person:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    domain = rng.choice(FREE_MAIL_DOMAINS) if free_mail else company.domain
    local = f"{first}.{last}".lower() if not free_mail else f"{first}{last}{rng.randint(1, 999)}"
    return Person(
        first_name=first,
        last_name=last,
        email=f"{local.lower()}@{domain}",
        phone=phone_for(rng, company.country),
        title=rng.choice(JOB_TITLES),
    )
