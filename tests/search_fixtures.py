"""Fixtures for the search-layer tests (embeddings, index, search)."""
