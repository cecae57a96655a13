"""What a learner sees: JupyterLab in headless Chromium, started as ``make lab`` starts it.

The server runs through :func:`lifecycle.lab.lab_command` on a free loopback port,
serving a temporary copy of ``course/`` plus two copies of one lesson notebook in
``check/<lesson>/``: ``<name>-solved.ipynb`` (answer cells filled from ``solutions/``)
and ``<name>-broken.ipynb`` (the same, but the last exercise left as the release stub).
Screenshots go to ``$TMPDIR/model-lifecycle-lab-screenshots/`` (or ``$LIFECYCLE_SCREENSHOTS``)
for reviewers.

Skipped, with the reason, when Playwright or Debian's ``chromium`` is missing.
Choose the lesson with ``LIFECYCLE_BROWSER_LESSON=02_optimizers`` (default: the first
lesson with a solution notebook).
"""
from __future__ import annotations

import os
import re
import shutil

import nbformat
import pytest

from tests.browser_support import (
    CHROMIUM_ARGS,
    ROOT,
    SCREENSHOTS,
    LabServer,
    answer_ids,
    chromium_path,
    copy_course,
    filled,
    graded_cells_after,
    lesson_notebooks,
    missing_browser_reason,
)

REASON = missing_browser_reason()
if REASON is not None:
    pytest.skip(f"browser tests skipped: {REASON}", allow_module_level=True)
pytestmark = pytest.mark.browser

VALIDATE_TIMEOUT_MS = 180_000
RUN_ALL_TIMEOUT_MS = 240_000


def _choose_notebook() -> tuple[str, str]:
    found = lesson_notebooks()
    if not found:
        pytest.skip("no lesson notebook with a solution in course/ and solutions/")
    wanted = os.environ.get("LIFECYCLE_BROWSER_LESSON")
    if wanted:
        picked = [nb for nb in found if nb[0] == wanted]
        if not picked:
            pytest.fail(f"LIFECYCLE_BROWSER_LESSON={wanted}: no such lesson notebook")
        return picked[0]
    return found[0]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A temporary course with a solved and a broken copy of one lesson notebook."""
    lesson, stem = _choose_notebook()
    base = tmp_path_factory.mktemp("browser")
    course_dir = copy_course(base / "course")
    broken_id = answer_ids(lesson, stem)[-1]
    solved = filled(lesson, stem)
    broken = filled(lesson, stem, keep_stub=(broken_id,))
    # The filled copies sit in check/<lesson>/, outside the lesson folder, so that a
    # show_progress() cell checks only the learner's own notebook of that lesson.
    work = course_dir / "check" / lesson
    work.mkdir(parents=True)
    nbformat.write(solved, str(work / f"{stem}-solved.ipynb"))
    nbformat.write(broken, str(work / f"{stem}-broken.ipynb"))
    return {"dir": course_dir, "base": base, "lesson": lesson, "stem": stem, "work": work,
            "rel": f"check/{lesson}/{stem}",
            "broken_id": broken_id, "broken_tests": graded_cells_after(broken, broken_id), "solved": solved}


@pytest.fixture(scope="module")
def lab(course):
    server = LabServer(course["dir"], course["base"] / "lab-state",
                       extra_args=("--LabApp.expose_app_in_browser=True",))
    with server:
        yield server


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900}, service_workers="block")
        context.set_default_timeout(60_000)  # a loaded 2-core CI machine is slow
        yield context
        context.close()


@pytest.fixture(scope="module")
def page(browser_context, lab):
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(lab.url("/"))  # "/" goes to the landing page, as `make lab` opens it
    page.wait_for_selector("#jp-main-dock-panel", state="visible")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started !== undefined")
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    page.page_errors = errors
    yield page
    page.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def open_notebook(page, path: str) -> None:
    """Open ``path`` (relative to the course) with JupyterLab's own command and wait for it."""
    page.evaluate("(p) => window.jupyterapp.commands.execute('docmanager:open', {path: p})"
                  ".then(() => true)", path)
    name = path.rsplit("/", 1)[-1]
    page.wait_for_selector(f".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current:has-text('{name}')")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    wait_kernel_idle(page)


def wait_kernel_idle(page, timeout: int = 60_000) -> None:
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp.shell.currentWidget;
          const k = w && w.sessionContext && w.sessionContext.session
                    && w.sessionContext.session.kernel;
          return k && k.status === 'idle';
        }""", timeout=timeout)


def validate_and_wait(page):
    """Click the notebook's Validate button; return the result dialog's message element."""
    button = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button").first
    button.wait_for(state="visible")
    button.click()
    message = page.locator("#validation-message")
    message.wait_for(state="visible", timeout=VALIDATE_TIMEOUT_MS)
    return message


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def close_dialog(page) -> None:
    page.locator(".jp-Dialog button.jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached")


def test_opens_on_landing_page_without_popups(page, lab):
    heading = page.locator(".jp-RenderedMarkdown h1", has_text="Welcome to Model Lifecycle Lab")
    heading.wait_for(state="visible")
    assert "/lab/tree/README.md" in page.url
    # No news prompt or other toast, no dialog on the first start.
    assert page.locator(".Toastify__toast").count() == 0, page.locator(".Toastify__toast").all_inner_texts()
    assert page.locator(".jp-Dialog").count() == 0
    shot(page, "01-landing-page")


def test_learner_sees_no_instructor_tools(page, lab):
    menubar = page.locator("#jp-MainMenu")
    menubar.wait_for(state="visible")
    labels = [t.strip() for t in menubar.locator(".lm-MenuBar-itemLabel").all_inner_texts()]
    assert "Run" in labels and "Nbgrader" not in labels, labels
    assert page.locator("#nbgrader-create_assignemnt").count() == 0
    assert page.locator(".jp-SideBar [title*='Create Assignment']").count() == 0
    assert lab.get("/formgrader") == 404
    assert not page.page_errors, page.page_errors


def test_course_tree_shows_lessons(page, course):
    page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate').then(() => true)")
    page.locator(".jp-BreadCrumbs-home").click()  # the course's top folder
    items = page.locator(".jp-DirListing-content .jp-DirListing-itemText")
    items.filter(has_text=re.compile(r"^README\.md$")).wait_for(state="visible")
    names = set(items.all_inner_texts())
    lessons = {d.name for d in course["dir"].iterdir() if d.is_dir() and re.match(r"\d\d_", d.name)}
    assert lessons and lessons <= names, f"lessons {sorted(lessons)} not all in the tree {sorted(names)}"
    assert "README.md" in names
    shot(page, "02-course-tree")


def test_lesson_notebook_opens_with_validate_button(page, course):
    lesson, stem = course["lesson"], course["stem"]
    # Like a learner: from the top folder, double-click the lesson, then the notebook.
    page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate').then(() => true)")
    page.locator(".jp-BreadCrumbs-home").click()
    page.locator(".jp-DirListing-item", has_text=lesson).first.dblclick()
    row = page.locator(".jp-DirListing-item[title^='Name: " + stem + ".ipynb']").first
    row.wait_for(state="visible")
    row.dblclick()
    page.wait_for_selector(f".lm-TabBar-tab.lm-mod-current:has-text('{stem}.ipynb')")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    wait_kernel_idle(page)
    toolbar = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-NotebookPanel-toolbar")
    assert toolbar.locator(".validate-button").is_visible()
    assert page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell").count() > 0
    shot(page, "03-lesson-open")


@pytest.mark.parametrize("lesson", sorted(p.name for p in (ROOT / "course").glob("[0-9][0-9]_*")))
def test_every_lesson_opens_unchanged(page, course, lesson):
    # JupyterLab marks a notebook unsaved when it has to fill in metadata (kernelspec,
    # language_info) the file lacks; a learner would then be asked to save changes they
    # never made.
    for notebook in sorted((course["dir"] / lesson).glob("*.ipynb")):
        open_notebook(page, f"{lesson}/{notebook.name}")
        panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"
        assert page.locator(f"{panel} .validate-button").first.is_visible()
        dirty = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty")
        assert dirty is False, f"{lesson}/{notebook.name} opens marked unsaved"
        page.evaluate("() => window.jupyterapp.shell.currentWidget.close()")


def test_run_all_cells_shows_plots_and_no_errors(page, course):
    open_notebook(page, f"{course['rel']}-solved.ipynb")
    # Run > Run All Cells, through the menu a learner uses.
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp.shell.currentWidget;
          const cells = w.content.widgets.filter(c => c.model.type === 'code');
          const k = w.sessionContext.session && w.sessionContext.session.kernel;
          return k && k.status === 'idle'
                 && cells.every(c => c.model.executionCount !== null);
        }""", timeout=RUN_ALL_TIMEOUT_MS)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save').then(() => true)")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    saved = nbformat.read(str(course["work"] / f"{course['stem']}-solved.ipynb"), as_version=4)
    errors = [(c.get("id"), o.get("ename"), o.get("evalue"))
              for c in saved.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"cells failed in the browser: {errors}"
    images = sum(1 for c in saved.cells if c.cell_type == "code" for o in c.get("outputs", [])
                 if "image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {}))
    plots_expected = any(re.search(r"\bplt\.|plotting|\.plot\(|plot_", c.source)
                         for c in course["solved"].cells if c.cell_type == "code")
    if plots_expected:
        assert images > 0, "the notebook draws plots but none came back"
        first = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedImage img").first
        first.scroll_into_view_if_needed()
        first.wait_for(state="visible")
        assert first.evaluate("img => img.naturalWidth") > 0
    shot(page, "04-run-all-plots")
    # A lesson's last cell shows the learner's progress (lifecycle.progress).
    progress_cells = [c for c in saved.cells if c.cell_type == "code" and "show_progress(" in c.source]
    for cell in progress_cells:
        text = "".join(o.get("text", "") for o in cell.get("outputs", []))
        assert "points pass the public checks" in text, f"show_progress printed: {text[:800]}"


def test_validate_reports_success_on_a_correct_notebook(page, course):
    open_notebook(page, f"{course['rel']}-solved.ipynb")
    message = validate_and_wait(page)
    text = message.inner_text()
    assert "validation-success" in (message.get_attribute("class") or ""), text
    assert "Success! Your notebook passes all the tests." in text
    shot(page, "05-validate-success")
    close_dialog(page)


def test_validate_answers_did_i_get_it_per_exercise(page, course):
    """One line per exercise (passed / not started), the test code never shown."""
    from autograder.grading.feedback import exercises

    open_notebook(page, f"{course['rel']}-broken.ipynb")
    message = validate_and_wait(page)
    text = message.inner_text()
    assert "validation-failed" in (message.get_attribute("class") or ""), text
    assert "The following cell failed" not in text  # nbgrader's label, hidden: it would be false
    broken = nbformat.read(str(course["work"] / f"{course['stem']}-broken.ipynb"), as_version=4)
    titles = {ex["answer"]: ex["title"].replace("`", "") for ex in exercises(broken)}
    shown = _squash(text)
    assert f"{_squash(titles[course['broken_id']])}: not started" in shown, text[:1500]
    passing = [t for gid, t in titles.items() if gid != course["broken_id"]]
    assert passing and all(f"{_squash(t)}: passed" in shown for t in passing), text[:1500]
    assert f"{len(passing)} of {len(titles)} exercises pass" in shown
    tests = [_squash(c.source) for c in broken.cells if (c.metadata.get("nbgrader") or {}).get("grade")
             and c.source.strip()]
    assert not [src for src in tests if src in shown], "the dialog shows test code"
    assert "Traceback" not in text and len(text) < 4000
    shot(page, "06-validate-failure")
    close_dialog(page)


def test_instructor_mode_shows_nbgrader_tools(browser_context, course, feedback_pages):
    # The instructor's tree is the repository itself; JupyterLab checkpoints the
    # pages it opens. Leave no such folder behind.
    made = [p for p in (ROOT / "solutions" / ".ipynb_checkpoints",
                        ROOT / "docs" / ".ipynb_checkpoints") if not p.exists()]
    try:
        _instructor_mode(browser_context, course, feedback_pages)
    finally:
        for path in made:
            if path.exists():
                shutil.rmtree(path)


def _instructor_mode(browser_context, course, feedback_pages):
    graded = feedback_pages["partial"].parents[3]  # OUT/feedback/<learner>/<lesson>/<nb>.html
    with LabServer(course["dir"], course["base"] / "lab-instructor", mode="instructor",
                   graded=graded) as server:
        assert server.get("/formgrader") in (200, 302)
        page = browser_context.new_page()
        try:
            page.goto(server.url("/"))
            # The instructor's page, not the learners' welcome; its glossary link works.
            page.locator(".jp-RenderedMarkdown h1", has_text="Running a workshop").wait_for()
            page.locator(".jp-BreadCrumbs", has_text="docs").wait_for()
            page.locator(".jp-RenderedMarkdown a", has_text="glossary").first.click()
            page.locator(".lm-TabBar-tab.lm-mod-current", has_text="glossary.md").wait_for()
            page.locator(".jp-RenderedMarkdown:visible h1").first.wait_for()
            assert "glossary" in page.locator(".jp-RenderedMarkdown:visible h1").first \
                .inner_text().lower()
            menubar = page.locator("#jp-MainMenu")
            menubar.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for(state="visible")
            menubar.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
            page.locator(".lm-Menu-itemLabel", has_text="Formgrader").first.wait_for(state="visible")
            shot(page, "07-instructor-mode")
            page.keyboard.press("Escape")
            # The formgrader itself renders and lists every lesson of solutions/.
            page.goto(server.url("/formgrader"))
            table = page.locator("#main-table")
            for lesson in sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*")):
                table.locator("td", has_text=lesson).first.wait_for()
            assert "exchange directory" not in page.content()  # make lab gives it one
            # The graded class is there, with no configuration by hand: two submissions.
            row = table.locator("tr", has=page.locator("td.name", has_text=course["lesson"]))
            page.wait_for_function(
                "(l) => [...document.querySelectorAll('#main-table tr')].some(r => "
                "r.querySelector('td.name') && r.querySelector('td.name').innerText.trim() === l"
                " && r.querySelector('.num-submissions').innerText.trim() === '2')",
                arg=course["lesson"])
            assert row.locator(".num-submissions").inner_text().strip() == "2"
            shot(page, "08-formgrader")
        finally:
            page.close()


@pytest.fixture(scope="module")
def feedback_pages(course):
    """Feedback pages written by the grading CLI: the broken notebook and an unreadable one."""
    import subprocess

    from tests.conftest import PYTHON

    lesson, stem = course["lesson"], course["stem"]
    subs, out = course["base"] / "submitted", course["base"] / "graded"
    for learner in ("partial", "unreadable"):
        (subs / learner / lesson).mkdir(parents=True)
    shutil.copy(course["work"] / f"{stem}-broken.ipynb", subs / "partial" / lesson / f"{stem}.ipynb")
    text = (course["work"] / f"{stem}-broken.ipynb").read_text()
    (subs / "unreadable" / lesson / f"{stem}.ipynb").write_text(text[: len(text) // 2])
    run = subprocess.run([PYTHON, "-m", "autograder", "grade", str(subs), "--out", str(out),
                          "--lesson", lesson, "--workers", "2", "--quiet"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    return {learner: out / "feedback" / learner / lesson / f"{stem}.html"
            for learner in ("partial", "unreadable")}


def _open_offline(browser_context, path):
    """Open a feedback page as a file; every request off the machine is refused and recorded."""
    page = browser_context.new_page()
    remote: list[str] = []

    def refuse(route):
        remote.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^https?://"), refuse)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, remote


def test_feedback_page_reads_as_a_summary_per_exercise(browser_context, course, feedback_pages):
    page, remote = _open_offline(browser_context, feedback_pages["partial"])
    try:
        assert not remote, f"the feedback page loads from the network: {remote[:5]}"
        summary = page.locator(".lc-summary")
        assert summary.locator("h1").inner_text().startswith("Feedback: ")
        rows = summary.locator("tr:has(td)")
        titles = [t.strip() for t in rows.locator("td:first-child").all_inner_texts()]
        results = [t.strip() for t in rows.locator("td:nth-child(3)").all_inner_texts()]
        assert len(titles) == len(answer_ids(course["lesson"], course["stem"])), titles
        assert all(t.startswith("Exercise ") and "points" not in t for t in titles), titles
        assert results[-1] == "not attempted" and set(results[:-1]) == {"passed"}, results
        body = page.locator("body").inner_text()
        assert "Test cell" not in body and "test_" not in summary.inner_text()
        assert re.search(r"Score: \d+ / \d+", body)
        assert not re.search(r"\d\.\d{12,}", summary.inner_text())  # no 4.6000000000000005
        # Maths is typeset (MathML laid out by the browser), not $…$ source.
        maths = page.locator("math")
        assert maths.count() > 0
        assert maths.first.evaluate("m => m.getBoundingClientRect().width") > 0
        assert "\\frac" not in body and "$$" not in body
        # The learner's plots are on the page and load (demonstrations are not run when grading).
        plots_expected = any(re.search(r"\bplt\.(show|plot|subplots|figure)\(|\.plot\(|\bplot_\w*\(",
                                       c.source)
                             for c in course["solved"].cells if c.cell_type == "code"
                             and "demo" not in c.metadata.get("tags", []))
        images = page.locator("img")
        if plots_expected:
            assert images.count() > 0, "the notebook draws plots but the page has none"
        assert all(img.evaluate("i => i.complete && i.naturalWidth > 0") for img in images.all())
        # A title in the summary leads to that exercise in the notebook.
        rows.last.locator("a").click()
        page.wait_for_function("() => location.hash.startsWith('#exercise-')")
        shot(page, "09-feedback-exercise")
        page.evaluate("() => window.scrollTo(0, 0)")
        shot(page, "09-feedback-summary")
    finally:
        page.close()


def test_unreadable_notebook_gets_one_message(browser_context, feedback_pages):
    page, remote = _open_offline(browser_context, feedback_pages["unreadable"])
    try:
        assert not remote
        body = page.locator("body").inner_text()
        assert body.count("not valid JSON") == 1, body[:2000]
        assert "at at" not in body
        results = {t.strip() for t in page.locator(".lc-summary tr:has(td) td:nth-child(3)")
                   .all_inner_texts()}
        assert results == {"not graded: unreadable notebook"}, results
        shot(page, "10-feedback-unreadable")
    finally:
        page.close()
