"""Write a self-contained HTML report (figures embedded as base64 PNG) plus PNG/SVG/CSV files."""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd

from lutsim import __version__

from .figures import plt  # pyplot on the headless backend that figures selects

#: table rows shown on the page (the CSV beside it has them all)
MAX_TABLE_ROWS = 200


@dataclass
class Section:
    """One report section: a figure (optional), its caption, a table (optional), a sentence."""

    slug: str
    title: str
    figure: object | None = None   # a matplotlib Figure
    caption: str = ""
    table: pd.DataFrame | None = None
    text: str = ""
    page_columns: tuple[str, ...] | None = None  # the table's columns shown on the page (None: all; CSV: all)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    return buf.getvalue()


def _html_table(df: pd.DataFrame) -> str:
    """A table that fits the page: 4 significant digits, empty cells for missing values (a prefill row has
    no kv_len), headers that may break after an underscore."""
    html = df.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, na_rep="")
    return re.sub(r"<th>(.*?)</th>", lambda m: "<th>" + m.group(1).replace("_", "_<wbr>") + "</th>", html)


def write_report(sections: list[Section], out: str | Path, title: str, source: str,
                 assumptions: list[dict] | None = None, svg: bool = True, embed: bool = True,
                 intro: str = "") -> Path:
    """Write ``out/report.html`` and one ``<slug>.png``/``.svg``/``.csv`` per section; return the page.

    ``svg``: also write each figure as SVG; ``embed``: figures inside the page as base64 PNG (a page that
    stands alone), else the page links the PNG files beside it (a smaller page); ``intro``: a paragraph
    under the title."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rendered = []
    for s in sections:
        png = None
        if s.figure is not None:
            data = _png(s.figure)
            (out / f"{s.slug}.png").write_bytes(data)
            if svg:
                s.figure.savefig(out / f"{s.slug}.svg", bbox_inches="tight")
            plt.close(s.figure)
            png = f"data:image/png;base64,{base64.b64encode(data).decode()}" if embed else f"{s.slug}.png"
        table, text = None, s.text
        if s.table is not None:
            s.table.to_csv(out / f"{s.slug}.csv", index=False)
            shown = s.table.head(MAX_TABLE_ROWS)
            if s.page_columns is not None:
                shown = shown[[c for c in s.page_columns if c in shown]]
            table = _html_table(shown)
            if len(shown) < len(s.table):  # a sweep of thousands of points: the page shows the first rows only
                text = f"{text} The first {len(shown)} of {len(s.table)} rows; all of them are in {s.slug}.csv.".strip()
        rendered.append({"title": s.title, "png": png, "caption": s.caption, "table": table, "text": text})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(title=title, sections=rendered, source=source,
                                                     version=__version__, assumptions=assumptions or [],
                                                     intro=intro)
    page = out / "report.html"
    page.write_text(html)
    return page
