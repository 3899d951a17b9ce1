"""Social work (issue 20, 3 and 4): training attendance, social workers' certificates, places,
staff and services, and the districts' baselines — migration 0022."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.attendance import CheckMethod, RecordStatus
from bot.domain.social_work import CertificateLevel, CertificateState, ServiceLevel
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


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
