"""The HTML exporter of the feedback pages: nbconvert's, less two passes a page does not need.

nbconvert's :class:`~nbconvert.HTMLExporter` runs bleach's sanitizer on every
code cell's highlighted source, then parses the whole page again with
BeautifulSoup to add ``alt`` texts and ``tabindex`` attributes. Together they
were most of a page's cost (1.3 to 2.9 s of CPU for a lesson's page). Neither is
needed here:

- the highlighted source is Pygments' ``HtmlFormatter`` output, which escapes
  every character of the source it is given (``&``, ``<``, ``>``, quotes), so
  there is no markup of the learner's to sanitize (the course's template,
  ``templates/lifecycle_feedback``, shows it as is);
- the only images on a page are the learner's plots, which the template gives an
  ``alt`` text itself, and the ``tabindex`` attributes go on JupyterLab
  template classes that the classic template the page extends does not use.

It also keeps the HTML of the cells it has rendered, code cells highlighted and
markdown cells with their maths: a class's notebooks share most of their cells
(the instructor's), and Pygments' lexer, the markdown renderer and bleach were most
of what a page cost once those two passes were gone.
"""
from __future__ import annotations

import functools
import json
import secrets

import jinja2
from nbconvert import HTMLExporter, filters
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

__all__ = ["FeedbackExporter"]


# Highlighted cells kept per exporter and lexer: a few lessons' cells, bounded.
MEMO_CELLS = 1024


class _MemoHighlight:
    """:class:`~nbconvert.filters.highlight.Highlight2HTML` that renders each source once.

    Its output depends on the source, the language and the cell's ``magics_language``
    only, which make the memo's key.
    """

    def __init__(self, highlight: Highlight2HTML):
        self.html = functools.lru_cache(maxsize=MEMO_CELLS)(
            lambda source, language, magics: highlight(
                source, language, {"magics_language": magics} if magics else None))

    def __call__(self, source, language=None, metadata=None):
        """Highlight ``source`` as :class:`Highlight2HTML` does."""
        return self.html(source, language, (metadata or {}).get("magics_language"))


class FeedbackExporter(HTMLExporter):
    """:class:`~nbconvert.HTMLExporter` without its BeautifulSoup pass over the page."""

    @jinja2.pass_context
    def markdown_cell(self, context, source: str) -> str:
        """A markdown cell's HTML as a feedback page shows it, rendered once per source.

        Maths becomes MathML (:func:`~autograder.grading.feedback.math_placeholders`
        around nbconvert's ``markdown2html``), and the HTML goes through
        :func:`~autograder.grading.feedback.learner_html`. The result depends on the
        source and the cell's attachments only (the settings are the exporter's), which
        make the memo's key; placeholder words are put back within the cell, with a
        nonce of their own.
        """
        attachments = json.dumps(context.get("cell", {}).get("attachments", {}), sort_keys=True)
        memo = self.__dict__.get("_markdown")
        if memo is None:
            memo = self.__dict__["_markdown"] = functools.lru_cache(maxsize=MEMO_CELLS)(
                self._render_markdown)
        return memo(source, attachments)

    def _render_markdown(self, source: str, attachments: str) -> str:
        from autograder.grading.feedback import learner_html, math_placeholders, put_maths

        maths: dict[str, str] = {}
        text = math_placeholders(source, secrets.token_hex(4), maths)
        context = {"cell": {"attachments": json.loads(attachments)}}
        rendered = filters.strip_files_prefix(self.markdown2html(context, text))
        return put_maths(learner_html(rendered), maths)

    def highlighter(self, lexer) -> _MemoHighlight:
        """This exporter's highlighting filter for ``lexer``, made on first use."""
        memo = self.__dict__.setdefault("_highlighters", {})
        if lexer not in memo:
            memo[lexer] = _MemoHighlight(Highlight2HTML(pygments_lexer=lexer, parent=self))
        return memo[lexer]

    def from_notebook_node(self, nb, resources=None, **kw):
        """Render ``nb`` as HTMLExporter does (same filters), then return the page unparsed."""
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get("highlight_code") or self.highlighter(lexer)
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata,
                                                 parent=self, resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        self.register_filter("markdown_cell", self.markdown_cell)
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)
