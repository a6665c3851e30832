"""The archive layer: parse the markdown news archive and store it in SQLite.

The data path, from a file to an answer::

    news/YYYY/MM/D/index.md (day page) + news/YYYY/MM/D/<slug>.md (event pages)
      -> archive.parser      EventPage, DayEntry (one page, one line of the day page)
      -> archive.dedupe      NewEvent       (frozen record, not stored yet: no id, no hash)
      -> archive.rows        EventRows      (plain rows + content hash; parsing processes)
      -> archive.store       SQLite         (events, sources, aliases, tags, FTS5; ids given)
                             Event          (read back: with id and content hash)
      -> embeddings.text     embedded text  -> embeddings.index    vector (FAISS, id = event id)
      -> embeddings.search   Hit            (event + fused score) -> bot.render   embed

- ``archive.parser``: day pages and event pages (``archive.text`` cleans text).
- ``archive.dedupe``: merge the copies of one event kept under several slugs -> ``NewEvent``.
- ``archive.prepare``: read, parse and merge day folders into rows (ingest's worker processes).
- ``archive.rows``: an event as the store writes it.
- ``archive.ingest``: ``ingest(store, path)``: incremental, idempotent, never fatal on bad pages.
- ``archive.store``: ``Store``: every SQL statement on the archive's tables.
- ``archive.migrations``: numbered migrations recorded per owner (archive, bot...).
- ``archive.fts``: what FTS5 indexes, and the one reading of a question's words.
- ``archive.dates``: dates as people type them (the bot's options and the CLI share it).
- ``archive.models``: ``NewEvent`` (to store), ``Event`` (stored), ``Source``, ``RelatedLink``.
- ``archive.settings``: this layer's settings slices (``StorageSettings``, ``ArchiveSettings``).
"""
