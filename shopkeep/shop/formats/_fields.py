"""Field conversions every import format shares: HTML to plain text, prices, yes/no, option names, tags, and the
product type derived when a source has none.

Each converter raises ``FieldError`` with what is wrong with the value ("is not a number"); the format's parser
turns it into ``ImportRowError`` with the file, line and column.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import TypeVar

from shopkeep.domain.customers import looks_like_email
from shopkeep.domain.money import to_amount
from shopkeep.errors import ImportRowError

T = TypeVar("T")


class FieldError(ValueError):
    """A value that cannot be read; ``problem`` completes "COLUMN 'value' ..."."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


# HTML -------------------------------------------------------------------------------------------------------------

_BLOCKS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section", "article"}
    | {"header", "footer", "blockquote", "pre", "dd", "dt"}
)
_SKIPPED = frozenset({"script", "style", "template", "head"})


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: tags dropped (scripts and styles with their content), entities decoded,
    one line per paragraph or list item, whitespace collapsed."""
    if "<" not in markup and "&" not in markup:
        return " ".join(markup.split())
    parser = _TextOf()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in unescape("".join(parser.parts)).splitlines())
    return "\n".join(line for line in lines if line)


# values -------------------------------------------------------------------------------------------------------------

_AMOUNT = re.compile(r"^(?P<number>\d+(?:[.,]\d{1,2})?)(?:\s+(?P<currency>[A-Za-z]{3}))?$")


def amount(raw: str, *, currency: str | None = None) -> Decimal:
    """A non-negative price such as "12.99", or with a currency code "12.99 USD" (which must be ``currency``)."""
    match = _AMOUNT.match(raw.strip().replace("\u00a0", " "))
    if match is None and raw.strip().startswith("-") and re.search(r"\d", raw):
        raise FieldError("is negative")
    if match is None:
        raise FieldError("is not a number" if not re.search(r"\d", raw) else "is not a price such as 12.99")
    code = match.group("currency")
    if code is not None and currency is not None and code.upper() != currency:
        raise FieldError(f"is not in the shop's currency ({currency})")
    try:
        return to_amount(match.group("number").replace(",", "."))
    except (InvalidOperation, ValueError):
        raise FieldError("is not a number") from None


def whole_number(raw: str) -> int:
    text = raw.strip()
    if not re.fullmatch(r"-?\d+", text):
        raise FieldError("is not a whole number")
    return int(text)


_TRUE = frozenset({"true", "yes", "1", "y"})
_FALSE = frozenset({"false", "no", "0", "n"})


def yes_no(raw: str) -> bool:
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FieldError("is not TRUE or FALSE")


def url(raw: str) -> str | None:
    text = raw.strip()
    if not text:
        return None
    if not re.match(r"^(https?:)?//\S+$", text):
        raise FieldError("is not a web address (http:// or https://)")
    return "https:" + text if text.startswith("//") else text


_OPTION_SPELLINGS = {"colour": "color", "colours": "color", "colors": "color", "sizes": "size"}


def option_name(raw: str) -> str:
    """An option's name as Shopkeep keys it: lower case, single spaces, one spelling ("Colour" is "color")."""
    name = " ".join(raw.split()).lower()
    return _OPTION_SPELLINGS.get(name, name)


def tags(raw: str) -> list[str]:
    """Comma-separated tags, trimmed, each once, in order."""
    return list(dict.fromkeys(tag.strip() for tag in raw.split(",") if tag.strip()))


def text_or_none(raw: str | None) -> str | None:
    text = " ".join((raw or "").split())
    return text or None


# product types ------------------------------------------------------------------------------------------------------

_SUFFIX = re.compile(r"\s*(?:[-–—|/,:(]|\bin\b|\bfor\b|\bwith\b).*$", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def _singular(word: str) -> str:
    lower = word.lower()
    if lower.endswith("ies") and len(lower) > 4:
        return word[:-3] + "y"
    if lower.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")) and len(lower) > 3:
        return word[:-1]
    return word


def category_leaf(path: str) -> str | None:
    """The most specific part of a category path: "Apparel > Clothing > Shirts & Tops" is "Shirts & Tops"; a
    Google category given as a bare number names nothing readable."""
    leaf = path.replace("›", ">").split(">")[-1].strip()
    return leaf if leaf and not leaf.isdigit() else None


def derive_product_type(title: str, tag_list: list[str], category: str | None = None) -> str:
    """A product type for a product whose source gives none: the category's leaf, else a tag that names the head
    of the title ("Linen Shirt" tagged "Shirts"), else the title's last word before any " - variant" part."""
    if category and (leaf := category_leaf(category)):
        return leaf
    head = _SUFFIX.sub("", title).strip() or title
    words: list[str] = _WORD.findall(head)
    if not words:
        return title.strip()
    last = _singular(words[-1]).lower()
    for tag in tag_list:
        tag_words: list[str] = _WORD.findall(tag)
        if tag_words and _singular(tag_words[-1]).lower() == last:
            return tag.strip().capitalize() if tag.islower() else tag.strip()
    return words[-1].capitalize() if words[-1].islower() else words[-1]


# reading files ------------------------------------------------------------------------------------------------------


def counted_lines(handle: Iterable[str], total: int, progress: Callable[[int, int], None] | None) -> Iterator[str]:
    """The lines of a text file, reporting ``progress(characters read, file size)`` every few thousand lines."""
    done = 0
    for number, line in enumerate(handle):
        done += len(line)
        if progress is not None and number % 4096 == 0:
            progress(min(done, total), total)
        yield line
    if progress is not None:
        progress(total, total)


@dataclass
class CsvRow:
    """One record of a CSV or TSV file: its first line, and its cells by column name."""

    path: str
    line: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return (self.cells.get(column) or "").strip()

    def error(self, column: str, problem: str) -> ImportRowError:
        """``FILE line N: COLUMN 'value' problem`` (or ``COLUMN problem`` when the cell is empty)."""
        value = self.get(column)
        return ImportRowError(self.path, self.line, column, f"'{value}' {problem}" if value else problem)

    def read(self, column: str, convert: Callable[[str], T]) -> T:
        try:
            return convert(self.get(column))
        except FieldError as exc:
            raise self.error(column, exc.problem) from None


def csv_rows(
    path: Path,
    shown: str,
    *,
    delimiter: str,
    required: tuple[str, ...],
    normalize: Callable[[str], str] = str.strip,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[CsvRow]:
    """The records of a CSV/TSV file with a header line, each with the line it starts on (a quoted cell may span
    lines, as Shopify's HTML bodies do). Blank records are skipped; a missing required column fails on line 1."""
    total = path.stat().st_size
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(counted_lines(handle, total, progress), delimiter=delimiter)
        try:
            header = [normalize(name) for name in next(reader)]
        except StopIteration:
            raise ImportRowError(shown, 1, "the header", "is missing (the file is empty)") from None
        except csv.Error as exc:
            raise ImportRowError(shown, 1, "the header", f"is not valid CSV ({exc})") from None
        missing = [name for name in required if name not in header]
        if missing:
            raise ImportRowError(shown, 1, "the header", f"has no {', '.join(repr(m) for m in missing)} column")
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportRowError(shown, start, "the row", f"is not valid CSV ({exc})") from None
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise ImportRowError(shown, line, "the row", f"has {len(row)} cells for {len(header)} columns")
            yield CsvRow(shown, line, dict(zip(header, row, strict=False)))


def email(raw: str) -> str:
    text = raw.strip()
    if not text:
        raise FieldError("is missing")
    if not looks_like_email(text):
        raise FieldError("is not an email address")
    return text
