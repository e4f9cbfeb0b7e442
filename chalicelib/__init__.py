"""Temporary Enrollment Pairings service: the code Chalice packages beside app.py."""
