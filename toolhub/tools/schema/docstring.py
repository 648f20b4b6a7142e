"""Tool and parameter descriptions from a docstring (Google, NumPy or reST style), as Letta reads them."""

import textwrap
from dataclasses import dataclass

import docstring_parser


@dataclass(frozen=True)
class DocstringInfo:
    description: str
    """Summary, then the long description and any examples, separated by blank lines."""
    parameters: dict[str, str]


def read_docstring(docstring: str) -> DocstringInfo:
    """Parse a docstring as written; `Returns:` and other sections are ignored on purpose."""
    parsed = docstring_parser.parse(docstring)
    parts = [(part or "").strip() for part in (parsed.short_description, parsed.long_description, _examples(parsed))]
    return DocstringInfo(
        description="\n\n".join(filter(None, parts)),
        parameters={p.arg_name: p.description.strip() for p in parsed.params if p.description},
    )


def _examples(parsed: docstring_parser.Docstring) -> str | None:
    """Render every examples section the way a Google docstring writes it, whatever the source style."""
    bodies = ["\n".join(filter(None, [e.snippet, e.description])) for e in parsed.examples]
    text = "\n".join(body for body in bodies if body)
    return f"Examples:\n{textwrap.indent(text, '    ')}" if text else None
