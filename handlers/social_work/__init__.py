"""The three-level social-work service system: places, staff and the services recorded."""
