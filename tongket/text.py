"""Text normalisation shared by the reader, the unit matcher and the outputs."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
# Characters Excel users paste from the web or Word that should read as a plain space.
_SPACE_LIKE = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u200b\ufeff\t\r\n"), " ")


def nfc(text: str) -> str:
    """Unicode NFC form: units type NFC or NFD depending on their keyboard tool."""
    return unicodedata.normalize("NFC", text)


def clean_text(value: object) -> str:
    """A cell's text as the unit meant it: NFC, odd spaces made plain, trimmed, collapsed."""
    if value is None:
        return ""
    text = nfc(str(value)).translate(_SPACE_LIKE)
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=1 << 16)  # headers and labels repeat in every workbook
def fold(text: str) -> str:
    """Lower case without diacritics (đ -> d): for matching labels and names, never for output."""
    decomposed = unicodedata.normalize("NFD", clean_text(text).lower())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d")


@lru_cache(maxsize=1 << 16)
def fold_key(text: str) -> str:
    """`fold`, keeping letters and digits only, words separated by one space."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))
