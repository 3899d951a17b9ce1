"""The person's rights (PIPL): consent and its withdrawal, a guardian for a child under 14, the
copy of one's data, erasure (and exactly what stays), the access log, the ID-number cipher."""

import asyncio
import base64
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bot.config import ConfigError, load_settings
from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, PermissionDenied
from bot.domain.local_time import local_today
from bot.domain.principal import Grant, Place, Principal
from bot.domain.privacy import CONSENT_VERSION, Access, Purpose, age_on, birth_date
from bot.domain.timebank import AccountKind, TransactionKind
from bot.domain.volunteers import Skill, VolunteerStatus, check_character
from bot.services import access_log, privacy, shifts, volunteers
from bot.services.crypto import CipherError, PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.models import (
    AccessLogEntry,
    AuditEntry,
    ChannelAccount,
    LedgerEntry,
    LedgerTransaction,
    MatchProfile,
    Need,
    Person,
    RoleGrant,
    ServiceRecord,
    Volunteer,
)
from storage.uow import UnitOfWork
from tests.support.clock import set_clock
from tests.support.factories import Map, make_map, make_person

CIPHER = PersonalDataCipher(b"test-secret")
START = datetime.now(UTC) + timedelta(days=3)


def valid_id(first17: str) -> str:
    return first17 + check_character(first17)


def worker(world: Map, person: int) -> Principal:
    return Principal(
        person,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )


def home(world: Map, person: int, locale: str = "zh") -> Principal:
    return Principal(person, locale, home=Place(world.community_a1, world.street_a, world.district))


async def register(
    uow: UnitOfWork, principal: Principal, number: str, name: str = "王芳"
) -> volunteers.VolunteerView:
    await privacy.give_registration_consent(uow, principal, locale="zh", id_number=True)
    return await volunteers.register(
        uow,
        CIPHER,
        RecordingNotifier(),
        principal,
        real_name=name,
        id_number=number,
        phone="13800138000",
        skills=[Skill.COOKING],
        tags=["理发"],
        availability=["sat_am"],
        community_ids=[],
    )


# ---------------------------------------------------------------- the cipher


def test_id_numbers_sealed_with_sm4_carry_their_algorithm_and_key_version() -> None:
    sm4 = PersonalDataCipher(b"test-secret", algorithm="sm4", keys={2: b"a-new-key-for-2026"})
    token = sm4.encrypt("500106198506121234")
    assert token.startswith("sm4:2:") and "500106" not in token
    assert sm4.decrypt(token) == "500106198506121234"
    # The label is authenticated: relabelled as key 1 (or AES) it does not open.
    with pytest.raises(CipherError):
        sm4.decrypt("sm4:1:" + token.removeprefix("sm4:2:"))


def test_older_ciphertexts_still_open_after_rotation_and_are_flagged_for_reencryption() -> None:
    # What the cipher of migration 0004 wrote: a bare Fernet token with the SECRET_KEY key.
    key = hashlib.sha256(b"wushe-personal-data:" + b"test-secret").digest()
    bare = Fernet(base64.urlsafe_b64encode(key)).encrypt(b"x").decode()
    rotated = PersonalDataCipher(b"test-secret", algorithm="sm4", keys={2: b"0123456789abcdef"})
    assert rotated.decrypt(bare) == "x" and not rotated.is_current(bare)
    assert PersonalDataCipher(b"test-secret").is_current(CIPHER.encrypt("y"))
    with pytest.raises(CipherError):
        PersonalDataCipher(b"test-secret").decrypt(rotated.encrypt("z"))  # key 2 not configured


def test_cipher_settings_are_checked() -> None:
    assert load_settings(id_cipher="SM4").id_cipher == "sm4"
    assert load_settings().id_cipher == "aes" and load_settings().access_log_retention_days == 183
    with pytest.raises(ConfigError, match="ID_CIPHER"):
        load_settings(id_cipher="des")
    with pytest.raises(ConfigError, match="ID_KEYS"):
        load_settings(id_keys="1=too-short")
    with pytest.raises(ConfigError, match="ACCESS_LOG_RETENTION_DAYS"):
        load_settings(access_log_retention_days=30)


async def test_reencrypt_moves_every_id_number_to_the_new_cipher_and_logs_one_read(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    for n in range(3):
        person = await make_person(uow, f"志愿者{n}", community=world.community_a1)
        await register(uow, home(world, person), valid_id(f"50010619850612{n}12"))
    rotated = PersonalDataCipher(b"test-secret", algorithm="sm4", keys={2: b"0123456789abcdef"})
    seen: list[tuple[int, int]] = []
    result = await privacy.reencrypt_ids(
        uow, rotated, batch=2, progress=lambda d, t: seen.append((d, t))
    )
    assert (result.total, result.reencrypted) == (3, 3) and seen == [(2, 3), (3, 3)]
    async with uow:
        tokens = (await uow.session.scalars(select(Volunteer.id_number_encrypted))).all()
        logged = [
            (e.kind, e.details["reencrypted"])
            for e in (await uow.session.scalars(select(AccessLogEntry))).all()
        ]
    assert all(t.startswith("sm4:2:") for t in tokens)
    assert sorted(rotated.decrypt(t)[:13] for t in tokens) == [
        "5001061985061",
        "5001061985061",
        "5001061985061",
    ]
    assert logged == [(Access.ID_UNMASKED, 3)]
    again = await privacy.reencrypt_ids(uow, rotated)
    assert again.reencrypted == 0


# ---------------------------------------------------------------- consent and withdrawal


async def test_consent_is_stored_with_its_version_and_time_per_purpose(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    person = await make_person(uow, "王芳", community=world.community_a1)
    principal = home(world, person)
    assert not await privacy.has_registration_consent(uow, principal)
    view = await privacy.give_registration_consent(uow, principal, locale="en", id_number=True)
    assert view.registration_current
    assert {(c.purpose, c.version, c.withdrawn_at) for c in view.items} == {
        (Purpose.VOLUNTEER, CONSENT_VERSION, None),
        (Purpose.ID_NUMBER, CONSENT_VERSION, None),
    }
    assert await privacy.has_registration_consent(uow, principal)


async def test_withdrawal_stops_sign_ups_and_matching_and_tells_the_workers(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    boss = await make_person(
        uow,
        "李主任",
        community=world.community_a1,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    person = await make_person(uow, "王芳", community=world.community_a1)
    principal = home(world, person)
    view = await register(uow, principal, valid_id("50010619850612123"))
    await volunteers.verify(
        uow, RecordingNotifier(), worker(world, boss), volunteer_id=view.id, approve=True
    )
    async with uow:
        assert await uow.session.scalar(
            select(func.count()).select_from(MatchProfile).where(MatchProfile.person_id == person)
        )
    shift = await shifts.create_shift(
        uow,
        worker(world, boss),
        community_id=world.community_a1,
        title="助餐送餐",
        place="社区食堂",
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        capacity=1,
        skills=[],
    )
    # Their place on a full shift goes to the first on the wait list.
    await shifts.sign_up(uow, principal, shift_id=shift.id)
    other = await make_person(uow, "赵敏", community=world.community_a1)
    second = await register(uow, home(world, other), valid_id("50010619850612456"), "赵敏")
    await volunteers.verify(
        uow, RecordingNotifier(), worker(world, boss), volunteer_id=second.id, approve=True
    )
    assert (await shifts.sign_up(uow, home(world, other), shift_id=shift.id)).waitlisted == 1
    notifier = RecordingNotifier()
    result = await privacy.withdraw(uow, notifier, principal)
    assert result.volunteer_stopped and result.withdrawn == 2
    assert sorted((n.person_id, n.message) for n in notifier.sent) == sorted(
        [(boss, "privacy.withdrawn"), (other, "shift.promoted")]
    )
    with pytest.raises(Conflict) as error:
        await shifts.sign_up(uow, principal, shift_id=shift.id)
    assert error.value.reason == "not_a_verified_volunteer"
    async with uow:
        profiles = await uow.session.scalar(
            select(func.count()).select_from(MatchProfile).where(MatchProfile.person_id == person)
        )
        revoked = (
            await uow.session.scalars(
                select(RoleGrant.revoked_at).where(
                    RoleGrant.person_id == person, RoleGrant.role == Role.VOLUNTEER
                )
            )
        ).all()
    assert profiles == 0 and revoked and all(at is not None for at in revoked)
    overview = await privacy.overview(uow, principal)
    assert not overview.registration_current and not overview.active
    assert all(c.withdrawn_at is not None for c in overview.items)
    with pytest.raises(Conflict):
        await privacy.withdraw(uow, RecordingNotifier(), principal)


# ---------------------------------------------------------------- children under 14


def test_the_birth_date_and_age_come_from_the_id_number() -> None:
    number = valid_id("50010620150301123")
    assert birth_date(number) == date(2015, 3, 1)
    assert age_on(date(2015, 3, 1), date(2029, 2, 28)) == 13
    assert age_on(date(2015, 3, 1), date(2029, 3, 1)) == 14


async def test_a_child_under_14_is_verified_only_after_a_worker_records_the_guardian(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    boss = await make_person(uow, "李主任", community=world.community_a1)
    outsider = await make_person(uow, "乙村干部", community=world.community_b1)
    child = await make_person(uow, "小明", community=world.community_a1)
    principal = home(world, child)
    this_year = local_today().year
    view = await register(uow, principal, valid_id(f"500106{this_year - 10}0101123"), "王小明")
    assert await privacy.guardian_needed(uow, principal)
    with pytest.raises(Conflict) as error:
        await volunteers.verify(
            uow, RecordingNotifier(), worker(world, boss), volunteer_id=view.id, approve=True
        )
    assert error.value.reason == "guardian_consent_needed"
    assert [m.real_name for m in await privacy.minors_waiting(uow, worker(world, boss))] == [
        "王小明"
    ]
    other = Principal(
        outsider,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_b1),),
    )
    with pytest.raises(PermissionDenied):
        await privacy.record_guardian_consent(
            uow, RecordingNotifier(), other, volunteer_id=view.id, guardian="王丽 母亲"
        )
    notifier = RecordingNotifier()
    await privacy.record_guardian_consent(
        uow, notifier, worker(world, boss), volunteer_id=view.id, guardian="王丽 母亲"
    )
    assert [(n.person_id, n.message) for n in notifier.sent] == [
        (child, "privacy.guardian_recorded")
    ]
    assert await privacy.minors_waiting(uow, worker(world, boss)) == ()
    verified = await volunteers.verify(
        uow, RecordingNotifier(), worker(world, boss), volunteer_id=view.id, approve=True
    )
    assert verified.status is VolunteerStatus.VERIFIED
    async with uow:
        logged = [
            (e.kind, e.actor_id, e.subject_id, e.district_id)
            for e in (await uow.session.scalars(select(AccessLogEntry))).all()
        ]
    assert logged == [(Access.ON_BEHALF, boss, child, world.district)]


async def test_an_adult_needs_no_guardian(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    boss = await make_person(uow, "李主任", community=world.community_a1)
    person = await make_person(uow, "王芳", community=world.community_a1)
    view = await register(uow, home(world, person), valid_id("50010619850612123"))
    with pytest.raises(Conflict) as error:
        await privacy.record_guardian_consent(
            uow, RecordingNotifier(), worker(world, boss), volunteer_id=view.id, guardian="王丽"
        )
    assert error.value.reason == "guardian_not_needed"


async def test_a_child_is_of_age_from_the_first_hour_of_the_birthday_in_the_community(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_map(uow)
    person = await make_person(uow, "王小红", community=world.community_a1)
    # 07:00 on 8 December 2026 in Chongqing (still the 7th in UTC): fourteen today.
    set_clock(monkeypatch, datetime(2026, 12, 7, 23, 0, tzinfo=UTC), volunteers)
    await register(uow, home(world, person), valid_id("50010620121208123"), "王小红")
    assert not await privacy.guardian_needed(uow, home(world, person))


# ---------------------------------------------------------------- a copy, and erasure


async def _with_history(uow: UnitOfWork, world: Map) -> tuple[int, int, int]:
    """A verified volunteer with one confirmed record, its time-bank entry and a request."""
    boss = await make_person(
        uow,
        "李主任",
        community=world.community_a1,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    person = await make_person(uow, "王芳", community=world.community_a1, web_id=9901)
    view = await register(uow, home(world, person), valid_id("50010619850612123"))
    await volunteers.verify(
        uow, RecordingNotifier(), worker(world, boss), volunteer_id=view.id, approve=True
    )
    shift = await shifts.create_shift(
        uow,
        worker(world, boss),
        community_id=world.community_a1,
        title="助餐送餐",
        place="社区食堂",
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        capacity=3,
        skills=[],
    )
    from bot.domain.attendance import CheckMethod, RecordStatus

    now = datetime.now(UTC)
    async with uow:
        uow.session.add(
            ServiceRecord(
                shift_id=shift.id,
                person_id=person,
                volunteer_id=view.id,
                community_id=world.community_a1,
                content="助餐送餐",
                place="社区食堂",
                status=RecordStatus.CONFIRMED,
                checked_in_at=now,
                check_in_method=CheckMethod.LOCATION,
                minutes=90,
                confirmed_at=now,
                confirmed_by=boss,
            )
        )
        uow.session.add(
            LedgerTransaction(
                id="tx1", kind=TransactionKind.SERVICE_CREDIT, created_at=now, memo=""
            )
        )
        await uow.session.flush()
        uow.session.add(
            LedgerEntry(
                transaction_id="tx1",
                account_kind=AccountKind.VOLUNTEER,
                account_owner=person,
                minutes=90,
            )
        )
        await uow.commit()
    from bot.domain.needs import Beneficiary, NeedCategory, Urgency
    from bot.services import needs

    await needs.file_need(
        uow,
        RecordingNotifier(),
        home(world, person),
        category=NeedCategory.ELDERLY_CARE,
        description="楼道灯坏了",
        urgency=Urgency.NORMAL,
        beneficiary=Beneficiary.SELF,
        latitude=29.5,
        longitude=106.4,
    )
    return boss, person, view.id


async def test_the_copy_holds_everything_stored_and_the_export_is_logged(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    _, person, _ = await _with_history(uow, world)
    data = await privacy.export(uow, home(world, person))
    parsed = json.loads(data.to_json())
    sections = parsed["sections"]
    assert sections["profile"][0]["display_name"] == "王芳"
    assert sections["accounts"][0]["external_id"] == "9901"
    assert {r["role"] for r in sections["roles"]} == {"volunteer"}
    assert {c["purpose"] for c in sections["consents"]} == {"volunteer", "id_number"}
    [registration] = sections["volunteer"]
    assert registration["real_name"] == "王芳" and registration["phone"] == "13800138000"
    assert "id_number_encrypted" not in registration and "id_number_hash" not in registration
    assert registration["id_number_masked"].startswith("5001**")
    assert sections["requests"][0]["description"] == "楼道灯坏了"
    assert sections["service_records"][0]["minutes"] == 90
    assert sections["time_bank"][0]["minutes"] == 90
    assert {a["action"] for a in sections["audit"]} >= {"volunteer.register", "volunteer.verify"}
    assert "votes" in sections and "points" in sections
    # The export itself is in the access log, and shows in the next copy.
    again = await privacy.export(uow, home(world, person))
    assert [e["kind"] for e in again.sections["access_log"]] == ["export"]


async def test_erasure_removes_contact_data_and_accounts_and_keeps_exactly_the_records(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    boss, person, volunteer_id = await _with_history(uow, world)
    notifier = RecordingNotifier()
    result = await privacy.erase(uow, notifier, home(world, person))
    assert (result.service_records_kept, result.ledger_entries_kept, result.requests_kept) == (
        1,
        1,
        1,
    )
    assert result.accounts_removed == 1 and result.volunteer_number is not None
    assert [(n.person_id, n.message) for n in notifier.sent] == [(boss, "privacy.erased")]
    async with uow:
        shell = await uow.session.get(Person, person)
        row = await uow.session.get(Volunteer, volunteer_id)
        accounts = await uow.session.scalar(
            select(func.count())
            .select_from(ChannelAccount)
            .where(ChannelAccount.person_id == person)
        )
        record = (await uow.session.scalars(select(ServiceRecord))).one()
        entry = (await uow.session.scalars(select(LedgerEntry))).one()
        need = (await uow.session.scalars(select(Need))).one()
        active_roles = await uow.session.scalar(
            select(func.count())
            .select_from(RoleGrant)
            .where(RoleGrant.person_id == person, RoleGrant.revoked_at.is_(None))
        )
        audit = (
            await uow.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "person.erased")
            )
        ).one()
        uow.session.expunge_all()  # keep what was read after the unit of work rolls back
    # Gone: the name, the locale, every account and role, every contact and ID detail.
    assert shell is not None and shell.display_name == "" and shell.locale is None
    assert shell.erased_at is not None and accounts == 0 and active_roles == 0
    assert row is not None
    assert (row.real_name, row.phone, row.id_number_encrypted, row.id_number_masked) == (
        result.volunteer_number,
        "",
        "",
        "",
    )
    assert row.skills == [] and row.tags == [] and row.status is VolunteerStatus.WITHDRAWN
    # Kept, restricted: the record and the ledger entry under the volunteer number only, the
    # request's text without photo or location, and the audit entry of the erasure.
    assert (record.volunteer_id, record.minutes) == (volunteer_id, 90)
    assert (entry.account_owner, entry.minutes) == (person, 90)
    assert need.description == "楼道灯坏了" and need.latitude is None and need.photo is None
    assert audit.actor_id == person and audit.details["service_records_kept"] == 1
    assert "王芳" not in json.dumps(audit.details, ensure_ascii=False)
    # Whatever still points at the person says nothing about who they were.
    left = await privacy.export(uow, home(world, person))
    dumped = left.to_json()
    assert "王芳" not in dumped and "13800138000" not in dumped
    # The chat id as a value anywhere (as a substring it can turn up in a timestamp's
    # microseconds, which made this test fail now and then).
    assert "9901" not in _leaves(json.loads(dumped))


def _leaves(value: object) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_leaves(v) for v in value.values()), set(map(str, value)))
    if isinstance(value, list):
        return set().union(*(_leaves(v) for v in value))
    return {str(value)}


# ---------------------------------------------------------------- the access log


async def test_the_access_log_is_paged_for_district_admins_only_and_pruned_after_retention(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    person = await make_person(uow, "王芳", community=world.community_a1)
    now = datetime.now(UTC)
    async with uow:
        for n in range(12):
            await access_log.record(
                uow,
                actor_id=person,
                subject_id=person,
                kind=Access.EXPORT,
                reason=f"export {n}",
                at=now - timedelta(days=n * 20),
            )
        await uow.commit()
    admin = Principal(
        person, "zh", grants=(Grant(Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, world.district),)
    )
    first = await access_log.page(uow, admin)
    assert (first.total, first.pages, len(first.items)) == (12, 2, 10)
    assert first.items[0].reason == "export 0" and first.items[0].subject_name == "王芳"
    second = await access_log.page(uow, admin, page=1)
    assert [i.reason for i in second.items] == ["export 10", "export 11"]
    elsewhere = Principal(
        person, "zh", grants=(Grant(Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, world.district + 99),)
    )
    assert (await access_log.page(uow, elsewhere)).total == 0
    with pytest.raises(PermissionDenied):
        await access_log.page(uow, worker(world, person))
    # Six months are kept: entries 200 and 220 days old go, 180 days stays.
    assert await access_log.prune(uow, keep_days=183, now=now) == 2
    assert (await access_log.page(uow, admin)).total == 10


async def test_an_export_of_other_peoples_data_is_logged_under_the_workers_district(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    boss = await make_person(uow, "李主任", community=world.community_a1)
    await access_log.log_export(
        uow, worker(world, boss), reason="spot-check sheet", details={"id": 3}
    )
    admin = Principal(
        boss, "zh", grants=(Grant(Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, world.district),)
    )
    [entry] = (await access_log.page(uow, admin)).items
    assert (entry.kind, entry.actor_name, entry.subject_id, entry.reason) == (
        Access.EXPORT,
        "李主任",
        None,
        "spot-check sheet",
    )


def test_the_reencrypt_command_reports_progress_and_seals_with_the_new_cipher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import main
    from storage import migrate
    from storage.db import make_engine, make_session_factory

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "cli-secret")
    monkeypatch.chdir(tmp_path)

    async def registered() -> None:
        await migrate.upgrade(url)
        engine = make_engine(url)
        uow = UnitOfWork(make_session_factory(engine))
        world = await make_map(uow)
        for n in range(2):
            person = await make_person(uow, f"志愿者{n}", community=world.community_a1)
            await volunteers.register(
                uow,
                PersonalDataCipher(b"cli-secret"),
                RecordingNotifier(),
                home(world, person),
                real_name=f"志愿者{n}",
                id_number=valid_id(f"50010619850612{n}12"),
                phone="13800138000",
                skills=[],
                tags=[],
                availability=[],
                community_ids=[],
            )
        await engine.dispose()

    async def tokens() -> list[str]:
        engine = make_engine(url)
        async with engine.connect() as connection:
            found = list((await connection.scalars(select(Volunteer.id_number_encrypted))).all())
        await engine.dispose()
        return found

    asyncio.run(registered())
    assert all(t.startswith("aes:1:") for t in asyncio.run(tokens()))
    monkeypatch.setenv("ID_CIPHER", "sm4")
    monkeypatch.setenv("ID_KEYS", "2=a-fresh-key-of-2026")
    assert main(["admin", "reencrypt", "--batch", "1"]) == 0
    out = capsys.readouterr().out
    assert "Re-encrypting ID numbers with sm4:2" in out
    assert "1/2 read" in out and "2/2 read" in out and "Done: 2 of 2 re-encrypted" in out
    stored = asyncio.run(tokens())
    rotated = PersonalDataCipher(b"cli-secret", algorithm="sm4", keys={2: b"a-fresh-key-of-2026"})
    assert all(t.startswith("sm4:2:") for t in stored)
    assert sorted(rotated.decrypt(t) for t in stored) == sorted(
        valid_id(f"50010619850612{n}12") for n in range(2)
    )


async def test_a_named_paper_vote_is_an_action_on_the_persons_behalf_an_anonymous_one_is_not(
    uow: UnitOfWork,
) -> None:
    from bot.services import consultations
    from tests.unit.test_consultations import CIPHER as BALLOTS
    from tests.unit.test_consultations import open_one, setting

    w, boss, _, people, _ = await setting(uow)
    named = await open_one(uow, w, boss, anonymous=False, major=False)
    secret = await open_one(uow, w, boss, anonymous=True, major=False)
    for c in (named, secret):
        await consultations.record_paper_vote(
            uow,
            BALLOTS,
            boss,
            consultation_id=c.id,
            person_id=people[0].person_id,
            option_id=c.options[0].id,
        )
    async with uow:
        logged = [
            (e.kind, e.actor_id, e.subject_id, e.details)
            for e in (await uow.session.scalars(select(AccessLogEntry))).all()
        ]
    assert logged == [
        (Access.ON_BEHALF, boss.person_id, people[0].person_id, {"consultation": named.id})
    ]
