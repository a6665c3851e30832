"""Fixtures for the bot tests (SimCord)."""
