"""`make lab` without a browser: checks, configuration, and what the server serves."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lifecycle import lab
from tests.browser_support import LabServer, copy_course

ROOT = Path(__file__).resolve().parent.parent
NBGRADER_LAB = ROOT / ".venv" / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader"


def test_old_python_gets_a_clear_message():
    with pytest.raises(lab.LabError, match=r"Python 3\.10 or newer is needed; this is Python 3\.9"):
        lab.check_python((3, 9))
    lab.check_python((3, 10))
    lab.check_python((3, 13))


def test_taken_port_gets_a_clear_message():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(lab.LabError, match=rf"(?s)Port {port} .* already in use.*make lab PORT="):
            lab.check_port(port)
    lab.check_port(port)  # free again
    with pytest.raises(lab.LabError, match="between 1 and 65535"):
        lab.check_port(70000)


def test_cli_exits_2_with_the_message_when_the_port_is_taken():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "lifecycle.lab", "--port", str(port),
                              "--no-browser"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == 2
    assert f"make lab: Port {port}" in run.stderr and "PORT=" in run.stderr


def test_learner_config_hides_instructor_tools(tmp_path):
    dirs = lab.write_config("learner", tmp_path)
    page = json.loads((dirs["config"] / "labconfig" / "page_config.json").read_text())
    disabled = {k for k, v in page["disabledExtensions"].items() if v}
    assert disabled == set(lab.INSTRUCTOR_PLUGINS)
    assert lab.VALIDATE_PLUGIN not in disabled
    server = json.loads((dirs["config"] / "jupyter_server_config.json").read_text())
    ext = server["ServerApp"]["jpserver_extensions"]
    assert ext["nbgrader.server_extensions.validate_assignment"] is False
    assert ext["lifecycle.validate"] is True  # serves Validate's URLs, per exercise
    assert not any(ext[name] for name in lab.INSTRUCTOR_SERVER_EXTENSIONS)
    # No first-run pop-ups.
    assert server["LabApp"]["news_url"] is None
    overrides = json.loads((dirs["config"] / "labconfig" / "default_setting_overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def test_instructor_config_shows_everything(tmp_path):
    dirs = lab.write_config("instructor", tmp_path)
    page = json.loads((dirs["config"] / "labconfig" / "page_config.json").read_text())
    assert not any(page["disabledExtensions"].values())
    server = json.loads((dirs["config"] / "jupyter_server_config.json").read_text())
    extensions = server["ServerApp"]["jpserver_extensions"]
    # Every nbgrader tool, with lifecycle.validate in place of nbgrader's Validate handler.
    assert extensions.pop("nbgrader.server_extensions.validate_assignment") is False
    assert all(extensions.values()) and extensions["lifecycle.validate"]
    # Release and Collect work on this machine (a local exchange the formgrader finds).
    exchange = json.loads((dirs["config"] / "nbgrader_config.json").read_text())["Exchange"]["root"]
    assert Path(exchange).is_dir() and Path(exchange).is_relative_to(tmp_path)
    assert not (lab.write_config("learner", tmp_path)["config"] / "nbgrader_config.json").exists()


def test_unknown_mode_is_refused(tmp_path):
    with pytest.raises(lab.LabError, match="learner, instructor"):
        lab.write_config("teacher", tmp_path)


@pytest.mark.skipif(not NBGRADER_LAB.exists(), reason="nbgrader's lab extension is not installed")
def test_plugin_ids_exist_in_the_installed_nbgrader():
    """If nbgrader renames a plugin, disabling it would silently stop working."""
    code = "".join(p.read_text(errors="replace") for p in (NBGRADER_LAB / "static").glob("*.js"))
    for plugin in (*lab.INSTRUCTOR_PLUGINS, lab.VALIDATE_PLUGIN):
        assert f'"{plugin}"' in code, plugin


def test_command_binds_loopback_only_and_opens_the_landing_page(tmp_path, monkeypatch):
    course = copy_course(tmp_path / "course")
    launch = lab.lab_command(8123, "learner", course_dir=course, state_dir=tmp_path / "state",
                             open_browser=False)
    args = launch.argv
    assert "--ServerApp.ip=127.0.0.1" in args and "--ServerApp.port=8123" in args
    assert "--ServerApp.port_retries=0" in args  # a taken port is an error, not another port
    assert f"--ServerApp.root_dir={course.resolve()}" in args
    assert "--ServerApp.default_url=/lab/tree/README.md" in args
    assert launch.url == "http://127.0.0.1:8123/lab/tree/README.md"
    assert launch.cwd == ROOT  # Validate reads nbgrader_config.py from here
    # The course's Jupyter folders, for the launched process only.
    assert launch.env["JUPYTER_CONFIG_DIR"].startswith(str(tmp_path / "state"))
    assert launch.env["JUPYTERLAB_SETTINGS_DIR"].startswith(str(tmp_path / "state"))
    assert "JUPYTERLAB_SETTINGS_DIR" not in os.environ or \
        os.environ["JUPYTERLAB_SETTINGS_DIR"] != launch.env["JUPYTERLAB_SETTINGS_DIR"]
    # Without a landing page, JupyterLab's own start page.
    (course / "README.md").unlink()
    launch = lab.lab_command(8123, "learner", course_dir=course, state_dir=tmp_path / "state")
    assert "--ServerApp.default_url=/lab" in launch.argv


def test_allow_root_only_as_root(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "getuid", lambda: 0)
    assert "--allow-root" in lab.lab_command(8123, state_dir=tmp_path).argv
    monkeypatch.setattr(os, "getuid", lambda: 1000)
    assert "--allow-root" not in lab.lab_command(8123, state_dir=tmp_path).argv


def test_dry_run_prints_the_command(tmp_path):
    run = subprocess.run([sys.executable, "-m", "lifecycle.lab", "--port", "0", "--dry-run"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == 2 and "between 1 and 65535" in run.stderr
    port = lab.free_port()
    run = subprocess.run([sys.executable, "-m", "lifecycle.lab", "--port", str(port), "--dry-run",
                          "--mode", "instructor", "--state-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "instructor" / "config" / "jupyter_server_config.json").is_file()
    assert "-m jupyterlab" in run.stdout and f"--ServerApp.root_dir={ROOT}" in run.stdout


def _post(server, path: str, body: dict) -> int:
    """HTTP status of ``POST path`` with a JSON body, authenticated by the server's token."""
    request = urllib.request.Request(server.base + path, data=json.dumps(body).encode(),
                                     headers={"Authorization": f"token {server.token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_servers_expose_the_right_nbgrader_handlers(tmp_path):
    """Learner: Validate only; instructor: the formgrader too."""
    course = copy_course(tmp_path / "course")
    with LabServer(course, tmp_path / "learner") as server:
        assert server.get("/api/status") == 200
        assert server.get("/nbgrader_version?version=0") == 200  # Validate's handler
        assert _post(server, "/assignments/validate", {"path": "../../etc/passwd"}) == 400
        assert _post(server, "/assignments/validate", {"path": "README.md"}) == 400
        assert server.get("/formgrader") == 404
        assert server.get("/courses") == 404
        assert server.get("/lab/tree/README.md") == 200
        assert "Failed to get announcements" not in server.log()
    with LabServer(course, tmp_path / "instructor", mode="instructor") as server:
        assert server.get("/formgrader") in (200, 302)


def test_instructor_config_points_the_formgrader_at_a_graded_class(tmp_path):
    out, subs = tmp_path / "out", tmp_path / "submitted"
    (out / ".state" / "ana" / "01_preprocessing").mkdir(parents=True)
    (out / "gradebook.db").write_bytes(b"")
    job = {"learner": "ana", "lesson": "01_preprocessing", "notebook": "preprocessing",
           "path": str(subs / "ana" / "01_preprocessing" / "preprocessing.ipynb")}
    (out / ".state" / "ana" / "01_preprocessing" / "preprocessing.json").write_text(
        json.dumps({"job": job}))
    dirs = lab.write_config("instructor", tmp_path / "state", graded=out)
    course = json.loads((dirs["config"] / "nbgrader_config.json").read_text())["CourseDirectory"]
    assert course["db_url"] == f"sqlite:///{out.resolve() / 'gradebook.db'}"
    assert course["autograded_directory"] == str(out.resolve() / "autograded")
    assert course["submitted_directory"] == str(subs)
    # No gradebook there: nothing changes, and the command line says what to give.
    assert lab.graded_class(tmp_path / "nothing") is None
    run = subprocess.run([sys.executable, "-m", "lifecycle.lab", "--mode", "instructor",
                          "--graded", str(tmp_path / "nothing"), "--dry-run",
                          "--port", str(lab.free_port())], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert run.returncode == 2 and "no gradebook.db" in run.stderr


def test_instructor_mode_opens_on_the_instructor_page(tmp_path):
    course = copy_course(tmp_path / "course")
    launch = lab.lab_command(8123, "instructor", course_dir=course, state_dir=tmp_path / "state")
    assert f"--ServerApp.default_url=/lab/tree/{lab.INSTRUCTOR_PAGE}" in launch.argv
    page = (ROOT / lab.INSTRUCTOR_PAGE).read_text()
    # Its links lead to files that exist (the glossary above all), from docs/.
    for target in re.findall(r"\]\(([^)#]+)\)", page):
        if "://" in target or target.startswith("../out/"):
            continue
        assert (ROOT / "docs" / target).resolve().exists(), target
    assert "](glossary.md)" in page
