"""The hub's authenticator: the class list's accounts, one password each."""
from __future__ import annotations

import asyncio
from pathlib import Path

from jupyterhub.auth import Authenticator
from traitlets import Unicode

from lifecycle.hub.accounts import INSTRUCTOR, account_names, check_password

__all__ = ["ClassListAuthenticator"]


class ClassListAuthenticator(Authenticator):
    """Log in with a username of the class list (or ``instructor``) and its password.

    The accounts are read at every login, so learners added while the hub runs
    (``python -m lifecycle.hub accounts``) can log in at once. Unknown names and wrong
    passwords get the same answer.
    """

    accounts_dir = Unicode(config=True, help="the hub's accounts folder (accounts.json)")

    async def authenticate(self, handler, data):
        name = self.normalize_username((data or {}).get("username") or "")
        password = (data or {}).get("password") or ""
        # scrypt takes tens of milliseconds: keep the hub's event loop free meanwhile
        ok = await asyncio.to_thread(check_password, Path(self.accounts_dir), name, password)
        if not ok:
            return None
        return {"name": name, "admin": name == INSTRUCTOR}

    def check_allowed(self, username, authentication=None):
        return username in account_names(Path(self.accounts_dir))
