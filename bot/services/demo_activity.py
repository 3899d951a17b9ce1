"""A month of life in the demo district (`python -m bot demo-data`), made through the same
services people use in chat, so that every rule holds and every screen has something to show:
verified volunteers with profiles, requests in several states, shifts next week, a month of
confirmed service records, a running project, a resource, a fund with a donation and an open
consultation.

Loaded once: a second run finds the demo volunteers registered and changes nothing. ID numbers
are made up (valid check digits, birth dates in the 1960s-90s) and stored encrypted as usual."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.enums import Role, ScopeLevel
from bot.domain.needs import Beneficiary, NeedCategory, Urgency
from bot.domain.principal import Principal
from bot.domain.projects import ProjectAction, ProjectKind
from bot.domain.resources import ResourceKind
from bot.domain.volunteers import Skill, check_character
from bot.services import (
    attendance,
    consultations,
    funds,
    needs,
    organisations,
    people,
    projects,
    resources,
    roles,
    shifts,
    volunteers,
)
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.types import utcnow
from storage.uow import UnitOfWork

# (name, home community index, skills, availability, ID birth date)
VOLUNTEER_PROFILES: tuple[tuple[str, tuple[Skill, ...], tuple[str, ...], str], ...] = (
    ("李明", (Skill.REPAIRS, Skill.DRIVING), ("sat_am", "sat_pm", "sun_am"), "19780312"),
    ("张伟", (Skill.COOKING, Skill.ELDERLY_CARE), ("tue_am", "thu_am", "sat_am"), "19850621"),
    ("黄秀英", (Skill.ELDERLY_CARE, Skill.HEALTH), ("mon_am", "wed_am", "fri_am"), "19620905"),
    ("郑海", (Skill.DIGITAL, Skill.TEACHING), ("sat_am", "sat_pm", "sun_pm"), "19920118"),
)
# Registered, waiting for a worker to see the ID card.
PENDING_PROFILE = ("罗婷", (Skill.PSYCHOLOGICAL, Skill.CHILD_CARE), (), "19890430")
SITE = (29.5781, 106.4513)  # 磁器口 community centre


@dataclass(frozen=True, slots=True)
class ActivitySummary:
    created: bool
    volunteers: int = 0
    needs: int = 0
    shifts: int = 0
    records: int = 0


def _id_number(born: str, n: int) -> str:
    first17 = f"500106{born}{n:03d}"
    return first17 + check_character(first17)


async def _as(uow: UnitOfWork, person_id: int) -> Principal:
    async with uow:
        found = await people.principal_of(uow, person_id)
    assert found is not None
    return found


async def load_activity(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    *,
    communities: dict[str, int],
    person_ids: dict[str, int],
    tz: ZoneInfo,
    points_per_hour: int = 10,
    now: datetime | None = None,
) -> ActivitySummary:
    """`communities` and `person_ids` name the demo district's places and people (demo.py)."""
    now = now or utcnow()
    quiet = RecordingNotifier()  # nobody is listening: the demo people have no chats
    async with uow:
        first = await uow.volunteers.of_person(person_ids[VOLUNTEER_PROFILES[0][0]])
        if first is not None:
            return ActivitySummary(False)
    codes = list(communities.values())
    worker = {codes[0]: "王丽", codes[1]: "赵敏", codes[2]: "孙强"}

    helpers = await _volunteers(uow, cipher, quiet, person_ids, worker, codes[0])
    await _pending_volunteer(uow, cipher, quiet, person_ids)

    wang = await _as(uow, person_ids["王丽"])
    liu = await _as(uow, person_ids["刘芳"])
    records = await _past_month(uow, cipher, wang, helpers, codes[0], points_per_hour, now, tz)
    filed = await _requests(uow, quiet, person_ids, helpers)
    upcoming = await _next_week(uow, wang, helpers, codes[0], now, tz)
    await _project_resource_fund(uow, quiet, person_ids, wang, liu, codes[0], now, tz)
    await _consultation(uow, wang, codes[0], now)
    return ActivitySummary(True, len(helpers), filed, upcoming, records)


async def _volunteers(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    quiet: RecordingNotifier,
    person_ids: dict[str, int],
    worker: dict[int, str],
    first_community: int,
) -> dict[str, Principal]:
    """Volunteers: registered by themselves, verified by their community's worker."""
    helpers: dict[str, Principal] = {}
    for n, (name, skills, slots, born) in enumerate(VOLUNTEER_PROFILES, 1):
        me = await _as(uow, person_ids[name])
        assert me.home is not None
        home = me.home.community_id
        view = await volunteers.register(
            uow,
            cipher,
            quiet,
            me,
            real_name=name,
            id_number=_id_number(born, n),
            phone=f"1390236{n:04d}",
            skills=list(skills),
            tags=["社区志愿者"],
            availability=list(slots),
            community_ids=sorted({home, first_community}),
        )
        verifier = await _as(uow, person_ids[worker[home]])
        await volunteers.verify(uow, quiet, verifier, volunteer_id=view.id, approve=True)
        helpers[name] = await _as(uow, person_ids[name])
    return helpers


async def _pending_volunteer(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    quiet: RecordingNotifier,
    person_ids: dict[str, int],
) -> None:
    """One waiting for verification: shows on a worker's /volunteers."""
    name, skills, slots, born = PENDING_PROFILE
    await volunteers.register(
        uow,
        cipher,
        quiet,
        await _as(uow, person_ids[name]),
        real_name=name,
        id_number=_id_number(born, 9),
        phone="13902369999",
        skills=list(skills),
        tags=[],
        availability=list(slots),
        community_ids=[],
    )


async def _past_month(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    organiser: Principal,
    helpers: dict[str, Principal],
    community_id: int,
    points_per_hour: int,
    now: datetime,
    tz: ZoneInfo,
) -> int:
    """Four Saturday-morning services over the last month, each with two volunteers who
    checked in and out at the place, confirmed by the organiser."""
    quiet = RecordingNotifier()
    today = now.astimezone(tz).date()
    count = 0
    for weeks_ago in (4, 3, 2, 1):
        day = today - timedelta(days=7 * weeks_ago + (today.weekday() - 5) % 7)
        start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=tz)
        end = start + timedelta(hours=2, minutes=30)
        shift = await shifts.create_shift(
            uow,
            organiser,
            community_id=community_id,
            title="磁器口老街助老服务",
            place="磁器口社区服务中心",
            starts_at=start,
            ends_at=end,
            capacity=4,
            latitude=SITE[0],
            longitude=SITE[1],
            now=start - timedelta(days=3),
        )
        team = ("李明", "郑海") if weeks_ago % 2 else ("张伟", "黄秀英")
        for name in team:
            await _served(uow, helpers[name], shift.id, start, end)
        count += await _confirm_all(uow, quiet, organiser, points_per_hour, end)
    assert cipher  # site codes are not needed: everyone shared their location
    return count


async def _served(
    uow: UnitOfWork, helper: Principal, shift_id: int, start: datetime, end: datetime
) -> None:
    """Signed up two days before; checked in five minutes after the start, out at the end."""
    await shifts.sign_up(uow, helper, shift_id=shift_id, now=start - timedelta(days=2))
    for check_out, at in ((False, start + timedelta(minutes=5)), (True, end)):
        await attendance.check_by_location(
            uow,
            helper,
            shift_id=shift_id,
            latitude=SITE[0],
            longitude=SITE[1],
            check_out=check_out,
            now=at,
        )


async def _confirm_all(
    uow: UnitOfWork,
    quiet: RecordingNotifier,
    organiser: Principal,
    points_per_hour: int,
    end: datetime,
) -> int:
    """The organiser confirms every record waiting, an hour after the end."""
    count = 0
    waiting = await attendance.awaiting(uow, organiser)
    for record in waiting.items:
        await attendance.confirm(
            uow,
            quiet,
            organiser,
            record_id=record.id,
            points_per_hour=points_per_hour,
            now=end + timedelta(hours=1),
        )
        count += 1
    return count


async def _requests(
    uow: UnitOfWork,
    quiet: RecordingNotifier,
    person_ids: dict[str, int],
    helpers: dict[str, Principal],
) -> int:
    """Five requests of residents of the two 磁器口 street communities, each handled by its
    community's worker: new, accepted, assigned to a volunteer, resolved (waiting for the
    resident's answer), and resolved, confirmed and rated."""
    filed = []
    for name, category, text, urgency in (
        ("高奶奶", NeedCategory.ELDERLY_CARE, "家里灯坏了，自己换不了灯泡。", Urgency.NORMAL),
        ("马阿姨", NeedCategory.COMMUNITY_AFFAIRS, "3 栋楼道灯坏了，晚上很黑。", Urgency.URGENT),
        ("杨大爷", NeedCategory.ELDERLY_CARE, "腿脚不便，想请人每周帮忙买一次菜。", Urgency.NORMAL),
        ("谢师傅", NeedCategory.PSYCHOLOGICAL, "老伴走后睡不好，想找人聊聊。", Urgency.CAN_WAIT),
        ("杨大爷", NeedCategory.OTHER, "想学用手机挂号看病。", Urgency.CAN_WAIT),
    ):  # fmt: skip
        resident = await _as(uow, person_ids[name])
        brief = await needs.file_need(
            uow,
            quiet,
            resident,
            category=category,
            description=text,
            urgency=urgency,
            beneficiary=Beneficiary.SELF,
        )
        filed.append((resident, brief.need.id))
    await _handle_requests(uow, quiet, person_ids, helpers, filed)
    return len(filed)


async def _handle_requests(
    uow: UnitOfWork,
    quiet: RecordingNotifier,
    person_ids: dict[str, int],
    helpers: dict[str, Principal],
    filed: list[tuple[Principal, int]],
) -> None:
    """The first stays new; the others are taken on as far as their step."""
    wang = await _as(uow, person_ids["王丽"])  # 磁器口社区
    zhao = await _as(uow, person_ids["赵敏"])  # 金碧正街社区
    _new, accepted, assigned, resolved, rated = (need_id for _, need_id in filed)
    await needs.accept(uow, quiet, zhao, need_id=accepted)
    await needs.assign(uow, quiet, wang, need_id=assigned, person_id=helpers["李明"].person_id)
    await needs.assign(uow, quiet, zhao, need_id=resolved, person_id=helpers["黄秀英"].person_id)
    await needs.resolve(
        uow, quiet, helpers["黄秀英"], need_id=resolved, resolution="已约好每周二上门陪伴聊天。"
    )
    await needs.assign(uow, quiet, wang, need_id=rated, person_id=helpers["郑海"].person_id)
    await needs.resolve(
        uow, quiet, helpers["郑海"], need_id=rated, resolution="已上门教会用手机挂号。"
    )
    await needs.give_feedback(uow, quiet, filed[4][0], need_id=rated, solved=True, rating=5)


async def _next_week(
    uow: UnitOfWork,
    organiser: Principal,
    helpers: dict[str, Principal],
    community_id: int,
    now: datetime,
    tz: ZoneInfo,
) -> int:
    today = now.astimezone(tz).date()
    monday = today + timedelta(days=7 - today.weekday())
    planned = (
        (1, 9, "长者食堂助餐送餐", "磁器口社区长者食堂", (Skill.COOKING,), 3, ("张伟",)),
        (5, 9, "老街环境清洁", "磁器口正街入口", (), 8, ("李明", "郑海")),
        (6, 14, "智能手机使用课", "社区活动室", (Skill.DIGITAL, Skill.TEACHING), 2, ()),
    )
    for offset, hour, title, place, skills, capacity, team in planned:
        day = monday + timedelta(days=offset)
        start = datetime(day.year, day.month, day.day, hour, 0, tzinfo=tz)
        shift = await shifts.create_shift(
            uow,
            organiser,
            community_id=community_id,
            title=title,
            place=place,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            capacity=capacity,
            skills=list(skills),
            latitude=SITE[0],
            longitude=SITE[1],
            now=now,
        )
        for name in team:
            await shifts.sign_up(uow, helpers[name], shift_id=shift.id, now=now)
    return len(planned)


async def _project_resource_fund(
    uow: UnitOfWork,
    quiet: RecordingNotifier,
    person_ids: dict[str, int],
    worker: Principal,
    social: Principal,
    community_id: int,
    now: datetime,
    tz: ZoneInfo,
) -> None:
    today = now.astimezone(tz).date()
    await _running_project(uow, quiet, worker, social, community_id, today)
    await resources.post(
        uow,
        worker,
        community_id=community_id,
        kind=ResourceKind.VENUE,
        title="磁器口社区活动室（可容纳 40 人）",
        quantity=1,
        unit="间",
    )
    # The district charity (慈善会) holds a fund: verified by the worker, run by its admin.
    async with uow:
        charity = await uow.organisations.by_name("沙坪坝区慈善会")
        assert charity is not None
        charity_id = charity.id
    await organisations.verify(uow, quiet, worker, organisation_id=charity_id, approve=True)
    treasurer = person_ids.get("陈会长")  # a district loaded by an older version lacks him
    if treasurer is not None:
        await _charity_fund(uow, treasurer, charity_id, community_id, today)


async def _running_project(
    uow: UnitOfWork,
    quiet: RecordingNotifier,
    worker: Principal,
    social: Principal,
    community_id: int,
    today: date,
) -> None:
    """A social worker's project, approved by the worker, published and running."""
    project = await projects.draft(
        uow,
        social,
        organisation_id=None,
        title="银龄陪伴计划",
        purpose="为独居老人每周上门探访、陪伴聊天，并链接助餐、维修等服务。",
        kind=ProjectKind.SERVICE,
        categories=[NeedCategory.ELDERLY_CARE, NeedCategory.PSYCHOLOGICAL],
        community_ids=[community_id],
        budget_fen=2_000_000,
        starts_on=today - timedelta(days=20),
        ends_on=today + timedelta(days=160),
        major=False,
    )
    await projects.act(uow, quiet, social, project_id=project.id, action=ProjectAction.SUBMIT)
    await projects.act(uow, quiet, worker, project_id=project.id, action=ProjectAction.APPROVE)
    await projects.act(uow, quiet, social, project_id=project.id, action=ProjectAction.PUBLISH)
    await projects.act(uow, quiet, social, project_id=project.id, action=ProjectAction.START)


async def _charity_fund(
    uow: UnitOfWork, treasurer: int, charity_id: int, community_id: int, today: date
) -> None:
    """The charity's admin runs its fund, with a first donation."""
    await roles.grant_role(
        uow,
        roles.SYSTEM,
        person_id=treasurer,
        role=Role.ORG_ADMIN,
        level=ScopeLevel.COMMUNITY,
        scope_id=community_id,
        organisation_id=charity_id,
    )
    admin = await _as(uow, treasurer)
    fund_id = await funds.create(
        uow, admin, organisation_id=charity_id, name="磁器口助老基金", community_id=community_id
    )
    await funds.donate(
        uow,
        admin,
        fund_id=fund_id,
        amount_fen=500_000,
        donor="磁器口商户联合会",
        purpose=NeedCategory.ELDERLY_CARE,
        donated_on=today - timedelta(days=10),
    )


async def _consultation(
    uow: UnitOfWork, worker: Principal, community_id: int, now: datetime
) -> None:
    await consultations.open_consultation(
        uow,
        worker,
        consultations.NewConsultation(
            title="老街停车位怎么划？",
            background="磁器口正街周末停车紧张，居民提出重新划定停车位，请大家出主意、投票。",
            options=("正街两侧划临时车位", "只在停车场停车，正街禁停", "工作日放开、周末禁停"),
            community_ids=[community_id],
            discussion_days=5,
            voting_days=3,
        ),
        texts=(
            "社区协商：老街停车位怎么划？欢迎发表意见并投票。",
            "Consultation: parking on the old street. Give your opinion and vote.",
        ),
        reminder=("投票即将截止，请尽快投票。", "Voting closes soon: please vote."),
        now=now,
    )
