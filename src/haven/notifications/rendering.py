"""The mails' words: Jinja2 templates, HTML (autoescaped) and plain text, per kind.

Haven's own templates are in this package (templates/); a file of the same name in
`<data dir>/templates/notifications/` takes its place, so an operator can reword a mail
without touching the install (docs/notifications.md lists the names and their variables).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_KINDS = ("reminder", "digest")


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def override_dir(data_dir: Path) -> Path:
    return data_dir / "templates" / "notifications"


@lru_cache(maxsize=8)
def environment(data_dir: Path) -> jinja2.Environment:
    """Templates from the data folder first, then Haven's; HTML escaped, text as it is."""
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(str(override_dir(data_dir))),
            jinja2.PackageLoader("haven.notifications", "templates"),
        ]
    )
    return jinja2.Environment(
        loader=loader,
        # Only .html is escaped: the text part and the subject are not HTML.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
    )


def render_mail(kind: str, context: dict[str, Any], *, data_dir: Path) -> RenderedMail:
    """The subject, text and HTML of a `kind` mail ("reminder", "digest")."""
    if kind not in TEMPLATE_KINDS:
        raise ValueError(f"no mail templates for notifications of kind {kind!r}")
    env = environment(data_dir)
    subject = env.get_template(f"{kind}.subject.txt").render(context)
    return RenderedMail(
        # A header is one line: whatever a template or a title brings, newlines go.
        subject=" ".join(subject.split())[:250],
        text=env.get_template(f"{kind}.txt").render(context),
        html=env.get_template(f"{kind}.html").render(context),
    )
