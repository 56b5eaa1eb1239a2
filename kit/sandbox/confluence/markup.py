"""A tiny page markup, rendered to Confluence storage format, ADF, view HTML and text.

The sandbox's pages are written in a compact markup (`## heading`, `- item`,
`!info: panel`, `$ command`, `| table |`) so that the content reads well in Python.
This module turns it into the real representations the REST API serves: storage
XHTML (`<ac:structured-macro>` and all), Atlassian Document Format, and plain text.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from html import escape
from typing import Any

_INLINE = re.compile(r"(`[^`]+`|\*\*[^*]+\*\*)")
_PANELS = {"info": "info", "note": "note", "warning": "warning", "tip": "success"}


@dataclass(frozen=True)
class Block:
    """One block of a page: its kind, and its lines or cells."""

    kind: str  # h2, h3, p, ul, ol, code, table, or a panel name (info, ...)
    lines: tuple[str, ...]


def parse(text: str) -> tuple[Block, ...]:
    """Split markup into blocks; blank lines separate them."""
    chunks = [chunk.strip("\n") for chunk in text.strip().split("\n\n")]
    return tuple(_block(chunk.splitlines()) for chunk in chunks if chunk.strip())


_PREFIXED: tuple[tuple[str, str], ...] = (
    ("### ", "h3"),
    ("## ", "h2"),
)
_LISTED: tuple[tuple[str, str], ...] = (
    ("- ", "ul"),
    ("$ ", "code"),
)


def _block(lines: list[str]) -> Block:
    first = lines[0]
    for prefix, kind in _PREFIXED:
        if first.startswith(prefix):
            return Block(kind, (first[len(prefix) :],))
    for prefix, kind in _LISTED:
        if first.startswith(prefix):
            return Block(kind, tuple(line[len(prefix) :] for line in lines))
    if re.match(r"\d+\. ", first):
        return Block("ol", tuple(line.split(". ", 1)[1] for line in lines))
    if first.startswith("| "):
        return Block("table", tuple(lines))
    panel = re.match(r"!(info|note|warning|tip): (.*)", first)
    if panel:
        return Block(panel.group(1), (" ".join([panel.group(2), *lines[1:]]),))
    return Block("p", (" ".join(lines),))


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _inline_storage(text: str) -> str:
    parts = []
    for piece in _INLINE.split(text):
        if piece.startswith("`") and piece.endswith("`") and len(piece) > 1:
            parts.append(f"<code>{escape(piece[1:-1], quote=False)}</code>")
        elif piece.startswith("**") and piece.endswith("**") and len(piece) > 3:
            parts.append(f"<strong>{escape(piece[2:-2], quote=False)}</strong>")
        else:
            parts.append(escape(piece, quote=False))
    return "".join(parts)


def _plain(text: str) -> str:
    return text.replace("`", "").replace("**", "")


def to_storage(blocks: tuple[Block, ...], seed: str) -> str:
    """Confluence storage format (XHTML with `ac:` macros) for the blocks.

    `seed` makes each macro's `ac:macro-id` a stable UUID, as Confluence's are.
    """
    return "".join(
        _storage_block(block, f"{seed}/{n}") for n, block in enumerate(blocks)
    )


def _storage_block(block: Block, seed: str) -> str:
    kind, lines = block.kind, block.lines
    if kind in ("h2", "h3", "p"):
        return f"<{kind}>{_inline_storage(lines[0])}</{kind}>"
    if kind in ("ul", "ol"):
        items = "".join(f"<li><p>{_inline_storage(line)}</p></li>" for line in lines)
        return f"<{kind}>{items}</{kind}>"
    if kind == "table":
        return _storage_table(lines)
    macro_id = uuid.uuid5(uuid.NAMESPACE_URL, seed)
    head = (
        f'<ac:structured-macro ac:name="{"code" if kind == "code" else kind}" '
        f'ac:schema-version="1" ac:macro-id="{macro_id}">'
    )
    if kind == "code":
        code = "\n".join(lines).replace("]]>", "]]]]><![CDATA[>")
        return (
            f'{head}<ac:parameter ac:name="language">bash</ac:parameter>'
            f"<ac:plain-text-body><![CDATA[{code}]]></ac:plain-text-body>"
            "</ac:structured-macro>"
        )
    body = f"<p>{_inline_storage(lines[0])}</p>"
    return f"{head}<ac:rich-text-body>{body}</ac:rich-text-body></ac:structured-macro>"


def _storage_table(rows: tuple[str, ...]) -> str:
    out = ["<table><tbody>"]
    for index, row in enumerate(rows):
        tag = "th" if index == 0 else "td"
        cells = "".join(
            f"<{tag}><p>{_inline_storage(cell)}</p></{tag}>" for cell in _cells(row)
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def to_view(blocks: tuple[Block, ...]) -> str:
    """Rendered HTML, roughly as Confluence's `view` representation looks."""
    out = []
    for block in blocks:
        if block.kind == "code":
            code = escape("\n".join(block.lines), quote=False)
            out.append(f'<div class="code panel"><pre>{code}</pre></div>')
        elif block.kind in _PANELS:
            text = _inline_storage(block.lines[0])
            out.append(
                f'<div class="confluence-information-macro '
                f'confluence-information-macro-{block.kind}"><p>{text}</p></div>'
            )
        else:
            out.append(_storage_block(block, ""))
    return "".join(out)


def _adf_text(text: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for piece in _INLINE.split(text):
        if not piece:
            continue
        if piece.startswith("`") and piece.endswith("`") and len(piece) > 1:
            nodes.append(_adf_mark(piece[1:-1], "code"))
        elif piece.startswith("**") and piece.endswith("**") and len(piece) > 3:
            nodes.append(_adf_mark(piece[2:-2], "strong"))
        else:
            nodes.append({"type": "text", "text": piece})
    return nodes


def _adf_mark(text: str, mark: str) -> dict[str, Any]:
    return {"type": "text", "text": text, "marks": [{"type": mark}]}


def _adf_paragraph(text: str) -> dict[str, Any]:
    return {"type": "paragraph", "content": _adf_text(text)}


def _adf_block(block: Block) -> dict[str, Any]:
    kind, lines = block.kind, block.lines
    if kind in ("h2", "h3"):
        level = int(kind[1])
        return {
            "type": "heading",
            "attrs": {"level": level},
            "content": _adf_text(lines[0]),
        }
    if kind == "p":
        return _adf_paragraph(lines[0])
    if kind in ("ul", "ol"):
        items = [{"type": "listItem", "content": [_adf_paragraph(x)]} for x in lines]
        return {
            "type": "bulletList" if kind == "ul" else "orderedList",
            "content": items,
        }
    if kind == "code":
        text = {"type": "text", "text": "\n".join(lines)}
        return {"type": "codeBlock", "attrs": {"language": "bash"}, "content": [text]}
    if kind == "table":
        return _adf_table(lines)
    panel = {"panelType": _PANELS[kind]}
    return {"type": "panel", "attrs": panel, "content": [_adf_paragraph(lines[0])]}


def _adf_table(rows: tuple[str, ...]) -> dict[str, Any]:
    table_rows = []
    for index, row in enumerate(rows):
        cell_type = "tableHeader" if index == 0 else "tableCell"
        cells = [
            {"type": cell_type, "attrs": {}, "content": [_adf_paragraph(cell)]}
            for cell in _cells(row)
        ]
        table_rows.append({"type": "tableRow", "content": cells})
    attrs = {"isNumberColumnEnabled": False, "layout": "default"}
    return {"type": "table", "attrs": attrs, "content": table_rows}


def to_adf(blocks: tuple[Block, ...]) -> str:
    """Atlassian Document Format, as the JSON string the v2 API puts in `value`."""
    doc = {"type": "doc", "version": 1, "content": [_adf_block(b) for b in blocks]}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def to_text(blocks: tuple[Block, ...]) -> str:
    """The words of the page, one block per line, for search and excerpts."""
    lines: list[str] = []
    for block in blocks:
        if block.kind == "table":
            lines.extend(" ".join(_cells(row)) for row in block.lines)
        else:
            lines.extend(_plain(line) for line in block.lines)
    return "\n".join(lines)
