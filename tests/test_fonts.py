"""Hangul in charts: the font the install brings renders Korean text without missing glyphs."""
from __future__ import annotations

import logging
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from crmlib.core import fonts  # noqa: E402

MISSING = "missing from font"


@pytest.fixture(autouse=True)
def _restore_rc():
    with matplotlib.rc_context():
        yield
    plt.close("all")


def korean_chart(path):
    """A bar chart with Korean title, axis labels, tick labels and legend, saved as PNG."""
    fig, ax = plt.subplots()
    names = ["최우수 고객", "충성 고객", "이탈 위험", "하트 티라이트 홀더"]
    ax.bar(names, [120, 80, 40, 15], label="고객 수")
    ax.set_title("세그먼트별 고객 수 — 2011년 11월")
    ax.set_xlabel("세그먼트")
    ax.set_ylabel("매출 (₩, 만 원)")
    ax.legend()
    fig.savefig(path, format="png")
    plt.close(fig)


def glyph_problems(caplog, caught):
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    return [m for m in messages if MISSING in m or "Glyph" in m or "findfont" in m]


def test_without_the_fallback_hangul_is_missing(tmp_path, caplog):
    """The check below can fail: the default style alone warns about Hangul glyphs."""
    sns.set_theme(style="whitegrid")
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        korean_chart(tmp_path / "plain.png")
    assert any(MISSING in m for m in glyph_problems(caplog, caught))


def test_korean_chart_renders_every_glyph_after_register_fonts(tmp_path, caplog):
    sns.set_theme(style="whitegrid")          # the house style resets fonts; register after it
    assert fonts.register_fonts() == fonts.HANGUL_FONT_FAMILY
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        korean_chart(tmp_path / "korean.png")
    assert glyph_problems(caplog, caught) == []
    assert (tmp_path / "korean.png").stat().st_size > 5_000


@pytest.mark.parametrize("language", ["ko", "en"])   # English too: Korean product names appear there
def test_house_style_renders_a_korean_chart_without_missing_glyphs(tmp_path, caplog, language):
    """What every notebook does: the house style, then a chart with Korean text and won ticks."""
    from crmlib.core import i18n, plots

    plots.use_house_style()
    with i18n.using_language(language), warnings.catch_warnings(record=True) as caught, \
            caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.bar(["최우수 고객", "충성 고객", "이탈 위험"], [1.4e9, 8e8, 2.5e7], label="매출")
        plots.money_axis(ax, "KRW")
        plots.label(ax, "세그먼트별 매출 — 2011년 11월", "세그먼트", "매출")
        ax.legend()
        fig.savefig(tmp_path / "house.png", format="png")
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        plt.close(fig)
    assert glyph_problems(caplog, caught) == []
    assert any(("억" in t) == (language == "ko") for t in ticks if t not in ("₩0", ""))


def test_latin_text_keeps_the_house_font():
    sns.set_theme(style="whitegrid")
    before = font_manager.findfont(font_manager.FontProperties(family=matplotlib.rcParams["font.family"]))
    fonts.register_fonts()
    latin = font_manager.FontProperties(family=matplotlib.rcParams["font.family"])
    assert font_manager.findfont(latin) == before
    assert matplotlib.rcParams["font.family"][-1] == fonts.HANGUL_FONT_FAMILY


def test_register_fonts_is_idempotent():
    sns.set_theme(style="whitegrid")
    fonts.register_fonts()
    families = list(matplotlib.rcParams["font.family"])
    entries = len(font_manager.fontManager.ttflist)
    fonts.register_fonts()
    assert list(matplotlib.rcParams["font.family"]) == families
    assert len(font_manager.fontManager.ttflist) == entries
    assert families.count(fonts.HANGUL_FONT_FAMILY) == 1


def test_the_font_covers_every_hangul_syllable_and_ships_its_licence():
    from importlib.metadata import metadata

    from fontTools.ttLib import TTFont

    cmap = TTFont(fonts.hangul_font_path()).getBestCmap()
    assert all(code in cmap for code in range(0xAC00, 0xD7A4))      # all 11,172 syllables
    assert "Open Font License" in (metadata("pylopdf-fonts-ko").get("License") or "")
