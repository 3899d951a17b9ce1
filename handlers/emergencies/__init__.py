"""Emergencies: the check of every free text for an emergency, and /emergency mode."""
