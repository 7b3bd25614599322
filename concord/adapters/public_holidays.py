"""Public holidays by country (and subdivision) from the ``holidays`` package: a maintained
dataset for 150+ countries, so offices do not type their calendar by hand. Pure lookups."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from types import ModuleType

from concord.errors import UserError


@lru_cache(maxsize=1)
def _data() -> ModuleType:
    """The ``holidays`` package, imported on first use: it is big, and importing it with the
    cogs made it a good part of the bot's start-up."""
    import holidays
    import holidays.registry  # the country table, read as holidays.registry

    return holidays


@lru_cache(maxsize=1)
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code → English name (``'IN': 'India'``), for autocomplete."""
    names: dict[str, str] = {}
    registry = _data().registry
    for module_name, entry in registry.COUNTRIES.items():
        code = str(entry[1])
        names[code] = module_name.replace("_", " ").title()
    return dict(sorted(names.items()))


def search_countries(query: str, limit: int = 25) -> list[tuple[str, str]]:
    """(code, name) pairs matching a code prefix or a part of the name."""
    words = query.strip().lower()
    found = [
        (code, name)
        for code, name in countries().items()
        if not words or code.lower().startswith(words) or words in name.lower()
    ]
    found.sort(key=lambda pair: (pair[0].lower() != words, not pair[1].lower().startswith(words)))
    return found[:limit]


def subdivisions(country: str) -> list[str]:
    return list(_data().list_supported_countries().get(country.strip().upper(), []))


def public_holidays(
    country: str, year: int, subdivision: str | None = None
) -> list[tuple[date, str]]:
    """The public holidays of ``country`` (alpha-2 code) in ``year``, observed days included."""
    code = country.strip().upper()
    if code not in countries():
        raise UserError(
            f"`{country}` is not a country I have holidays for; use a two-letter code such as "
            "`IN`, `GB` or `US` (the option autocompletes)."
        )
    subdiv = subdivision.strip().upper() if subdivision and subdivision.strip() else None
    if subdiv is not None and subdiv not in subdivisions(code):
        known = ", ".join(subdivisions(code)[:40]) or "none"
        raise UserError(f"`{subdivision}` is not a subdivision of {code}; known: {known}.")
    # Both codes were checked against the package's own lists above.
    table = _data().country_holidays(code, subdiv=subdiv, years=year)
    found: dict[date, str] = {}
    for day, name in sorted(table.items()):
        found[day] = str(name)
    return sorted(found.items())
