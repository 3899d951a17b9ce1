"""Needs surveys: /newsurvey and /surveys for workers, /survey for residents."""
