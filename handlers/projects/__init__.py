"""Projects: the draft, the list and the project page with its lifecycle steps."""
