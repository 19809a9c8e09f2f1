"""Words of a case for full-text search (Chinese needs no spaces): jieba's search-engine cut.

A case's content and address become ``search_terms``, its words separated by spaces, which
the database indexes (FTS5 on SQLite, a tsvector and GIN on PostgreSQL). A query is cut the
same way; every word of it must be among a case's terms.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Iterable

import jieba

_ready = threading.Lock()
_loaded = False


def _tokenizer() -> jieba.Tokenizer:
    """jieba's dictionary, loaded once per process and without its chatter on the log."""
    global _loaded
    with _ready:
        if not _loaded:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _loaded = True
    return jieba.dt


def loaded(_settings: object) -> jieba.Tokenizer:
    """The dictionary loaded as the service starts (``Configured``): loading it takes a
    second or two of CPU, which on the first case would hold every other green thread."""
    return _tokenizer()


def _words(pieces: Iterable[str]) -> list[str]:
    """The pieces that are words (not spaces or punctuation), lower-cased, each once."""
    seen: dict[str, None] = {}
    for piece in pieces:
        word = piece.strip().lower()
        if word and any(ch.isalnum() for ch in word):
            seen.setdefault(word, None)
    return list(seen)


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def terms_of(*texts: str | None) -> str:
    """The search terms of a case's texts: every word and the shorter words within long ones
    (``cut_for_search``), space-separated."""
    tokenizer = _tokenizer()
    pieces = [p for text in texts if text for p in tokenizer.cut_for_search(_normal(text))]
    return " ".join(_words(pieces))


def query_terms(query: str) -> list[str]:
    """The words a query asks for, each of which a case's terms must hold. A query is cut as
    a sentence (not for search): its long words are found whole among a case's terms."""
    return _words(_tokenizer().cut(_normal(query)))
