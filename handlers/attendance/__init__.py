"""Attendance: check-in and check-out, the organiser's site code and the confirmation of records."""
