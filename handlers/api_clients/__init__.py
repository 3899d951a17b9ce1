"""/apps: the city apps (API clients) of the HTTP API, registered and revoked in the chat."""
