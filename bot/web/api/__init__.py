"""The open HTTP API (`/api/v1`, docs/api.md): `core` (tokens, problems, the middleware and the
helpers every resource uses), one module per resource, `app` (the sub-application and its
OpenAPI document)."""
