"""Notebooks in two languages: language-tagged markdown cells, prose in code cells, coverage.

One notebook per analysis, whatever the report's language (``docs/translating.md``):

* a markdown cell tagged ``lang-en`` or ``lang-ko`` is shown only in that language's
  report, an untagged cell in every language (it must be language-neutral:
  :func:`is_language_neutral`); each ``lang-en`` cell has its ``lang-ko`` translation
  next to it (:func:`bilingual_problems`). At render time :func:`language_preprocessor`
  (nbconvert's ``TagRemovePreprocessor``) removes the other language's cells;
* code cells are never tagged (one copy of the code); prose a code cell shows (a section
  shown only when it applies) is wrapped in ``_()`` and translated through the catalogue
  like crmlib's own strings; :func:`extract_notebook` is the Babel extraction method
  that finds it (``babel.cfg``);
* :func:`translation_coverage` counts what a manager reads and how much of it is
  translated.
"""
from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from babel.messages.extract import DEFAULT_KEYWORDS, extract_python

from crmlib.core import i18n
from crmlib.core.i18n import SUPPORTED_LANGUAGES, check_language

#: Prefix of the notebook cell tags that name a language (``lang-en``, ``lang-ko``).
LANGUAGE_TAG_PREFIX = "lang-"


def language_tag(language: str) -> str:
    """The cell tag of ``language``: ``'lang-ko'``."""
    return LANGUAGE_TAG_PREFIX + check_language(language)


def language_preprocessor(language: str):
    """An nbconvert ``TagRemovePreprocessor`` that drops the other languages' cells.

    Cells tagged ``lang-<other>`` are removed; cells tagged with ``language`` and untagged
    cells stay. Register it on the exporter that renders the report::

        exporter.register_preprocessor(language_preprocessor("ko"), enabled=True)
    """
    from nbconvert.preprocessors import TagRemovePreprocessor

    other_tags = {language_tag(other) for other in SUPPORTED_LANGUAGES if other != language}
    check_language(language)
    return TagRemovePreprocessor(remove_cell_tags=other_tags, enabled=True)


def language_tag_problems(notebook: Any) -> list[str]:
    """Where a notebook breaks the language-cell convention, one sentence each.

    Problems: a tag ``lang-xx`` for an unsupported language, a code cell with a language
    tag (code must be shared by every language), a cell tagged with two languages.
    ``notebook`` is an ``nbformat`` notebook node or its dict.
    """
    known = {language_tag(lang) for lang in SUPPORTED_LANGUAGES}
    problems: list[str] = []
    for index, cell in enumerate(notebook["cells"]):
        tags = [t for t in cell.get("metadata", {}).get("tags", []) if t.startswith(LANGUAGE_TAG_PREFIX)]
        for tag in tags:
            if tag not in known:
                problems.append(f"cell {index}: unknown language tag '{tag}'; allowed: {', '.join(sorted(known))}")
        if tags and cell["cell_type"] == "code":
            problems.append(f"cell {index}: code cell tagged {', '.join(tags)}; only markdown cells carry a language")
        if len(set(tags) & known) > 1:
            problems.append(f"cell {index}: tagged with several languages ({', '.join(tags)}); leave it untagged instead")
    return problems


def is_language_neutral(text: str) -> bool:
    """``True`` when a markdown cell reads the same in every language: it has no letter.

    No character of any script's letters (``str.isalpha``: Latin, Hangul, ...): an empty
    cell, a rule ``---``, a heading made of numbers and symbols ``## 2011 · 2012``. A cell
    with any word in it needs a ``lang-en`` / ``lang-ko`` pair.
    """
    return not any(ch.isalpha() for ch in text)


def _heading_level(text: str) -> int:
    stripped = text.lstrip()
    return len(stripped) - len(stripped.lstrip("#"))


def bilingual_problems(notebook: Any) -> list[str]:
    """Where a notebook's markdown is not written in every report language, one sentence each.

    The convention (``docs/translating.md``): every markdown cell is language-neutral
    (:func:`is_language_neutral`) or tagged with a language. Tagged cells come in runs
    of consecutive cells, each run holding the same number of cells of every language
    in the same order: the k-th ``lang-ko`` cell of a run translates its k-th ``lang-en``
    cell (and starts with a heading of the same level). Includes
    :func:`language_tag_problems`.
    """
    problems = language_tag_problems(notebook)
    known = {language_tag(lang): lang for lang in SUPPORTED_LANGUAGES}
    runs: list[list[tuple[int, str, str]]] = []
    previous_tagged = False
    for index, cell in enumerate(notebook["cells"]):
        tags = [known[t] for t in cell.get("metadata", {}).get("tags", []) if t in known]
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if cell["cell_type"] != "markdown" or len(tags) != 1:
            if cell["cell_type"] == "markdown" and not tags and not is_language_neutral(source):
                first = source.strip().splitlines()[0][:60]
                problems.append(f"cell {index}: markdown '{first}' has no language tag; tag it lang-en "
                                f"and add its lang-ko translation after it")
            previous_tagged = False
            continue
        if not previous_tagged:
            runs.append([])
        runs[-1].append((index, tags[0], source))
        previous_tagged = True
    for run in runs:
        by_language = {lang: [(i, src) for i, tag, src in run if tag == lang] for lang in SUPPORTED_LANGUAGES}
        where = f"cells {run[0][0]}-{run[-1][0]}" if len(run) > 1 else f"cell {run[0][0]}"
        counts = {lang: len(cells) for lang, cells in by_language.items()}
        if len(set(counts.values())) > 1:
            problems.append(f"{where}: " + ", ".join(f"{n} {language_tag(lang)}" for lang, n in counts.items())
                            + " cells; every cell needs its translation next to it")
            continue
        for pair in zip(*by_language.values()):
            levels = {_heading_level(src) for _i, src in pair}
            if len(levels) > 1:
                problems.append(f"cells {', '.join(str(i) for i, _src in pair)}: translations of one another "
                                f"start with different heading levels; keep the same order and headings")
    return problems


# ----------------------------------------------------------------------------- messages in code cells
def notebook_msgids(paths: Iterable[Path]) -> set[str]:
    """The message ids the code cells of these notebooks pass to ``_()`` / ``N_()``."""
    found: set[str] = set()
    for path in paths:
        with Path(path).open("rb") as fh:
            found |= i18n.messages_of((None, message, comments, None) for _line, _func, message, comments
                                      in extract_notebook(fh, DEFAULT_KEYWORDS, [], {}))
    return found


def extract_notebook(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple]:
    """A Babel extraction method for ``.ipynb`` files: ``_()`` calls in the code cells.

    Each code cell is read by Babel's Python extractor; line numbers count from the
    cell's first line. Registered in ``babel.cfg`` as
    ``[crmlib.core.i18n:extract_notebook: notebooks/*.ipynb]``.
    """
    notebook = json.loads(fileobj.read().decode("utf-8"))
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        yield from extract_python(io.BytesIO(source.encode("utf-8")), keywords, comment_tags, options)


# ----------------------------------------------------------------------------- coverage
def _cells(notebook: Any) -> list[tuple[str, list[str], str]]:
    return [(c["cell_type"], c.get("metadata", {}).get("tags", []),
             c["source"] if isinstance(c["source"], str) else "".join(c["source"])) for c in notebook["cells"]]


def markdown_coverage(notebook: Any, language: str = "ko") -> tuple[int, int]:
    """``(translated, total)`` markdown cells of a notebook a manager reads in English.

    ``total``: the markdown cells that are not language-neutral and not tagged with
    another language (the English prose, tagged ``lang-en`` or not yet tagged);
    ``translated``: as many of them as the notebook has ``language`` cells for.
    """
    own, source = language_tag(language), language_tag(i18n.SOURCE_LANGUAGE)
    english = [tags for kind, tags, text in _cells(notebook)
               if kind == "markdown" and not is_language_neutral(text)
               and not any(t.startswith(LANGUAGE_TAG_PREFIX) and t != source for t in tags)]
    translated = sum(1 for kind, tags, _text in _cells(notebook) if kind == "markdown" and own in tags)
    return min(translated, len(english)), len(english)


def translation_coverage(notebook_paths: Iterable[Path], language: str = "ko") -> dict[str, tuple[int, int]]:
    """``(translated, total)`` of what a manager reads, by kind, for ``language``.

    Kinds: crmlib's marked strings (``_()``/``N_()``: KPI names, glossary, page titles,
    site words), the prose in the notebooks' markdown cells, and the prose their code
    cells show through ``_()``. English text crmlib builds without ``_()`` is not counted
    (it is not marked yet).
    """
    paths = list(notebook_paths)
    out: dict[str, tuple[int, int]] = {}
    for kind, msgids in (("crmlib strings", i18n.crmlib_msgids()), ("notebook code-cell prose", notebook_msgids(paths))):
        out[kind] = (len(msgids) - len(i18n.untranslated(msgids, language)), len(msgids))
    cells = [markdown_coverage(json.loads(Path(p).read_text(encoding="utf-8")), language) for p in paths]
    out["notebook markdown cells"] = (sum(t for t, _n in cells), sum(n for _t, n in cells))
    return out


if __name__ == "__main__":      # python -m crmlib.core.bilingual [notebooks/*.ipynb]: the share translated
    import sys

    found = [Path(a) for a in sys.argv[1:]] or sorted(Path("notebooks").glob("*.ipynb"))
    totals = translation_coverage(found)
    for kind, (done, total) in totals.items():
        print(f"{kind:26} {done:5} / {total:<5} {done / total if total else 1:6.1%}")
    done, total = (sum(v[i] for v in totals.values()) for i in (0, 1))
    print(f"{'all':26} {done:5} / {total:<5} {done / total if total else 1:6.1%}")
