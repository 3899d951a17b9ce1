"""Volunteers: registration (/volunteer) and the workers' verification (/volunteers)."""
