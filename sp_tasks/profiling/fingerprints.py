"""What makes two profile runs comparable: a definition fingerprint per processor, an environment one.

A run summary is only evidence about the definition that ran, on the machine it ran on. Every
recorded run therefore carries, per processor, the **definition fingerprint** (12 hex digits of
sha256 over the processor's canonical definition: pipeline in order, options, tier; name left
out so a copy such as ``X__ab_head`` of an unchanged X fingerprints like X; secret values
redacted so rotating a password changes nothing and no secret is hashed) and one **environment
fingerprint**, kept readable because people read it when runs are skipped:

* the emulator: ``emulator; <CPU model>; <arch>; <n> CPUs; Python 3.11; sp-tasks 0.1.0`` — its
  numbers move with the machine and with the emulator's code;
* real Atlas: ``atlas; <cloud provider>/<region>`` — the service measures itself; the machine
  running ``invoke`` does not enter its numbers.

Pure except :func:`local_machine`, which reads the platform once.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

FINGERPRINT_DIGITS = 12


def definition_fingerprint(pipeline: Any, options: Mapping[str, Any] | None, tier: str | None) -> str:
    """The processor definition's fingerprint (same definition, same 12 hex digits)."""
    from sp_tasks.planning.normalize import canonical_document, processor_document
    from sp_tasks.secrets import processor_secrets, redact

    doc = processor_document("", list(pipeline or []), dict(options) if options else None, tier)
    doc = redact(doc, processor_secrets(doc))
    doc.pop("name", None)
    text = json.dumps(canonical_document(doc), separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:FINGERPRINT_DIGITS]


def fingerprint_of_doc(doc: Mapping[str, Any]) -> str:
    """The fingerprint of a processor as the API lists it (``pipeline``, ``options``, ``tier``)."""
    return definition_fingerprint(doc.get("pipeline") or [], doc.get("options"), doc.get("tier"))


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    arch: str
    cpus: int
    python: str  # major.minor


def local_machine() -> Machine:
    """The machine this process runs on (the emulator runs here too)."""
    return Machine(_cpu_model(), platform.machine() or "unknown", os.cpu_count() or 0,
                   f"{sys.version_info.major}.{sys.version_info.minor}")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name") and ":" in line:
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def environment_fingerprint(*, emulator: bool, machine: Machine | None = None, version: str = "",
                            cloud: str = "") -> str:
    """The readable environment fingerprint of a run (see the module docstring)."""
    if not emulator:
        return f"atlas; {cloud or 'unknown region'}"
    m = machine or local_machine()
    clean = m.cpu_model.replace(";", ",")
    return f"emulator; {clean}; {m.arch}; {m.cpus} CPUs; Python {m.python}; sp-tasks {version or 'unknown'}"


def settings_environment(settings: Any) -> str:
    """:func:`environment_fingerprint` of an environment's settings (emulator or Atlas region)."""
    from urllib.parse import urlsplit

    from sp_tasks import __version__

    # An emulator at a loopback URL (tests, `python -m sp_tasks.emulator`) runs on this machine too.
    local = settings.is_emulator or urlsplit(settings.base_url).hostname in ("127.0.0.1", "localhost", "::1")
    return environment_fingerprint(emulator=local, version=__version__,
                                   cloud=f"{settings.cloud_provider}/{settings.region}")
