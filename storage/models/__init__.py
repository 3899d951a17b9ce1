"""The ORM rows, one module per feature. Importing this package maps every table: Alembic's
metadata and `from storage.models import X` both rely on it."""

from storage.models.api_clients import ApiClient, ApiIdempotency
from storage.models.audit import AuditEntry
from storage.models.base import Base
from storage.models.broadcasts import (
    Broadcast,
    BroadcastOptOut,
    Emergency,
    EmergencyShift,
    OutboxMessage,
    RollCall,
)
from storage.models.competitions import (
    Competition,
    CompetitionAward,
    CompetitionProposal,
    CompetitionReviewer,
    CompetitionScore,
)
from storage.models.consultations import (
    Consultation,
    ConsultationCommunity,
    ConsultationOpinion,
    ConsultationOption,
    ConsultationParticipant,
    ConsultationSeat,
    ConsultationVote,
    OpinionSupport,
)
from storage.models.funds import Fund, FundAllocation, FundDonation, FundExpenditure
from storage.models.groups import CommunityGroup
from storage.models.kpis import DashboardLink
from storage.models.matching import MatchProfile, NeedOffer
from storage.models.needs import Need, NeedCounter, NeedEvent, NeedFeedback, NeedSupporter
from storage.models.organisations import Organisation, OrganisationCommunity, OrganisationInvite
from storage.models.people import ChannelAccount, LinkCode, Person, RoleGrant
from storage.models.places import Community, District, Grid, Street
from storage.models.privacy import AccessLogEntry, PrivacyConsent
from storage.models.projects import (
    PartyDecision,
    Project,
    ProjectCommunity,
    ProjectEvaluation,
    ProjectNeed,
)
from storage.models.purchases import (
    PurchaseEvaluation,
    PurchaseMilestone,
    PurchasePayment,
    ServicePurchase,
)
from storage.models.records import (
    Certificate,
    LedgerEntry,
    LedgerTransaction,
    PointsEntry,
    RecordCorrection,
    Redemption,
    Reward,
    ServiceRecord,
    SpotCheck,
    SpotCheckItem,
    TimeTransfer,
)
from storage.models.replays import ProcessedUpdate
from storage.models.resources import Resource, ResourceReservation
from storage.models.shifts import Shift, ShiftSignup
from storage.models.social_work import (
    DistrictBaseline,
    SocialWorkCertificate,
    SocialWorkPlace,
    SocialWorkService,
    SocialWorkStaff,
    TrainingAttendance,
)
from storage.models.surveys import (
    Survey,
    SurveyAnswer,
    SurveyCommunity,
    SurveyOption,
    SurveyQuestion,
    SurveyResponse,
)
from storage.models.volunteers import Volunteer, VolunteerCommunity, VolunteerCounter
from storage.models.webchat import WebChatChat, WebChatEvent, WebChatFile, WebChatMessage
from storage.models.webhooks import WebhookDelivery, WebhookEvent, WebhookSubscription
from storage.models.wecom import WecomAlert, WecomRobot

__all__ = [
    "AccessLogEntry",
    "ApiClient",
    "ApiIdempotency",
    "AuditEntry",
    "Base",
    "Broadcast",
    "BroadcastOptOut",
    "Certificate",
    "ChannelAccount",
    "Community",
    "CommunityGroup",
    "Competition",
    "CompetitionAward",
    "CompetitionProposal",
    "CompetitionReviewer",
    "CompetitionScore",
    "Consultation",
    "ConsultationCommunity",
    "ConsultationOpinion",
    "ConsultationOption",
    "ConsultationParticipant",
    "ConsultationSeat",
    "ConsultationVote",
    "DashboardLink",
    "District",
    "DistrictBaseline",
    "Emergency",
    "EmergencyShift",
    "Fund",
    "FundAllocation",
    "FundDonation",
    "FundExpenditure",
    "Grid",
    "LedgerEntry",
    "LedgerTransaction",
    "LinkCode",
    "MatchProfile",
    "Need",
    "NeedCounter",
    "NeedEvent",
    "NeedFeedback",
    "NeedOffer",
    "NeedSupporter",
    "OpinionSupport",
    "Organisation",
    "OrganisationCommunity",
    "OrganisationInvite",
    "OutboxMessage",
    "PartyDecision",
    "Person",
    "PointsEntry",
    "PrivacyConsent",
    "ProcessedUpdate",
    "Project",
    "ProjectCommunity",
    "ProjectEvaluation",
    "ProjectNeed",
    "PurchaseEvaluation",
    "PurchaseMilestone",
    "PurchasePayment",
    "RecordCorrection",
    "Redemption",
    "Resource",
    "ResourceReservation",
    "Reward",
    "RoleGrant",
    "RollCall",
    "ServicePurchase",
    "ServiceRecord",
    "Shift",
    "ShiftSignup",
    "SocialWorkCertificate",
    "SocialWorkPlace",
    "SocialWorkService",
    "SocialWorkStaff",
    "SpotCheck",
    "SpotCheckItem",
    "Street",
    "Survey",
    "SurveyAnswer",
    "SurveyCommunity",
    "SurveyOption",
    "SurveyQuestion",
    "SurveyResponse",
    "TimeTransfer",
    "TrainingAttendance",
    "Volunteer",
    "VolunteerCommunity",
    "VolunteerCounter",
    "WebChatChat",
    "WebChatEvent",
    "WebChatFile",
    "WebChatMessage",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
    "WecomAlert",
    "WecomRobot",
]
