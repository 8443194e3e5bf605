"""A self-contained HTML page for the report."""

from __future__ import annotations

import html
import json
from pathlib import Path

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 100%; } figcaption { font-size: 0.85em; color: #555;
       max-width: 520px; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc;
       padding: 0.2em 0.6em; text-align: right; }
pre { background: #f6f6f6; padding: 0.8em; }
li { margin: 0.4em 0; line-height: 1.4; }
"""


def _table(rows) -> str:
    head, *body = rows
    cells = "".join(f"<th>{html.escape(str(c))}</th>" for c in head)
    lines = [f"<tr>{cells}</tr>"]
    for r in body:
        lines.append(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
        )
    return "<table>" + "".join(lines) + "</table>"


def _section(title, figures, extra) -> str:
    parts = [f"<h2>{html.escape(title)}</h2>"]
    if isinstance(extra, str):
        parts.append(f"<pre>{html.escape(extra)}</pre>")
    elif extra and all(isinstance(item, str) for item in extra):  # sentences
        items = "".join(f"<li>{html.escape(item)}</li>" for item in extra)
        parts.append(f"<ul>{items}</ul>")
    elif extra:
        parts.append(_table(extra))
    for name, caption in figures:
        parts.append(
            f'<figure><img src="{html.escape(name)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    return "\n".join(parts)


def write_html(out: Path, sections, results: dict) -> Path:
    """Write ``out/index.html`` from the report sections and numbers."""
    body = "\n".join(_section(*s) for s in sections)
    numbers = html.escape(json.dumps(results, indent=1, default=str))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>sksbi-manifold report</title><style>{_STYLE}</style></head>"
        "<body><h1>sksbi-manifold report</h1>"
        f"{body}<h2>All fitted numbers</h2><pre>{numbers}</pre></body></html>"
    )
    index = Path(out) / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
