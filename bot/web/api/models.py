"""The HTTP API's request and response bodies (pydantic): validation and the OpenAPI schemas
come from the same classes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bot.domain.needs import Beneficiary, ClosureReason, NeedCategory, NeedState, Urgency
from bot.domain.text import clean_text

Text = Annotated[str, AfterValidator(clean_text)]
DbInt = Annotated[int, Field(ge=1, le=2**31 - 1)]
PERSON_PATTERN = r"^[A-Za-z0-9_.:-]+$"
# https only, no user:password@, no spaces: the address is shown to workers, never fetched here.
PhotoUrl = Annotated[
    str, Field(max_length=290, pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$")
]
PersonId = Annotated[str, Field(min_length=1, max_length=80, pattern=PERSON_PATTERN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TokenIn(BaseModel):
    """OAuth 2 client credentials (RFC 6749 §4.4), as a form or as JSON."""

    model_config = ConfigDict(extra="forbid")
    grant_type: Literal["client_credentials"]
    client_id: Annotated[Text, Field(min_length=1, max_length=64)]
    client_secret: Annotated[Text, Field(min_length=1, max_length=200)]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: str


class RequestIn(Strict):
    """A resident's request, filed by the app for the person it acts for."""

    category: NeedCategory
    description: Annotated[Text, Field(min_length=1, max_length=2000)]
    urgency: Urgency = Urgency.NORMAL
    beneficiary: Beneficiary = Beneficiary.SELF
    community_id: DbInt | None = Field(
        default=None,
        description="The resident's community, needed the first time the app acts for a "
        "person (it must be inside the app's area).",
    )
    latitude: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None
    wants_visit: bool = False
    contact_phone: Annotated[Text, Field(max_length=32)] | None = None
    address: Annotated[Text, Field(max_length=200)] | None = None
    photo_url: PhotoUrl | None = Field(
        default=None,
        description="An https address of a photo the resident took (kept with the request, "
        "shown to workers as a link or, on Telegram, as the photo).",
    )
    person: PersonId | None = Field(
        default=None, description="The app's own id of the resident (or the Person header)."
    )


class FeedbackIn(Strict):
    solved: bool
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    comment: Annotated[Text, Field(max_length=1000)] | None = None
    person: PersonId | None = None


class CommunityOut(BaseModel):
    id: int
    name: str
    name_en: str | None


class RequestOut(BaseModel):
    id: int
    reference: str
    category: NeedCategory
    urgency: Urgency
    state: NeedState
    description: str
    created_at: datetime
    due_at: datetime
    supporters: int
    assignee: str | None
    community: CommunityOut


class EventOut(BaseModel):
    at: datetime
    kind: str
    from_state: NeedState | None
    to_state: NeedState | None
    text: str | None


class RequestDetailOut(RequestOut):
    beneficiary: Beneficiary
    resolution: str | None
    closure_reason: ClosureReason | None
    history: list[EventOut]


class FiledOut(BaseModel):
    request: RequestOut
    emergency: bool = Field(
        description="The text looks like an emergency: the app should show 120/119/110."
    )


class RequestPage(BaseModel):
    items: list[RequestOut]
    next_cursor: str | None


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    code: str
    errors: list[FieldProblem] | None = None
