"""The OpenAPI 3.1 document of /api/v1, built from the same pydantic models that validate
the requests (pydantic emits JSON Schema 2020-12, which OpenAPI 3.1 uses as it is)."""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.web.api.models import (
    PERSON_PATTERN,
    FeedbackIn,
    FiledOut,
    Problem,
    RequestDetailOut,
    RequestIn,
    RequestOut,
    RequestPage,
    Strict,
    TokenIn,
    TokenOut,
)
from bot.web.api.webhook_models import (
    DeliveryPage,
    WebhookCreatedOut,
    WebhookIn,
    WebhookList,
)

REF = "#/components/schemas/{model}"
MODELS: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
    (TokenIn, "validation"),
    (RequestIn, "validation"),
    (FeedbackIn, "validation"),
    (TokenOut, "serialization"),
    (FiledOut, "serialization"),
    (RequestOut, "serialization"),
    (RequestDetailOut, "serialization"),
    (RequestPage, "serialization"),
    (Problem, "serialization"),
    (WebhookIn, "validation"),
    (WebhookCreatedOut, "serialization"),
    (WebhookList, "serialization"),
    (DeliveryPage, "serialization"),
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


PROBLEMS = {
    "default": {
        "description": "A problem (RFC 9457), in the language of Accept-Language",
        "content": {"application/problem+json": {"schema": _ref(Problem)}},
    }
}
PERSON = {
    "name": "Person",
    "in": "header",
    "required": True,
    "description": "The app's own id of the resident it acts for (channel account app).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 80, "pattern": PERSON_PATTERN},
}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retried POST with the same key gets the first answer and is done once.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[A-Za-z0-9_.:-]+$"},
}
NEED_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
}


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


SCOPES = {
    "needs:write": "file requests, say me too, give feedback, vote in consultations",
    "needs:read": "read the people's requests, the needs list and the consultations of the area",
    "volunteers:read": "read the shifts of the area",
    "volunteers:write": "sign people up for shifts and cancel",
    "records:read": "read a person's service records and certificates",
    "projects:read": "read the resource and project lists of the area",
    "kpis:read": "read the indicators of the area with their targets",
    "webhooks": "subscribe to events of the app's area",
}


WEBHOOK_ID = {**NEED_ID, "description": "The subscription's id"}
WEBHOOK_PATHS = {
    "/webhooks": {
        "post": {
            "operationId": "subscribeWebhook",
            "summary": "Subscribe an endpoint to events; the answer shows the signing secret once",
            "security": [{"bearer": ["webhooks"]}],
            "parameters": [IDEMPOTENCY],
            "requestBody": _body(WebhookIn),
            "responses": {"201": _json(WebhookCreatedOut, "Subscribed"), **PROBLEMS},
        },
        "get": {
            "operationId": "listWebhooks",
            "summary": "The app's subscriptions (without their secrets)",
            "security": [{"bearer": ["webhooks"]}],
            "responses": {"200": _json(WebhookList, "The subscriptions"), **PROBLEMS},
        },
    },
    "/webhooks/{id}": {
        "delete": {
            "operationId": "deleteWebhook",
            "summary": "No more events to this endpoint",
            "security": [{"bearer": ["webhooks"]}],
            "parameters": [WEBHOOK_ID],
            "responses": {"204": {"description": "Deleted"}, **PROBLEMS},
        }
    },
    "/webhooks/{id}/deliveries": {
        "get": {
            "operationId": "webhookDeliveries",
            "summary": "The subscription's delivery log, newest first: state, attempts, "
            "last HTTP status, next try",
            "security": [{"bearer": ["webhooks"]}],
            "parameters": [
                WEBHOOK_ID,
                {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 200}},
            ],
            "responses": {"200": _json(DeliveryPage, "One page"), **PROBLEMS},
        }
    },
}


@cache
def document(modules: tuple[ModuleType, ...]) -> dict[str, Any]:
    """The OpenAPI document of the token and request routes and of each resource module's
    MODELS and PATHS."""
    models = MODELS + [
        (m, "validation" if issubclass(m, Strict) else "serialization")
        for module in modules
        for m in module.MODELS
    ]
    _, schemas = models_json_schema(models, ref_template=REF)
    found: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Five-Society Linkage community services API",
            "version": "1",
            "description": "For the city's community apps and mini programs. See docs/api.md.",
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "bearer": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": "/api/v1/token",
                            "scopes": SCOPES,
                        }
                    },
                }
            },
        },
        "paths": {
            "/token": {
                "post": {
                    "operationId": "token",
                    "summary": "A bearer token for one hour (OAuth 2 client credentials)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": _ref(TokenIn)},
                            "application/x-www-form-urlencoded": {"schema": _ref(TokenIn)},
                        },
                    },
                    "responses": {"200": _json(TokenOut, "The token"), **PROBLEMS},
                }
            },
            "/requests": {
                "post": {
                    "operationId": "fileRequest",
                    "summary": "File a request for the resident the app acts for",
                    "security": [{"bearer": ["needs:write"]}],
                    "parameters": [PERSON, IDEMPOTENCY],
                    "requestBody": _body(RequestIn),
                    "responses": {"201": _json(FiledOut, "Filed"), **PROBLEMS},
                },
                "get": {
                    "operationId": "myRequests",
                    "summary": "The resident's own requests, newest first",
                    "security": [{"bearer": ["needs:read"]}],
                    "parameters": [
                        PERSON,
                        {
                            "name": "mine",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["true"]},
                        },
                        {
                            "name": "cursor",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": 200},
                        },
                    ],
                    "responses": {"200": _json(RequestPage, "One page"), **PROBLEMS},
                },
            },
            "/requests/{id}": {
                "get": {
                    "operationId": "getRequest",
                    "summary": "One request with its public history",
                    "security": [{"bearer": ["needs:read"]}],
                    "parameters": [NEED_ID, PERSON],
                    "responses": {"200": _json(RequestDetailOut, "The request"), **PROBLEMS},
                }
            },
            "/requests/{id}/support": {
                "post": {
                    "operationId": "supportRequest",
                    "summary": "Me too: a resident of the same community has the same problem",
                    "security": [{"bearer": ["needs:write"]}],
                    "parameters": [NEED_ID, PERSON, IDEMPOTENCY],
                    "responses": {"200": _json(RequestOut, "Counted"), **PROBLEMS},
                }
            },
            "/requests/{id}/feedback": {
                "post": {
                    "operationId": "giveFeedback",
                    "summary": "The resident confirms a resolved request solved (closes it) "
                    "or not solved (reopens it)",
                    "security": [{"bearer": ["needs:write"]}],
                    "parameters": [NEED_ID, PERSON, IDEMPOTENCY],
                    "requestBody": _body(FeedbackIn),
                    "responses": {"200": _json(RequestOut, "Recorded"), **PROBLEMS},
                }
            },
            **WEBHOOK_PATHS,
        },
    }
    for module in modules:
        found["paths"].update(module.PATHS)
    return found
