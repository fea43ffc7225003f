"""Hangul in charts: register the Korean font the install brings, as a fallback.

matplotlib's default font (DejaVu Sans) has no Hangul, so a Korean title, segment or
product name becomes empty boxes and a "Glyph … missing from font(s)" warning. The
workbook depends on ``pylopdf-fonts-ko``, a wheel that ships Google's *Noto Sans KR*
Regular (SIL Open Font License 1.1, licence text in the wheel's metadata), so no font
has to be installed by hand.

:func:`register_fonts` adds that font file to matplotlib's font manager and appends its
family to ``rcParams["font.family"]``. Since matplotlib 3.6 the family list is a
*fallback list* looked up glyph by glyph: Latin text keeps the current look (the
house style's sans-serif, DejaVu Sans) and only the characters it lacks (Hangul, CJK
punctuation) are drawn with Noto Sans KR. English reports therefore look exactly as
before and still show Korean product names.

Call it after anything that resets the font settings (``seaborn.set_theme`` does), i.e.
at the end of the house style::

    sns.set_theme(...)
    plt.rcParams.update({...})
    register_fonts()
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib
from matplotlib import font_manager

#: Family name of the Hangul font as matplotlib's font manager knows it.
HANGUL_FONT_FAMILY = "Noto Sans KR"


def hangul_font_path() -> Path:
    """Path of the Hangul font file shipped by the ``pylopdf-fonts-ko`` dependency.

    Raises :class:`FileNotFoundError` naming the package when the install lacks it.
    """
    try:
        import pylopdf_fonts_ko
    except ImportError:
        raise FileNotFoundError(
            "the Hangul font package 'pylopdf-fonts-ko' is not installed; run `make install`"
        ) from None
    path = Path(pylopdf_fonts_ko.sans_path())
    if not path.is_file():
        raise FileNotFoundError(f"Hangul font file missing from pylopdf-fonts-ko: {path}")
    return path


def _is_registered(path: Path) -> bool:
    return any(Path(entry.fname) == path for entry in font_manager.fontManager.ttflist)


def _add_bold_alias(path: Path) -> None:
    """Let bold text (the house style's titles) use the Regular file for Hangul.

    The package ships Noto Sans KR Regular only; without an entry of bold weight every
    bold Hangul title logs "findfont: Failed to find font weight bold". The alias is what
    matplotlib itself does for a font's alternative names (``dataclasses.replace``);
    Hangul in titles is drawn in the regular weight, Latin stays bold.
    """
    regular = next(e for e in font_manager.fontManager.ttflist if Path(e.fname) == path)
    font_manager.fontManager.ttflist.append(dataclasses.replace(regular, weight=700))


def register_fonts() -> str:
    """Make Hangul render in every chart; return the Hangul font's family name.

    Adds the Noto Sans KR file to matplotlib's font manager (once per process) and
    appends ``"Noto Sans KR"`` to ``rcParams["font.family"]`` when it is not already
    there, keeping the families before it (so Latin text is unchanged). Idempotent:
    calling it again changes nothing. Bold Hangul uses the Regular file
    (:func:`_add_bold_alias`).
    """
    path = hangul_font_path()
    if not _is_registered(path):
        font_manager.fontManager.addfont(str(path))
        _add_bold_alias(path)
    families = matplotlib.rcParams["font.family"]
    families = [families] if isinstance(families, str) else list(families)
    if HANGUL_FONT_FAMILY not in families:
        matplotlib.rcParams["font.family"] = [*families, HANGUL_FONT_FAMILY]
    return HANGUL_FONT_FAMILY
