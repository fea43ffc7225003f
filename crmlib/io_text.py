"""How a text export is decoded: its first bytes, its encoding, its delimiter, and what
to do about a byte that does not decode after them.

:func:`detect_encoding` and :func:`sniff_delimiter` look at the first 64 KB of a file
(:data:`SAMPLE_BYTES`, read by :func:`_head_bytes`, through gzip for ``.gz``). When a
byte after them does not decode, :func:`_fallback_encoding` decodes the whole file once
and chooses another encoding, or the same one with the bad bytes replaced.

:mod:`crmlib.io` reads files with these, and so do the streamed readers
(:mod:`crmlib.io_dates`, :mod:`crmlib.cleaning_chunks`) and the member lists; nothing
here imports :mod:`crmlib.io`. Raw files are only ever opened for reading.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import zlib
from pathlib import Path
from typing import Any

from crmlib.errors import DataError

SAMPLE_BYTES = 1 << 16
DELIMITERS = (",", ";", "\t", "|")
WHITESPACE = r"\s+"
#: Tie-break among equally plausible encodings: what retail exports most often use.
PREFERRED_ENCODINGS = ("utf-8", "cp949", "euc_kr", "cp1252", "iso8859-1", "iso8859-15")


# ----------------------------------------------------------------------------- opening
def _open_bytes(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _head_bytes(path: Path, nbytes: int = SAMPLE_BYTES) -> bytes:
    try:
        with _open_bytes(path) as fh:
            return fh.read(nbytes)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise _truncated(path, exc) from None
    except PermissionError:
        raise DataError("cannot read the file: permission denied", file=path,
                        hint="check the file's permissions, or copy it somewhere readable") from None
    except OSError as exc:
        raise DataError(f"cannot open the file ({exc})", file=path) from None


def _truncated(path: Path, exc: BaseException) -> DataError:
    """The error for a compressed file that ends early or is damaged."""
    return DataError(f"the compressed file is truncated or damaged ({exc or type(exc).__name__})", file=path,
                     hint="the download or copy was probably cut short: copy or export the file again "
                          "(`gzip -t <file>` checks a .gz file)")


# ----------------------------------------------------------------------------- encoding
def detect_encoding(sample: bytes, *, file: Any = None) -> str:
    """The text encoding of a byte sample: BOMs first, then strict UTF-8, then charset-normalizer.

    Korean (EUC-KR) is reported as ``cp949``, its superset used by Excel.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"  # the sample cut a multi-byte character in two
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is not None:  # ties are common on short samples: prefer the usual export encodings
        tied = {codecs.lookup(m.encoding).name: m for m in matches if m.chaos <= best.chaos}
        best = next((tied[n] for n in PREFERRED_ENCODINGS if n in tied), best)
    if best is None:
        raise DataError(
            "cannot detect the text encoding (the file may be binary or corrupt)",
            file=file, hint="set 'encoding' for this source in workbook.yml (e.g. utf-8, cp949, latin-1)",
        )
    name = codecs.lookup(best.encoding).name
    if name in ("euc_kr", "johab", "iso2022_kr", "cp949"):
        return "cp949"
    if name == "ascii":
        return "utf-8"
    return name


def _check_decodes(sample: bytes, encoding: str, file: Any) -> None:
    try:
        codecs.decode(sample, encoding)
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason in ("unexpected end of data", "incomplete multibyte sequence"):
            return
        detected = _guess_or_none(sample)
        raise DataError(
            f"cannot be read as {encoding}: byte {sample[exc.start:exc.start + 1]!r} at position {exc.start}",
            file=file, column=None,
            hint=(f"the file looks like {detected}; " if detected else "")
            + "set 'encoding' for this source in workbook.yml, or use encoding: auto",
        ) from None
    except LookupError:
        raise DataError(f"unknown encoding '{encoding}'", file=file,
                        hint="use auto or a Python codec name such as utf-8, cp949, latin-1") from None


def _guess_or_none(sample: bytes) -> str | None:
    try:
        return detect_encoding(sample)
    except DataError:
        return None


# ----------------------------------------------------------------------------- delimiter
def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header and the first lines into the same, largest
    number of fields (``,`` ``;`` tab ``|``); whitespace when none of them splits."""
    lines = [ln for ln in text.splitlines()[:30] if ln.strip()]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line
    best, best_score = None, (0, 0)
    for delim in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delim)]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts)
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delim, score
    return best or WHITESPACE


# ----------------------------------------------------------------------------- a late undecodable byte
def _fallback_encoding(path: Path, encoding: str, exc: UnicodeDecodeError) -> tuple[str, str, str]:
    """``(encoding, errors, note)`` for a file whose first 64 KB decode as ``encoding`` but
    a later byte does not (detection looks at the start only).

    The whole file is decoded once, in chunks, to find the first bad byte. If nothing but
    ASCII came before it, the file most likely uses a single other encoding throughout
    (e.g. cp1252 with the first accent late in the file): the encoding detected around
    that byte is used when it decodes the whole file. Otherwise the file mixes encodings:
    it is read as ``encoding`` with the bad bytes replaced by U+FFFD, and the note says so.
    """
    offset, ascii_before, window = _first_undecodable(path, encoding)
    if offset is None:  # the parser's error was not about this encoding: report it as it is
        raise exc
    byte = window[1]
    if ascii_before:
        candidate = _guess_or_none(window[0])
        if candidate and codecs.lookup(candidate).name != codecs.lookup(encoding).name \
                and _first_undecodable(path, candidate)[0] is None:
            return candidate, "strict", (f"read as {candidate}: the start of the file looked like {encoding}, "
                                         f"but byte {byte!r} at position {offset:,} is not; set 'encoding' for "
                                         f"this source in workbook.yml if {candidate} is wrong")
    return encoding, "replace", (f"read as {encoding} with bytes that are not {encoding} replaced by '\ufffd' (the "
                                 f"first is {byte!r} at position {offset:,}); the file seems to mix encodings: set "
                                 f"'encoding' for this source in workbook.yml if the text looks wrong")


def _first_undecodable(path: Path, encoding: str, chunk: int = 1 << 24) -> tuple[int | None, bool, tuple[bytes, bytes]]:
    """``(offset, only ASCII before it, (bytes around it, the byte))`` of the first byte of
    the file that does not decode as ``encoding``; offset ``None`` when all of it decodes."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    ascii_before, done = True, 0
    with _open_bytes(path) as fh:
        while True:
            data = fh.read(chunk)
            try:
                decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                # the decoder's position counts from the start of its own buffer: find the byte in this chunk
                pending = len(exc.object) - len(data)
                at = max(exc.start - pending, 0)
                ascii_before = ascii_before and data[:at].isascii()
                lo = max(at - SAMPLE_BYTES // 2, 0)
                return done + at, ascii_before, (data[lo:at + SAMPLE_BYTES // 2], data[at:at + 1])
            if not data:
                return None, ascii_before, (b"", b"")
            ascii_before = ascii_before and data.isascii()
            done += len(data)


__all__ = ["DELIMITERS", "PREFERRED_ENCODINGS", "SAMPLE_BYTES", "WHITESPACE", "detect_encoding", "sniff_delimiter"]
