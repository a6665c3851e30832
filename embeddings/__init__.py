"""The search layer: event embeddings, the FAISS index and hybrid search for ``/ask``.

Importing this package (or any of its modules) stays light: torch, sentence-transformers and
faiss are imported inside the functions that need them (see ``embeddings._lazy``).

- ``embeddings.text``: the one function that turns an event into the text that is embedded.
- ``embeddings.encoder``: the ``Encoder`` protocol, the sentence-transformers encoder, a
  deterministic ``FakeEncoder`` for tests.
- ``embeddings.index``: ``VectorIndex`` (FAISS, event ids as ids) with atomic save/load.
- ``embeddings.indexing``: ``build_index`` / ``update_index``: incremental, resumable indexing.
- ``embeddings.dates``: dates understood in questions ("in November 2015", "before 2010").
- ``embeddings.fusion``: reciprocal rank fusion.
- ``embeddings.search``: ``Searcher``, ``Hit``, ``SearchAnswer``: the async API the bot uses.
"""
