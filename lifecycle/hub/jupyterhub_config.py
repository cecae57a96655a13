"""JupyterHub configuration of the workshop hub (``jupyterhub -f`` this file).

Written settings come from ``$LIFECYCLE_HUB_SETTINGS`` (``.hub/hub/settings.json``, made
by ``python -m lifecycle.hub``), so this file holds no machine-specific value.
"""
import json
import os
import sys

from lifecycle.hub.accounts import INSTRUCTOR

c = get_config()  # noqa: F821  (provided by traitlets when JupyterHub loads this file)
s = json.loads(open(os.environ["LIFECYCLE_HUB_SETTINGS"]).read())

c.JupyterHub.ip = s["ip"]
c.JupyterHub.port = s["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = s["hub_port"]
c.JupyterHub.db_url = "sqlite:///" + os.path.join(s["hub_dir"], "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(s["hub_dir"], "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(s["hub_dir"], "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [s["proxy"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s['proxy_api_port']}"
c.ConfigurableHTTPProxy.pid_file = os.path.join(s["hub_dir"], "proxy.pid")
# The hub starts and stops its own proxy: after Ctrl-C nothing is left listening.
c.ConfigurableHTTPProxy.should_start = True

c.JupyterHub.authenticator_class = "lifecycle.hub.auth.ClassListAuthenticator"
c.ClassListAuthenticator.accounts_dir = s["accounts_dir"]
c.Authenticator.admin_users = {INSTRUCTOR}

c.JupyterHub.spawner_class = "lifecycle.hub.spawner.CourseSpawner"
c.CourseSpawner.state_dir = s["state"]
c.Spawner.cmd = [os.path.join(os.path.dirname(sys.executable), "jupyterhub-singleuser")]
# A room logging in at once on two cores: give each server time to start.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
c.Spawner.mem_limit = None

# Learners whose browser tab is closed keep their server until the hub stops; their work
# is on disk in their home either way.
c.JupyterHub.services = [{
    "name": "grading",
    "url": f"http://127.0.0.1:{s['service_port']}",
    "command": [sys.executable, "-m", "lifecycle.hub.grading", "--state", s["state"],
                "--port", str(s["service_port"])] + s.get("grading_args", []),
    "oauth_no_confirm": True,
    "display": True,
    "info": {"title": "Live view: who fetched, submitted, and which exercises the room finds hard"},
}]
c.JupyterHub.load_roles = [
    # The grading service reads the hub's user list for the live view; nothing more.
    {"name": "grading-service", "services": ["grading"], "scopes": ["list:users", "read:users"]},
    # Only the instructor may open the live view (and download grades.csv).
    {"name": "instructor-views", "users": [INSTRUCTOR], "scopes": ["access:services!service=grading"]},
]
