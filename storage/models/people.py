"""The five-actor store: places, people and their channel accounts, role grants, organisations,
and the append-only audit log. Later features add their own modules and migrations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.domain.attendance import CheckMethod, CorrectionStatus, RecordStatus, SpotResult
from bot.domain.broadcasts import (
    BroadcastState,
    ButtonKind,
    DeliveryState,
    RollCallAnswer,
    Topic,
)
from bot.domain.competitions import AwardReason, CallState
from bot.domain.consultations import Actor
from bot.domain.enums import (
    Channel,
    CommunityKind,
    OrganisationType,
    RegistrationStatus,
    Role,
    ScopeLevel,
)
from bot.domain.matching import OfferKind, OfferStatus
from bot.domain.needs import Beneficiary, ClosureReason, NeedCategory, NeedState, Urgency
from bot.domain.points import PointsKind, RedemptionStatus
from bot.domain.privacy import Access, Purpose
from bot.domain.projects import ProjectKind, ProjectState
from bot.domain.purchases import FundingSource, MilestoneState
from bot.domain.resources import ReservationStatus, ResourceKind
from bot.domain.social_work import CertificateLevel, CertificateState, ServiceLevel, ShiftKind
from bot.domain.timebank import AccountKind, TransactionKind, TransferKind, TransferStatus
from bot.domain.volunteers import SignupStatus, VolunteerStatus
from storage.types import UtcDateTime, utcnow

# Integer on SQLite so that the primary key is the rowid and autoincrements.
Id = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def enum_column(enum: type[Any], name: str) -> Enum:
    # Stored as plain strings: adding a value later needs no ALTER TYPE on PostgreSQL.
    return Enum(
        enum,
        name=name,
        native_enum=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, nullable=False)


class District(Timestamped, Base):
    __tablename__ = "districts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(100))
    streets: Mapped[list[Street]] = relationship(back_populates="district")


class Street(Timestamped, Base):
    """Street (街道) or township (乡镇)."""

    __tablename__ = "streets"
    __table_args__ = (UniqueConstraint("district_id", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    is_township: Mapped[bool] = mapped_column(Boolean, default=False)
    district: Mapped[District] = relationship(back_populates="streets")
    communities: Mapped[list[Community]] = relationship(back_populates="street")


class Community(Timestamped, Base):
    """Community (社区) or village (村)."""

    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    # Short code used in reference numbers (e.g. YZ-2026-00042).
    code: Mapped[str] = mapped_column(String(12), unique=True)
    kind: Mapped[CommunityKind] = mapped_column(enum_column(CommunityKind, "community_kind"))
    resident_population: Mapped[int] = mapped_column(Integer, default=0)
    # Hours to answer a need, per urgency; None: the defaults (24 h, 72 h, 7 days).
    due_hours_urgent: Mapped[int | None] = mapped_column(Integer)
    due_hours_normal: Mapped[int | None] = mapped_column(Integer)
    due_hours_can_wait: Mapped[int | None] = mapped_column(Integer)
    street: Mapped[Street] = relationship(back_populates="communities")
    grids: Mapped[list[Grid]] = relationship(back_populates="community")
    # 五社联动示范点: the year it was named a demonstration site (None: not one).
    demonstration_year: Mapped[int | None] = mapped_column(Integer)
    # The community's own duty phone (值班电话), shown next to 120/119/110 in an emergency.
    duty_phone: Mapped[str | None] = mapped_column(String(32))


class Grid(Timestamped, Base):
    """Grid (网格): the smallest unit, looked after by a grid worker."""

    __tablename__ = "grids"
    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    community: Mapped[Community] = relationship(back_populates="grids")


class Person(Timestamped, Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # None until the person has chosen; the first conversation asks.
    locale: Mapped[str | None] = mapped_column(String(8))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    # Set when the person had their data erased (/deleteme): the row stays, anonymous, so the
    # records the rules keep still point somewhere (docs/privacy.md).
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Large text on the web chat page (kept on the person: every device and reload has it).
    large_text: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The contact phone and address last given with a request (offered again next time).
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(200))
    accounts: Mapped[list[ChannelAccount]] = relationship(back_populates="person")


class ChannelAccount(Timestamped, Base):
    """One chat identity (a Telegram user, a web chat browser...) of one person."""

    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    external_id: Mapped[str] = mapped_column(String(128))
    # Where to send messages on this channel (Telegram chat id, web client id...).
    chat_id: Mapped[str] = mapped_column(String(128))
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Set when the platform says the person blocked the bot; cleared when they write again.
    blocked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    person: Mapped[Person] = relationship(back_populates="accounts")


class Organisation(Timestamped, Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[OrganisationType] = mapped_column(enum_column(OrganisationType, "org_type"))
    registration: Mapped[RegistrationStatus] = mapped_column(
        enum_column(RegistrationStatus, "registration_status")
    )
    registration_number: Mapped[str | None] = mapped_column(String(64))
    contact: Mapped[str | None] = mapped_column(String(200))
    # Its home community (or street); service areas arrive with the organisations issue.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"), index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)


class RoleGrant(Timestamped, Base):
    """A role over one district, street or community. Revoked grants stay, for the record."""

    __tablename__ = "role_grants"
    __table_args__ = (Index("ix_role_grants_active", "person_id", "revoked_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    scope_level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    # Social workers: holds the national social-work certificate (持社工证).
    certified: Mapped[bool] = mapped_column(Boolean, default=False)
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    @property
    def scope_id(self) -> int:
        ids = {
            ScopeLevel.DISTRICT: self.district_id,
            ScopeLevel.STREET: self.street_id,
            ScopeLevel.COMMUNITY: self.community_id,
        }
        value = ids[self.scope_level]
        assert value is not None, "a grant always names its scope"
        return value


class AuditEntry(Base):
    """Append-only: who did what, when, to which record. Never updated or deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)


class LinkCode(Timestamped, Base):
    """A short-lived code that joins a second channel account to an existing person."""

    __tablename__ = "link_codes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


# ---------------------------------------------------------------- needs (诉求), migration 0002


class Need(Base):
    """A resident's need, from collection to feedback. Its history is in need_events."""

    __tablename__ = "needs"
    __table_args__ = (
        Index("ix_needs_community_state", "community_id", "state"),
        Index("ix_needs_state_due", "state", "due_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    category: Mapped[NeedCategory] = mapped_column(enum_column(NeedCategory, "need_category"))
    description: Mapped[str] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Someone should come (上门): where and whom to call. Shown to the workers and handlers only.
    wants_visit: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(200))
    urgency: Mapped[Urgency] = mapped_column(enum_column(Urgency, "urgency"))
    beneficiary: Mapped[Beneficiary] = mapped_column(enum_column(Beneficiary, "beneficiary"))
    state: Mapped[NeedState] = mapped_column(enum_column(NeedState, "need_state"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    remind_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    assignee_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    assignee_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    referred_to: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closure_reason: Mapped[ClosureReason | None] = mapped_column(
        enum_column(ClosureReason, "closure_reason")
    )


class NeedSupporter(Base):
    """ "Me too": another resident with the same need, counted instead of a duplicate."""

    __tablename__ = "need_supporters"
    __table_args__ = (UniqueConstraint("need_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class NeedEvent(Base):
    """What happened to a need, shown as its history; `public` ones the resident sees too."""

    __tablename__ = "need_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[NeedState | None] = mapped_column(enum_column(NeedState, "need_state"))
    to_state: Mapped[NeedState | None] = mapped_column(enum_column(NeedState, "need_state"))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str | None] = mapped_column(Text)


class NeedFeedback(Base):
    __tablename__ = "need_feedback"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    solved: Mapped[bool] = mapped_column(Boolean)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class NeedCounter(Base):
    """The last reference number given per community and year (locked when taken)."""

    __tablename__ = "need_counters"
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


# ---------------------------------------------------------------- needs surveys (需求调研), 0003


class Survey(Base):
    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SurveyCommunity(Base):
    __tablename__ = "survey_communities"
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)


class SurveyQuestion(Base):
    __tablename__ = "survey_questions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))  # single | multi | text
    text: Mapped[str] = mapped_column(Text)


class SurveyOption(Base):
    __tablename__ = "survey_options"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(200))


class SurveyResponse(Base):
    """One per person and survey: the unique constraint holds it even under a double tap."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("survey_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # Where the person lived when answering: results are shown per worker's scope.
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SurveyAnswer(Base):
    __tablename__ = "survey_answers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id"))
    option_id: Mapped[int | None] = mapped_column(ForeignKey("survey_options.id"))
    text: Mapped[str | None] = mapped_column(Text)


# ---------------------------------------------------------------- volunteers, migration 0004


class Volunteer(Base):
    """A resident registered as a volunteer (实名注册); verified by a worker who saw the ID."""

    __tablename__ = "volunteers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    home_community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    real_name: Mapped[str] = mapped_column(String(50))
    # Encrypted; shown only masked. The keyed hash finds a second registration of one ID.
    id_number_encrypted: Mapped[str] = mapped_column(Text)
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    phone: Mapped[str] = mapped_column(String(20))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    availability: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The same lists as bit masks (bot/domain/matching.py), kept in step by the service.
    skills_mask: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    availability_mask: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[VolunteerStatus] = mapped_column(
        enum_column(VolunteerStatus, "volunteer_status")
    )
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # Under 14 by the ID number: verified only after a guardian's consent (PIPL Art. 31).
    guardian_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class VolunteerCommunity(Base):
    """The communities a volunteer serves in."""

    __tablename__ = "volunteer_communities"
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id"), primary_key=True, index=True
    )


class VolunteerCounter(Base):
    """The last volunteer number given per community (locked when taken)."""

    __tablename__ = "volunteer_counters"
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


# ---------------------------------------------------------------- shifts, migration 0005


class Shift(Base):
    """A time and place where volunteers are needed (projects will own shifts later)."""

    __tablename__ = "shifts"
    __table_args__ = (Index("ix_shifts_community_start", "community_id", "starts_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[int] = mapped_column(Integer, default=300)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    cancel_hours: Mapped[int] = mapped_column(Integer, default=12)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    # A training session (社会工作教育培训) is a shift of kind "training": posted, signed up
    # for, reminded and checked into the same way; its attendance is a TrainingAttendance.
    kind: Mapped[ShiftKind] = mapped_column(
        enum_column(ShiftKind, "shift_kind"), default=ShiftKind.SERVICE, server_default="service"
    )


class ShiftSignup(Base):
    """One volunteer on one shift: confirmed, on the wait list (in order), or cancelled."""

    __tablename__ = "shift_signups"
    __table_args__ = (UniqueConstraint("shift_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[SignupStatus] = mapped_column(enum_column(SignupStatus, "signup_status"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reminded_day_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reminded_hour_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


# ------------------------------------------------ attendance, time bank, migration 0006


class ServiceRecord(Base):
    """The service record of the 2020 rules: one per volunteer and shift. Name and number come
    from the volunteer, organiser from the community, "who recorded it" is `confirmed_by`."""

    __tablename__ = "service_records"
    __table_args__ = (
        UniqueConstraint("shift_id", "person_id"),
        Index("ix_service_records_community_status", "community_id", "status"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    content: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    status: Mapped[RecordStatus] = mapped_column(enum_column(RecordStatus, "record_status"))
    checked_in_at: Mapped[datetime] = mapped_column(UtcDateTime())
    check_in_method: Mapped[CheckMethod] = mapped_column(enum_column(CheckMethod, "check_method"))
    checked_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    check_out_method: Mapped[CheckMethod | None] = mapped_column(
        enum_column(CheckMethod, "check_method")
    )
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    adjustment_reason: Mapped[str | None] = mapped_column(Text)
    # The ledger transaction that currently credits this record (None until confirmed).
    credit_tx: Mapped[str | None] = mapped_column(String(32))


class RecordCorrection(Base):
    """A volunteer asks the recorder to change a record's minutes; the decision is audited."""

    __tablename__ = "record_corrections"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("service_records.id"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    minutes: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[CorrectionStatus] = mapped_column(
        enum_column(CorrectionStatus, "correction_status")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)


class LedgerTransaction(Base):
    """The time bank's journal (see bot/domain/timebank.py). Rows are only ever added."""

    __tablename__ = "ledger_transactions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[TransactionKind] = mapped_column(enum_column(TransactionKind, "tx_kind"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    memo: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str | None] = mapped_column(String(64), index=True)
    # Unique: a transaction is reversed at most once, also under concurrent spot checks.
    reverses: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account", "account_kind", "account_owner"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_kind: Mapped[AccountKind] = mapped_column(enum_column(AccountKind, "account_kind"))
    account_owner: Mapped[int] = mapped_column(BigInteger)
    minutes: Mapped[int] = mapped_column(Integer)


class PointsEntry(Base):
    """Points are their own append-only list: the balance is the sum."""

    __tablename__ = "points_entries"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    kind: Mapped[PointsKind] = mapped_column(enum_column(PointsKind, "points_kind"))
    reference: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Reward(Base):
    __tablename__ = "rewards"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200))
    points: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Redemption(Base):
    __tablename__ = "redemptions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[RedemptionStatus] = mapped_column(
        enum_column(RedemptionStatus, "redemption_status")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    handed_over_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    handed_over_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class Certificate(Base):
    """What an issued certificate says, so /verify can confirm it (and notice later reversals)."""

    __tablename__ = "certificates"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    volunteer_name: Mapped[str] = mapped_column(String(50))
    volunteer_number: Mapped[str] = mapped_column(String(32))
    masked_id: Mapped[str] = mapped_column(String(18))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    total_minutes: Mapped[int] = mapped_column(Integer)
    record_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    issuer: Mapped[str] = mapped_column(String(200))
    person_in_charge: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SpotCheck(Base):
    """A random draw of confirmed records; the seed is kept so the draw can be repeated."""

    __tablename__ = "spot_checks"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    sample_size: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    drawn_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SpotCheckItem(Base):
    __tablename__ = "spot_check_items"
    __table_args__ = (UniqueConstraint("spot_check_id", "record_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_checks.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("service_records.id"))
    result: Mapped[SpotResult] = mapped_column(enum_column(SpotResult, "spot_result"))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class TimeTransfer(Base):
    """A gift or exchange proposed by one person and posted only when the other accepts, so
    both have confirmed it. The ledger transaction is `tx_id` once accepted."""

    __tablename__ = "time_transfers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[TransferKind] = mapped_column(enum_column(TransferKind, "transfer_kind"))
    token: Mapped[str] = mapped_column(String(32), unique=True)
    proposed_by: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    minutes: Mapped[int] = mapped_column(Integer)
    memo: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TransferStatus] = mapped_column(enum_column(TransferStatus, "transfer_status"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    tx_id: Mapped[str | None] = mapped_column(String(32))


# ------------------------------------------ organisations, projects, resources, funds: 0007


class OrganisationCommunity(Base):
    __tablename__ = "organisation_communities"
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)


class OrganisationInvite(Base):
    __tablename__ = "organisation_invites"
    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_community_state", "community_id", "state"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # The community whose workers approve it; project_communities lists all it serves.
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    kind: Mapped[ProjectKind] = mapped_column(enum_column(ProjectKind, "project_kind"))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    major: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[ProjectState] = mapped_column(enum_column(ProjectState, "project_state"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ProjectCommunity(Base):
    __tablename__ = "project_communities"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)


class ProjectNeed(Base):
    """A need this project answers (the link the evaluation counts resolved needs through)."""

    __tablename__ = "project_needs"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), primary_key=True)


class PartyDecision(Base):
    """The community Party organisation's recorded decision on a major matter."""

    __tablename__ = "party_decisions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    approve: Mapped[bool] = mapped_column(Boolean)
    decided_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ProjectEvaluation(Base):
    """What people typed at the end; hours, needs and money are computed, not typed."""

    __tablename__ = "project_evaluations"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    beneficiaries: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    evaluated_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Resource(Base):
    __tablename__ = "resources"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    kind: Mapped[ResourceKind] = mapped_column(enum_column(ResourceKind, "resource_kind"))
    title: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(32))
    available_from: Mapped[date | None] = mapped_column(Date)
    available_until: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # A venue marked as the community's volunteer service station (志愿服务站).
    volunteer_station: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class ResourceReservation(Base):
    __tablename__ = "resource_reservations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    reserved_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    status: Mapped[ReservationStatus] = mapped_column(
        enum_column(ReservationStatus, "reservation_status")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Fund(Base):
    """Money held by a fund-raising organisation (a community fund when a community foundation
    holds it for one community)."""

    __tablename__ = "funds"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FundDonation(Base):
    __tablename__ = "fund_donations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    donor: Mapped[str | None] = mapped_column(String(200))  # None: anonymous
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str | None] = mapped_column(String(32))  # None: unrestricted
    donated_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FundAllocation(Base):
    __tablename__ = "fund_allocations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str | None] = mapped_column(String(32))
    allocated_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FundExpenditure(Base):
    __tablename__ = "fund_expenditures"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("fund_allocations.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)
    spent_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


# ------------------------------------------------------------------ matching: migration 0008


class NeedOffer(Base):
    """A need offered to a volunteer (auto-offer: first to accept takes it) or help offered by a
    volunteer (a worker confirms by assigning)."""

    __tablename__ = "need_offers"
    __table_args__ = (UniqueConstraint("need_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[OfferKind] = mapped_column(enum_column(OfferKind, "offer_kind"))
    status: Mapped[OfferStatus] = mapped_column(enum_column(OfferStatus, "offer_status"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class MatchProfile(Base):
    """What matching reads about a verified volunteer, one row per street they serve: kept up
    to date by the services on every change it depends on (bot/services/match_profiles.py),
    so that a street's candidates are one index range scan."""

    __tablename__ = "match_profiles"
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    grid_id: Mapped[int | None] = mapped_column(Integer)
    skills_mask: Mapped[int] = mapped_column(Integer)
    availability_mask: Mapped[int] = mapped_column(Integer)
    # Bit n: the street's n-th community (by id) is served.
    served_mask: Mapped[int] = mapped_column(BigInteger)
    open_load: Mapped[int] = mapped_column(Integer)
    confirmed: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    rating: Mapped[float | None] = mapped_column(Float)


# ------------------------------------------------ broadcasts and emergencies: migration 0010


class Broadcast(Base):
    """A message to an audience, sent through the outbox (one row per recipient)."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    topic: Mapped[Topic] = mapped_column(enum_column(Topic, "broadcast_topic"))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    text_zh: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    button: Mapped[ButtonKind] = mapped_column(enum_column(ButtonKind, "broadcast_button"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"))
    emergency_id: Mapped[int | None] = mapped_column(ForeignKey("emergencies.id"), index=True)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[BroadcastState] = mapped_column(
        enum_column(BroadcastState, "broadcast_state"), index=True
    )
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    total: Mapped[int] = mapped_column(Integer, default=0)
    # The author's progress message, edited while it goes out.
    progress_channel: Mapped[Channel | None] = mapped_column(enum_column(Channel, "channel"))
    progress_chat_id: Mapped[str | None] = mapped_column(String(128))
    progress_message_id: Mapped[int | None] = mapped_column(Integer)
    progress_text: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OutboxMessage(Base):
    """One recipient of one broadcast. Claimed with FOR UPDATE SKIP LOCKED on PostgreSQL;
    `sending` is written before the platform is called, so a row is never sent twice."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "person_id"),
        UniqueConstraint("broadcast_id", "group_id", name="uq_outbox_broadcast_group"),
        Index("ix_outbox_channel_state", "channel", "state", "not_before"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"))
    # A person's row, or a community group's (楼栋群) row: exactly one of the two.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("community_groups.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    chat_id: Mapped[str] = mapped_column(String(128))
    locale: Mapped[str] = mapped_column(String(8))
    state: Mapped[DeliveryState] = mapped_column(enum_column(DeliveryState, "delivery_state"))
    not_before: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str] = mapped_column(String(200), default="")
    clicked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CommunityGroup(Base):
    """A group chat (楼栋群, a building's or a grid's group) linked to a community by one of
    its workers who is an admin of the group; broadcasts to "the community's groups" are
    posted there. Unlinking keeps the row (the outbox refers to it) with `unlinked_at` set."""

    __tablename__ = "community_groups"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    chat_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(255), default="")
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    linked_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    unlinked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class BroadcastOptOut(Base):
    __tablename__ = "broadcast_opt_outs"
    __table_args__ = (UniqueConstraint("person_id", "topic"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    topic: Mapped[Topic] = mapped_column(enum_column(Topic, "broadcast_topic"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Emergency(Base):
    """应急状态 of a community, or of every community of a street."""

    __tablename__ = "emergencies"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    scope_id: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    started_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class EmergencyShift(Base):
    """The shift volunteers check in against, one per community in the emergency."""

    __tablename__ = "emergency_shifts"
    emergency_id: Mapped[int] = mapped_column(ForeignKey("emergencies.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), unique=True)


class RollCall(Base):
    """A volunteer's answer to a mobilisation: coming or not (they may change it)."""

    __tablename__ = "roll_calls"
    __table_args__ = (UniqueConstraint("emergency_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    emergency_id: Mapped[int] = mapped_column(ForeignKey("emergencies.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    answer: Mapped[RollCallAnswer] = mapped_column(enum_column(RollCallAnswer, "roll_call"))
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


# ------------------------------------------------ consultations (协商议事): migration 0011


class Consultation(Base):
    __tablename__ = "consultations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # The community whose workers run it; consultation_communities lists whose residents join.
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    title: Mapped[str] = mapped_column(String(200))
    background: Mapped[str] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    major: Mapped[bool] = mapped_column(Boolean, default=False)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    discussion_ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    voting_ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    meeting_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    meeting_place: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_on: Mapped[date | None] = mapped_column(Date)  # the party organisation's meeting
    minutes: Mapped[str | None] = mapped_column(Text)
    # Votes recorded on paper by a worker (counted here so no ballot is marked as one).
    paper_votes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Who was entitled, per actor group, when it was closed: the results stay as they were.
    entitled_at_close: Mapped[dict[str, int] | None] = mapped_column(JSON)


class ConsultationCommunity(Base):
    __tablename__ = "consultation_communities"
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id"), primary_key=True, index=True
    )


class ConsultationOption(Base):
    __tablename__ = "consultation_options"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(200))


class ConsultationSeat(Base):
    """An invited participant and the actor they represent."""

    __tablename__ = "consultation_seats"
    __table_args__ = (UniqueConstraint("consultation_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    actor: Mapped[Actor] = mapped_column(enum_column(Actor, "consultation_actor"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ConsultationOpinion(Base):
    __tablename__ = "consultation_opinions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    actor: Mapped[Actor] = mapped_column(enum_column(Actor, "consultation_actor"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    hidden_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    hidden_reason: Mapped[str | None] = mapped_column(String(300))


class OpinionSupport(Base):
    __tablename__ = "opinion_supports"
    opinion_id: Mapped[int] = mapped_column(
        ForeignKey("consultation_opinions.id"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)


class ConsultationVote(Base):
    """One ballot per voter key (see domain.consultations.voter_key). An anonymous ballot has
    no person, no sequence number and no time: a keyed hash, its option and the actor group
    (its paper votes are counted on the consultation, not marked on the ballot)."""

    __tablename__ = "consultation_votes"
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), primary_key=True)
    voter_key: Mapped[str] = mapped_column(String(48), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # named votes only
    option_id: Mapped[int] = mapped_column(ForeignKey("consultation_options.id"))
    actor: Mapped[Actor] = mapped_column(enum_column(Actor, "consultation_actor"))
    assisted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Changed votes keep no history of their earlier choice (that would trace a voter).
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ConsultationParticipant(Base):
    """Who took part (voted, gave an opinion, attended): the outcome goes to them. For an
    anonymous vote this says that someone voted, never how."""

    __tablename__ = "consultation_participants"
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    voted: Mapped[bool] = mapped_column(Boolean, default=False)
    attended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


# ------------------------------------------------ indicators and the dashboard: migration 0012


class DashboardLink(Base):
    """A one-time link to the dashboard: only its hash is kept; opening it once (within ten
    minutes) starts a session scoped to the admin's area."""

    __tablename__ = "dashboard_links"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    scope_id: Mapped[int] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


# ------------------------------------------- web chat transcripts: migration 0013_webchat_store


class WebChatChat(Base):
    """One web chat's counters (never pruned, so ids are never reused) and its own menu."""

    __tablename__ = "webchat_chats"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_message_id: Mapped[int] = mapped_column(Integer, default=0)
    commands: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WebChatEvent(Base):
    """A page event of one web chat (a message, an edit, a tap's answer…), in order (seq)."""

    __tablename__ = "webchat_events"
    __table_args__ = (
        UniqueConstraint("chat_id", "seq"),
        # A retried POST (same client id) is handled once.
        UniqueConstraint("chat_id", "client_id", name="uq_webchat_events_client"),
        Index("ix_webchat_events_message", "chat_id", "message_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[int | None] = mapped_column(Integer)
    client_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class WebChatMessage(Base):
    """A bot message as the web channel keeps it (text, buttons): taps are checked against it."""

    __tablename__ = "webchat_messages"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class WebChatFile(Base):
    """A file in a web chat: a photo a person uploaded, or a document or photo the bot sent."""

    __tablename__ = "webchat_files"
    token: Mapped[str] = mapped_column(String(43), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


# ------------------------------------------------ replayed chat updates: migration 0013_replays


class ProcessedUpdate(Base):
    """A chat platform update already taken in (Telegram redelivers one when the webhook's
    answer is slow): a replay is dropped. Rows older than the keep window are pruned."""

    __tablename__ = "processed_updates"
    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


# ------------------------------------------------ HTTP API clients: migration 0020_api_clients


class ApiClient(Base):
    """A city app allowed to call the HTTP API: its secret hashed with a per-app salt
    (scrypt), its scopes and the area (district, street or community) it may act in."""

    __tablename__ = "api_clients"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(64))
    scopes: Mapped[str] = mapped_column(String(400))
    area_level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    area_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ApiIdempotency(Base):
    """The first answer to a POST with an Idempotency-Key, per app: a retry gets it again.
    `status` is NULL while the first request is still being handled."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("client_pk", "key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _audit_is_append_only(*_: object) -> None:
    raise RuntimeError("the audit log is append-only")


# ------------------------------------------------ personal-information rights: migration 0013


class PrivacyConsent(Base):
    """One consent given (to a notice of a version, in a language), kept after withdrawal."""

    __tablename__ = "privacy_consents"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    purpose: Mapped[Purpose] = mapped_column(enum_column(Purpose, "consent_purpose"))
    version: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(8))
    given_at: Mapped[datetime] = mapped_column(UtcDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # A guardian's consent is recorded by a worker: who, and the guardian's name and relation.
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    guardian: Mapped[str | None] = mapped_column(String(100))


class AccessLogEntry(Base):
    """Reads of unmasked ID numbers, exports of personal data, actions on someone's behalf.
    Kept ACCESS_LOG_RETENTION_DAYS (at least six months), then pruned."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    # The subject's district when it was written: who may read the entry.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    kind: Mapped[Access] = mapped_column(enum_column(Access, "access_kind"))
    reason: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# ------------------------------------------------ WeCom group robots (企业微信群机器人): 0019


class WecomRobot(Base):
    """The WeCom group robot of a community or a street: its webhook URL sealed (the key in
    it is a secret), the key's last four characters to show which robot it is."""

    __tablename__ = "wecom_robots"
    __table_args__ = (UniqueConstraint("level", "place_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    place_id: Mapped[int] = mapped_column(Integer)
    url_sealed: Mapped[str] = mapped_column(String(600))
    key_tail: Mapped[str] = mapped_column(String(8))
    set_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WecomAlert(Base):
    """An alert queued for a robot (the outbox of the robots): a message id and its
    parameters, rendered when sent; claimed with a lease, retried with backoff."""

    __tablename__ = "wecom_alerts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    robot_id: Mapped[int] = mapped_column(
        ForeignKey("wecom_robots.id", ondelete="CASCADE"), index=True
    )
    message: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str] = mapped_column(String(200), default="")


# ---------------------------------------------------------------- social work (issue 20, 3 and 4)


class TrainingAttendance(Base):
    """Who attended a training session and for how long: by the same check-in as a shift
    (location or site code), counted as training minutes at check-out."""

    __tablename__ = "training_attendance"
    __table_args__ = (UniqueConstraint("shift_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    checked_in_at: Mapped[datetime] = mapped_column(UtcDateTime())
    check_in_method: Mapped[CheckMethod] = mapped_column(enum_column(CheckMethod, "check_method"))
    checked_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    check_out_method: Mapped[CheckMethod | None] = mapped_column(
        enum_column(CheckMethod, "check_method")
    )
    minutes: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def status(self) -> RecordStatus:
        """Checked in, or done (counted at check-out): the words of a service record."""
        return RecordStatus.CHECKED_IN if self.checked_out_at is None else RecordStatus.CONFIRMED


class SocialWorkCertificate(Base):
    """A social-work qualification (助理社会工作师 / 社会工作师 / 高级社会工作师) a person
    recorded with its exam year; it counts once a worker has verified it."""

    __tablename__ = "social_work_certificates"
    __table_args__ = (UniqueConstraint("person_id", "level"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    level: Mapped[CertificateLevel] = mapped_column(enum_column(CertificateLevel, "cert_level"))
    exam_year: Mapped[int] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[CertificateState] = mapped_column(enum_column(CertificateState, "cert_state"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    rejection_reason: Mapped[str | None] = mapped_column(Text)


class SocialWorkPlace(Base):
    """A place of the three-level system: the district's guidance centre, a street's station
    (社工站) or a community's room (社工室), with its opening hours."""

    __tablename__ = "social_work_places"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    level: Mapped[ServiceLevel] = mapped_column(enum_column(ServiceLevel, "service_level"))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(200), default="")
    opening_hours: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SocialWorkStaff(Base):
    __tablename__ = "social_work_staff"
    place_id: Mapped[int] = mapped_column(ForeignKey("social_work_places.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)


class SocialWorkService(Base):
    """A service a room or station gave a community on a day (a visit, a group, a case)."""

    __tablename__ = "social_work_services"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("social_work_places.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    served_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("people.id"))


class DistrictBaseline(Base):
    """The year a district's growth targets are measured from (charity organisations:
    double the count at the end of that year)."""

    __tablename__ = "district_baselines"
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WebhookEvent(Base):
    """An event recorded in the transaction of the change that caused it; the sender fans it
    out to the subscriptions whose app may see it and deletes it."""

    __tablename__ = "webhook_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[int | None] = mapped_column(BigInteger)
    person_id: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WebhookSubscription(Base):
    """A city app's endpoint for events (Standard Webhooks): the URL, the event types it
    wants and its signing secret, sealed with the PersonalDataCipher (shown once)."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    events: Mapped[str] = mapped_column(String(400))
    secret_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebhookDelivery(Base):
    """One event for one subscription, recorded with the change that caused it: the message
    id stays the same across retries; a lease (claimed_by/at) keeps two senders apart."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    next_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


# ------------------------------------------------ competitions and micro-grants: 0023


class Competition(Base):
    """A call for proposals (微创投 / 公益创投 / 项目大赛) of a street or a district, funded from a
    fund of the ledger; criteria are [{"name", "weight"}] with weights summing to 100."""

    __tablename__ = "competitions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    scope_id: Mapped[int] = mapped_column(BigInteger, index=True)
    title: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(Text)
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    eligible_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    proposals_due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    review_due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    pass_mark: Mapped[int] = mapped_column(Integer, default=60)
    vote_weight: Mapped[int] = mapped_column(Integer, default=0)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    state: Mapped[CallState] = mapped_column(enum_column(CallState, "call_state"))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CompetitionProposal(Base):
    """A draft project put forward to a call: budget lines [{"item", "amount_fen"}], the needs
    of the needs list it answers (ids), the results it expects. Revisable until the deadline."""

    __tablename__ = "competition_proposals"
    __table_args__ = (UniqueConstraint("competition_id", "project_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    budget_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    need_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    expected_results: Mapped[str] = mapped_column(Text)
    requested_fen: Mapped[int] = mapped_column(BigInteger)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revised_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The option of the residents' vote that stands for this proposal.
    option_id: Mapped[int | None] = mapped_column(ForeignKey("consultation_options.id"))


class CompetitionReviewer(Base):
    """A member of the panel; the organisations they belong to are declared (conflicts)."""

    __tablename__ = "competition_reviewers"
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    organisation_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    named_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CompetitionScore(Base):
    """One reviewer's sheet for one proposal: {criterion: 0–100}; hidden until the panel closes."""

    __tablename__ = "competition_scores"
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("competition_proposals.id"), primary_key=True
    )
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    scores: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CompetitionAward(Base):
    """The published outcome of a proposal: rank, score (hundredths), amount, reason, and the
    allocation of the funds ledger that carries the money."""

    __tablename__ = "competition_awards"
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("competition_proposals.id"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(Integer)
    score_centi: Mapped[int | None] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[AwardReason] = mapped_column(enum_column(AwardReason, "award_reason"))
    allocation_id: Mapped[int | None] = mapped_column(ForeignKey("fund_allocations.id"))


# ------------------------------------------------ government purchase of services: 0024


class ServicePurchase(Base):
    """A service a street or district buys from a provider organisation (政府购买服务); its
    project (kind government_purchased) carries the service and, at the end, the evaluation."""

    __tablename__ = "service_purchases"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    scope_id: Mapped[int] = mapped_column(BigInteger, index=True)
    service: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[FundingSource] = mapped_column(enum_column(FundingSource, "funding_source"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PurchaseMilestone(Base):
    """A milestone: its deliverable and share; the provider's report with the evidence counted
    from the records ({"requests", "minutes", "people"}), the buyer's acceptance."""

    __tablename__ = "purchase_milestones"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("service_purchases.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    deliverable: Mapped[str] = mapped_column(String(200))
    share: Mapped[int] = mapped_column(Integer)
    state: Mapped[MilestoneState] = mapped_column(enum_column(MilestoneState, "milestone_state"))
    report: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, int] | None] = mapped_column(JSON)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PurchasePayment(Base):
    """The ledger of a purchase: one payment per accepted milestone, never beyond the amount."""

    __tablename__ = "purchase_payments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("service_purchases.id"), index=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("purchase_milestones.id"), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PurchaseEvaluation(Base):
    """The performance evaluation (绩效评估) at the end: [{"name", "weight", "score"}] and the
    weighted score in hundredths, kept with the project's results."""

    __tablename__ = "purchase_evaluations"
    purchase_id: Mapped[int] = mapped_column(ForeignKey("service_purchases.id"), primary_key=True)
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    score_centi: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    evaluated_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
