"""Shifts: /newshift for workers, /shifts and /myshifts for verified volunteers."""
