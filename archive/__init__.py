"""Parse the markdown news archive and store it in SQLite."""
