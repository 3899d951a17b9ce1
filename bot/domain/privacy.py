"""Personal-information rules (PIPL): consent purposes and versions, the age under which a
guardian consents, and the kinds of access the access log keeps. Pure: no I/O."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

# Bump when the notice shown before real-name registration changes: everyone is asked again.
CONSENT_VERSION = "2026-12"
# PIPL Art. 31: the personal information of a child under 14 needs a guardian's consent.
GUARDIAN_AGE = 14


class Purpose(StrEnum):
    VOLUNTEER = "volunteer"  # real-name volunteer registration: name, phone, skills, times
    ID_NUMBER = "id_number"  # the resident ID number, sensitive information (PIPL Art. 28-29)
    GUARDIAN = "guardian"  # a guardian's consent for a child under 14, recorded by a worker


REGISTRATION_PURPOSES = (Purpose.VOLUNTEER, Purpose.ID_NUMBER)


class Access(StrEnum):
    """What the access log records (who, when, about whom, why)."""

    ID_UNMASKED = "id_unmasked"  # an ID number was decrypted and read in clear
    EXPORT = "export"  # a file with someone's personal data left the system
    ON_BEHALF = "on_behalf"  # someone acted for another person (e.g. a guardian's consent)


def birth_date(id_number: str) -> date:
    """The date of birth inside a GB 11643 number (characters 7-14: YYYYMMDD)."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def needs_guardian(id_number: str, today: date) -> bool:
    return age_on(birth_date(id_number), today) < GUARDIAN_AGE


def parse_id_keys(value: str) -> dict[int, bytes]:
    """`ID_KEYS`: ``2=secret,3=secret`` (versions from 2; version 1 is SECRET_KEY)."""
    keys: dict[int, bytes] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        version, sep, secret = part.partition("=")
        if not sep or not version.strip().isdigit() or int(version) < 2:
            raise ValueError("must be VERSION=SECRET pairs with versions from 2, e.g. 2=…,3=…")
        if len(secret.strip()) < 16:
            raise ValueError(f"the key of version {version.strip()} is shorter than 16 characters")
        keys[int(version)] = secret.strip().encode()
    return keys
