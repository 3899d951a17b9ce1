"""Consultations (协商议事): /consult, from opening one to the recorded decision."""
