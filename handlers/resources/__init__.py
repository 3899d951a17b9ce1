"""Resources (/resources): what communities offer, reserved for a need or a project."""
