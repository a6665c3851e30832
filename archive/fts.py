"""Text preparation for the FTS5 index, shared by writes and queries.

FTS5's ``unicode61`` tokenizer splits on spaces and punctuation, which suits English but
turns a Chinese sentence into one huge token. The trigram tokenizer would match Chinese, but
cannot match the many two-character Chinese words (北京, 地震) and triples the index. So every
run of CJK characters is rewritten as overlapping bigrams before it reaches FTS5 (北京地震 ->
北京 京地 地震), in documents and queries alike: one table, BM25 scores for both languages.

This module is also the one place that says what the words of a question are
(``fts_terms``): the keyword search and the hybrid search's relevance check
(``embeddings.search``) both use it, with one stopword list.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
_WORD = re.compile(r"\w+")
# Words that say nothing about a question's subject: function words, and the words people
# use to ask about news at all ("what happened", "latest news", "stories about").
STOPWORDS = frozenset(
    """a an and are as at be by did do does for from had has have how in into is it its of on
    or that the their there these this to was were what when where which who why will with
    happened happen about any some tell me show news event events story stories latest""".split()
)


def _spaced_bigrams(match: re.Match[str]) -> str:
    run = match.group(0)
    if len(run) == 1:
        return f" {run} "
    return f" {' '.join(map(operator.add, run, run[1:]))} "


@lru_cache(maxsize=4096)
def fts_label(text: str) -> str:
    """``fts_text`` of a topic or tag line, which recur."""
    return fts_text(text)


def fts_text(text: str) -> str:
    """Document text as it is handed to FTS5."""
    if text.isascii():
        return text
    return CJK_RUN.sub(_spaced_bigrams, text)


def folded_words(text: str) -> list[str]:
    """Every word of ``text`` as FTS5's unicode61 tokenizer indexes it: lower case, no
    diacritics ("café" -> "cafe"), CJK runs as bigrams."""
    folded = unicodedata.normalize("NFKD", fts_text(text).lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return _WORD.findall(folded)


def fts_terms(question: str) -> list[str]:
    """The question's content words, as ``folded_words`` gives them, stopwords and single
    Latin letters dropped, each once, in order."""
    terms: dict[str, None] = {}
    for token in folded_words(question):
        if token in STOPWORDS or (len(token) == 1 and token.isascii()):
            continue
        terms.setdefault(token, None)
    return list(terms)


def fts_match(terms: Iterable[str]) -> str | None:
    """An FTS5 MATCH expression for any of ``terms`` (OR), each quoted."""
    quoted = [f'"{t}"' for t in terms]
    return " OR ".join(quoted) if quoted else None
