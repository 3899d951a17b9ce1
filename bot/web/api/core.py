"""The HTTP API for city apps (/api/v1): OAuth 2 client credentials, bearer tokens signed
with a key derived from SECRET_KEY, problem+json errors in the reader's language, per-app
rate limits, Idempotency-Key on POSTs. The routes call the same services as chat."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from bot.domain.kpis import Targets
from bot.domain.principal import Principal
from bot.limits import Limit, RateLimiter
from bot.services import api_clients, needs
from bot.services.api_clients import ClientView
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import Notifier
from bot.web import chat
from bot.web.api.models import (
    PERSON_PATTERN,
    CommunityOut,
    FieldProblem,
    Problem,
    RequestOut,
    TokenIn,
    TokenOut,
)
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
TOKEN_TTL = 3600
PUBLIC = frozenset({"/token", "/openapi.json", "/docs"})
MAX_BODY = 64 * 1024
MAX_PERSON = 80
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class ApiConfig:
    uow: Callable[[], UnitOfWork]
    notifier: Callable[[], Notifier]
    token_key: bytes
    limit: Limit
    limiter: RateLimiter
    i18n: I18n
    tz: ZoneInfo
    is_outage: Callable[[BaseException], bool]
    clock: Callable[[], float] = time.time
    targets: Targets = field(default_factory=Targets)
    kpi_cache_seconds: float = 0.0
    # Seals the webhook signing secrets (None: no webhooks); http to localhost for tests.
    cipher: PersonalDataCipher | None = None
    allow_http_localhost: bool = False


config_key = web.AppKey("api_config", ApiConfig)
client_key = web.RequestKey("api_client", ClientView)
person_key = web.RequestKey("api_person", int)


def token_key(secret: bytes) -> bytes:
    """The tokens' own key, derived from SECRET_KEY (never the cookie key itself)."""
    return hmac.new(secret, b"wushe api tokens v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_token(key: bytes, client_pk: int, expires: int) -> str:
    payload = f"v1.{client_pk}.{expires}"
    return f"{payload}.{_b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())}"


def read_token(key: bytes, token: str, now: float) -> int | None:
    """The app's row id when the token is ours and not expired."""
    payload, _sep, signature = token.rpartition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    version, _sep, rest = payload.partition(".")
    pk, _sep, expires = rest.partition(".")
    if version != "v1" or not pk.isdigit() or not expires.isdigit():
        return None
    return int(pk) if int(expires) > now else None


# ------------------------------------------------------------------ problems


class ApiProblem(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        errors: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        problem = Problem(
            title=self.title,
            status=self.status,
            detail=self.detail,
            code=self.code,
            errors=[FieldProblem(field=f, message=m) for f, m in self.errors]
            if self.errors is not None
            else None,
        )
        return problem.model_dump(mode="json", exclude_none=True)


def _respond(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> web.Response:
    content_type = PROBLEM if status >= 400 else "application/json"
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=status,
        content_type=content_type,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _field_message(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("This field is not allowed.")
    if kind in ("enum", "literal_error"):
        return _("Must be one of: {values}.").format(values=ctx.get("expected", ""))
    if kind == "string_too_long":
        return _("Too long: at most {count} characters.").format(count=ctx.get("max_length"))
    if kind == "string_too_short":
        return _("Must not be empty.")
    if kind in ("greater_than_equal", "less_than_equal", "finite_number"):
        return _("The number is out of range.")
    return _("This value is not valid.")


def _invalid(errors: list[tuple[str, str]]) -> ApiProblem:
    detail = "; ".join(f"{field}: {message}" for field, message in errors)
    return ApiProblem(422, "invalid", _("Some fields are not valid."), detail, errors)


def _validation_problem(error: ValidationError) -> ApiProblem:
    errors = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "body"
        errors.append((field, _field_message(item)))
    return _invalid(errors)


def _domain_problem(error: DomainError) -> ApiProblem:
    if isinstance(error, InvalidInput):
        return _invalid([(error.field, _("This value is not valid."))])
    if isinstance(error, NotFound):
        return ApiProblem(404, "not_found", _("Not found."))
    if isinstance(error, PermissionDenied):
        return ApiProblem(403, "forbidden", _("This app may not do this for this person."))
    if isinstance(error, Conflict):
        title = _conflict_title(error.reason)
        return ApiProblem(409, error.reason, title)
    return ApiProblem(400, "refused", _("This request was refused."))


def _conflict_title(reason: str) -> str:
    """The refusals an app meets acting for a person, each in its own words."""
    titles = {
        "already_signed_up": _("The person is already signed up for this shift."),
        "cancel_deadline_passed": _(
            "The cancel deadline has passed: the person must tell the organiser."
        ),
        "shift_started": _("The shift has already started."),
        "not_a_verified_volunteer": _("The person is not a verified volunteer."),
        "volunteer_pending_verification": _(
            "The person's volunteer registration is waiting for verification."
        ),
        "already_voted": _("The person has already voted in this consultation."),
        "voting_closed": _("Voting is not open in this consultation."),
        "already_linked": _("This account already belongs to the person of this code."),
        "channel_taken": _("The person of this code already uses this app with another account."),
    }
    return titles.get(reason, _("This cannot be done in the request's current state."))


def _locale(request: web.Request, config: ApiConfig) -> str:
    return chat.browser_language(request, config.i18n.default_locale)


# ------------------------------------------------------------------ middleware


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "?"


async def _authenticate(request: web.Request, config: ApiConfig) -> ClientView:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    unauthorised = ApiProblem(
        401,
        "invalid_token",
        _("The access token is missing, expired or not valid."),
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )
    if scheme.lower() != "bearer" or not token:
        raise unauthorised
    pk = read_token(config.token_key, token.strip(), config.clock())
    client = await api_clients.active_client(config.uow(), pk=pk) if pk is not None else None
    if client is None:
        raise unauthorised
    return client


async def _rate_limit(config: ApiConfig, client: ClientView) -> dict[str, str]:
    if not config.limit.enabled:
        return {}
    taken = await config.limiter.take(f"api_client:{client.id}", config.limit)
    headers = {
        "RateLimit-Policy": f'"app";q={config.limit.count};w={int(config.limit.seconds)}',
        "RateLimit": f'"app";r={taken.remaining};t={taken.reset}',
    }
    if taken.remaining < 0 or taken.count > config.limit.count:
        headers["Retry-After"] = str(taken.reset)
        headers["RateLimit"] = f'"app";r=0;t={taken.reset}'
        raise ApiProblem(
            429,
            "too_fast",
            _("Too many requests. Please wait {seconds} seconds and try again.").format(
                seconds=taken.reset
            ),
            headers=headers,
        )
    return headers


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison, a list of tags or `*`."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _conditional(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Every successful read carries a strong ETag of its representation (the body); a read
    whose If-None-Match holds it gets 304 without the body."""
    if request.method not in ("GET", "HEAD") or response.status != 200:
        return response
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return response
    etag = _etag(response.body)
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "Vary": "Accept-Language, Authorization, Person",
    }
    if _matches(request.headers.get("If-None-Match", ""), etag):
        return web.Response(status=304, headers=headers)
    response.headers.update(headers)
    return response


@dataclass
class _Call:
    """What the audit of one call needs: the app that made it and the status it got (500
    until an answer is made, so a call cut short is audited as failed)."""

    client: ClientView | None = None
    status: int = 500


@web.middleware
async def api_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    config = request.app[config_key]
    with config.i18n.context(), config.i18n.use_locale(_locale(request, config)):
        call = _Call()
        try:
            return await _answered(request, handler, config, call)
        finally:
            if call.client is not None and call.status != 503:
                await _audit(request, config, call.client, call.status)


async def _answered(
    request: web.Request,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    config: ApiConfig,
    call: _Call,
) -> web.StreamResponse:
    """The handler's answer, or the problem+json for whatever refused or broke it."""
    extra: dict[str, str] = {}
    response: web.StreamResponse
    try:
        if (
            request.path.removeprefix(PREFIX) not in PUBLIC
            and not request.match_info.http_exception
        ):
            call.client = request[client_key] = await _authenticate(request, config)
            extra = await _rate_limit(config, call.client)
        response = _conditional(request, await handler(request))
        response.headers.update(extra)
    except ApiProblem as problem:
        response = _respond(problem.status, problem.body(), {**extra, **problem.headers})
    except DomainError as error:
        refusal = _domain_problem(error)
        response = _respond(refusal.status, refusal.body(), extra)
    except web.HTTPException as error:
        response = _http_error(error, extra)
    except Exception as error:
        response = _failure(request, config, error)
    call.status = response.status
    return response


def _http_error(error: web.HTTPException, extra: dict[str, str]) -> web.Response:
    """aiohttp's own refusals (no such route, method not allowed) as problem+json."""
    code = "not_found" if error.status == 404 else "http_error"
    title = _("Not found.") if error.status == 404 else error.reason
    headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else {}
    body = ApiProblem(error.status, code, title).body()
    return _respond(error.status, body, {**extra, **headers})


def _failure(request: web.Request, config: ApiConfig, error: Exception) -> web.Response:
    """A database outage says "try again" with Retry-After; anything else is logged (never
    with the body: personal data) and answered without details."""
    if config.is_outage(error):
        log.warning("%s %s: the database is unavailable", request.method, _route(request))
        body = ApiProblem(
            503,
            "unavailable",
            _("The service is temporarily unavailable. Please try again in a few minutes."),
        ).body()
        return _respond(503, body, {"Retry-After": "30"})
    log.exception("%s %s failed", request.method, _route(request))
    body = ApiProblem(
        500,
        "failed",
        _("Sorry, something went wrong on our side. Please try again later."),
    ).body()
    return _respond(500, body)


async def _audit(request: web.Request, config: ApiConfig, client: ClientView, status: int) -> None:
    try:
        await api_clients.record_call(
            config.uow(),
            client,
            route=f"{request.method} {_route(request)}",
            status=status,
            person_id=request.get(person_key),
        )
    except Exception as error:  # the answer goes out; the log says why
        if not config.is_outage(error):
            log.exception("the API call could not be audited")


# ------------------------------------------------------------------ helpers


async def _body(request: web.Request, model: type[BaseModel], *, form: bool = False) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _invalid([("body", _("The request is too large."))])
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise _invalid([("body", _("The request is too large."))])
    try:
        if form and request.content_type == "application/x-www-form-urlencoded":
            data = dict((await request.post()).items())
            return model.model_validate(data)
        if request.content_type != "application/json":
            raise _invalid([("body", _("The request must be sent as JSON."))])
        return model.model_validate_json(raw)
    except ValidationError as error:
        if any(e["type"] == "json_invalid" for e in error.errors()):
            raise _invalid([("body", _("The request could not be read."))]) from None
        raise _validation_problem(error) from None


def _client(request: web.Request, scope: str) -> ClientView:
    client = request[client_key]
    if scope not in client.scopes:
        raise ApiProblem(
            403, "insufficient_scope", _("This app lacks the scope {scope}.").format(scope=scope)
        )
    return client


async def _principal(
    request: web.Request, client: ClientView, person: str | None, community_id: int | None = None
) -> Principal:
    config = request.app[config_key]
    external = person or request.headers.get("Person")
    if not external:
        raise _invalid([("Person", _("This field is required."))])
    if len(external) > MAX_PERSON or not re.fullmatch(PERSON_PATTERN, external):
        raise _invalid([("Person", _("This value is not valid."))])
    principal = await api_clients.act_for(
        config.uow(),
        client,
        external_id=external,
        community_id=community_id,
        locale=_locale(request, config),
    )
    request[person_key] = principal.person_id
    return principal


def _need_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise ApiProblem(404, "not_found", _("Not found."))
    return int(raw)


def _time(value: datetime, tz: ZoneInfo) -> datetime:
    return value.astimezone(tz)


def _request_out(brief: needs.NeedBrief, tz: ZoneInfo) -> RequestOut:
    return RequestOut(
        id=brief.id,
        reference=brief.reference,
        category=brief.category,
        urgency=brief.urgency,
        state=brief.state,
        description=brief.description,
        created_at=_time(brief.created_at, tz),
        due_at=_time(brief.due_at, tz),
        supporters=brief.supporters,
        assignee=brief.assignee,
        community=CommunityOut(
            id=brief.community.id, name=brief.community.name, name_en=brief.community.name_en
        ),
    )


def _fingerprint(request: web.Request, raw: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.headers.get("Person", "")):
        digest.update(part.encode() + b"\0")
    digest.update(raw)
    return digest.hexdigest()


Answer = tuple[int, dict[str, Any]]


async def _idempotent(
    request: web.Request, client: ClientView, run: Callable[[], Awaitable[Answer]]
) -> web.Response:
    """The first answer to a POST with an Idempotency-Key is kept (per app) and given again to
    a retry, which is never acted on twice."""
    config = request.app[config_key]
    key = request.headers.get("Idempotency-Key")
    if key is None:
        status, body = await _answer(run)
        return _respond(status, body)
    if not 0 < len(key) <= 200:
        raise _invalid([("Idempotency-Key", _("This value is not valid."))])
    fingerprint = _fingerprint(request, await request.read())
    replay = await api_clients.claim_key(config.uow(), client, key=key, fingerprint=fingerprint)
    if replay is not None:
        if not replay.same_request:
            raise ApiProblem(
                422,
                "idempotency_key_reused",
                _("This Idempotency-Key was used for another request."),
            )
        if replay.status is None or replay.body is None:
            raise ApiProblem(
                409,
                "in_progress",
                _("The first request with this Idempotency-Key is not finished yet."),
            )
        return _respond(replay.status, replay.body, {"Idempotent-Replayed": "true"})
    try:
        status, body = await _answer(run)
    except BaseException:
        await api_clients.release_key(config.uow(), client, key=key)
        raise
    await api_clients.store_answer(config.uow(), client, key=key, status=status, body=body)
    return _respond(status, body)


async def _answer(run: Callable[[], Awaitable[Answer]]) -> Answer:
    """The service's answer, or its refusal as a problem (kept as the first answer too)."""
    try:
        return await run()
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        return problem.status, problem.body()
    except DomainError as error:
        refusal = _domain_problem(error)
        return refusal.status, refusal.body()


# ------------------------------------------------------------------ routes


async def token(request: web.Request) -> web.Response:
    config = request.app[config_key]
    given: TokenIn = await _body(request, TokenIn, form=True)
    client = await api_clients.authenticate(
        config.uow(), client_id=given.client_id, secret=given.client_secret
    )
    if client is None:
        raise ApiProblem(401, "invalid_client", _("The client id or secret is not valid."))
    now = int(config.clock())
    out = TokenOut(
        access_token=make_token(config.token_key, client.id, now + TOKEN_TTL),
        expires_in=TOKEN_TTL,
        scope=" ".join(sorted(client.scopes)),
    )
    return _respond(200, out.model_dump(mode="json"))


def _cursor(raw: str | None) -> int:
    if raw is None:
        return 0
    try:
        padded = raw + "=" * (-len(raw) % 4)
        page = json.loads(base64.urlsafe_b64decode(padded.encode()))["p"]
        if isinstance(page, int) and 0 <= page < 100_000:
            return page
    except (ValueError, KeyError, TypeError):
        pass
    raise _invalid([("cursor", _("This value is not valid."))])
