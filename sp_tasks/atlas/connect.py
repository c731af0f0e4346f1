"""Turning an environment's settings into a ready AtlasClient (starting the local emulator if needed).

The one place that decides the base URL and the auth scheme: ``ATLAS_BASE_URL=emulator`` starts
(or reuses) the background emulator and uses its key pair; otherwise credentials come from the
environment with the precedence documented in ``settings`` (service account > API keys).
"""
from __future__ import annotations

from typing import Callable

from sp_tasks.atlas.auth import ApiKeyAuth, ServiceAccountAuth
from sp_tasks.atlas.client import AtlasClient


def emulator_data_dir(settings):
    path = settings.emulator_data_dir
    return path if path.is_absolute() else settings.root / path


def base_url(settings) -> str:
    """The HTTP base URL for ``settings``, starting the embedded emulator when it is the target."""
    if not settings.is_emulator:
        return settings.base_url
    from sp_tasks.console import current
    from sp_tasks.emulator import daemon

    console = current()
    with console.waiting(f"the local emulator to start on port {settings.emulator_port}"):
        state = daemon.start(emulator_data_dir(settings), settings.emulator_port)
    if state.started_now:  # a background process the user did not ask for by name: say so, and where
        console.progress(f"{state.describe()}; it keeps running in the background: "
                         f"`invoke emulator.stop -e {settings.name}` stops it")
    return state.url


def open_client(settings, notify: Callable[[str], None] | None = None) -> AtlasClient:
    """``notify`` (a line of text) hears of each retry and of pacing by the rate-limit budget."""
    url = base_url(settings)
    creds = settings.credentials()
    if creds.kind == "service_account":
        auth = ServiceAccountAuth(url, creds.user, creds.secret)
    else:
        auth = ApiKeyAuth(creds.user, creds.secret)
    on_retry = (lambda notice: notify(str(notice))) if notify else None
    return AtlasClient(url, settings.project_id, settings.workspace, auth, environment=settings.name,
                       on_retry=on_retry, on_pacing=notify)
