"""How a chart leaves the kernel: a light PNG that carries its title as alt text.

:func:`crmlib.core.plots.use_house_style` calls :func:`register_chart_output` in every
notebook. From then on each matplotlib figure a cell shows is written as

* a PNG at the figure's own DPI (the house style: 100 dpi, 8 × 4.2 in, about 800 px wide,
  the width a report page shows it at), reduced to a 256-colour palette: charts are flat
  colours and anti-aliased text, so this keeps them sharp at about a third of the bytes;
* with display metadata ``{"image/png": {"alt": <the chart's title>, "panels": <charts side
  by side>}}``: the report template puts the title in ``<img alt=...>`` (screen readers, and
  the text shown when an image cannot load) and keeps a chart of several panels side by side
  legible on a phone (it scrolls sideways instead of shrinking).

Outside IPython (a script, a test) registering does nothing.
"""
from __future__ import annotations

import base64
import io
from typing import Any

#: Colours kept in a chart's palette PNG.
PALETTE_COLOURS = 256
#: Alt text of a chart that has no title (the house style titles every chart).
UNTITLED = "Chart"


def chart_title(fig: Any) -> str:
    """The words that name a figure: its suptitle, else its axes' titles joined by "; "."""
    suptitle = getattr(fig, "_suptitle", None)
    text = suptitle.get_text().strip() if suptitle is not None else ""
    if text:
        return text
    titles = []
    for ax in fig.get_axes():
        for loc in ("left", "center", "right"):
            title = ax.get_title(loc=loc).strip()
            if title and title not in titles:
                titles.append(title)
    return "; ".join(titles) or UNTITLED


def panel_columns(fig: Any) -> int:
    """How many charts the figure puts side by side (colour bars not counted)."""
    lefts = {round(ax.get_position().x0, 2) for ax in fig.get_axes()
             if ax.get_visible() and ax.get_label() != "<colorbar>"}
    return max(len(lefts), 1)


def compact_png(data: bytes) -> bytes:
    """``data`` (a PNG) as a 256-colour palette PNG on white; the original if that is not smaller."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    palette = image.convert("RGB").quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    smaller = out.getvalue()
    return smaller if len(smaller) < len(data) else data


def figure_png(fig: Any) -> tuple[str, dict[str, Any]] | None:
    """IPython PNG formatter for a matplotlib figure: (base64 PNG, {"alt": title, "panels": columns})."""
    from IPython.core.pylabtools import print_figure

    data = print_figure(fig, fmt="png", bbox_inches="tight")
    if not data:
        return None  # an empty figure shows nothing
    metadata = {"alt": chart_title(fig), "panels": panel_columns(fig)}
    return base64.b64encode(compact_png(data)).decode("ascii"), metadata


def register_chart_output() -> bool:
    """Show figures through :func:`figure_png` in the running IPython kernel; False outside one."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        return False
    shell = get_ipython()
    if shell is None:
        return False
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    # Load the backend now: matplotlib loads it lazily at the first figure, and the inline
    # backend then registers its own PNG formatter, which would replace this one.
    plt.switch_backend(matplotlib.get_backend())
    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
    return True
