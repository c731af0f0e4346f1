"""``python -m sp_tasks.emulator``: run the local Atlas Stream Processing emulator in the foreground."""
from __future__ import annotations

import argparse
import logging
import logging.handlers
import signal
import socket
import threading
import sys

from sp_tasks.emulator import lifecycle
from sp_tasks.emulator.backend import DEFAULT_SAMPLE_RATE, Backend
from sp_tasks.emulator.daemon import code_fingerprint, free_port
from sp_tasks.emulator.documents import Retention
from sp_tasks.emulator.errors import ApiError
from sp_tasks.emulator.server import EmulatorServer


def _delays(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, float]:
    """--no-delays, then each --delay TRANSITION=SECONDS over the realistic defaults."""
    spec: dict[str, float] = {}
    for item in args.delay or ():
        name, _, seconds = item.partition("=")
        try:
            spec[name.strip()] = float(seconds)
        except ValueError:
            parser.error(f"--delay {item!r}: expected TRANSITION=SECONDS, e.g. processor_stop=5")
    try:
        return lifecycle.parse_delays(spec, lifecycle.ZERO_DELAYS if args.no_delays else lifecycle.DEFAULT_DELAYS)
    except ApiError as err:
        parser.error(err.detail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sp_tasks.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=27999, help="TCP port; 0 picks a free one (default 27999)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: local only)")
    parser.add_argument("--data-dir", default=".sp/emulator", help="where state lives (default .sp/emulator)")
    parser.add_argument("--sample-rate", type=float, default=DEFAULT_SAMPLE_RATE,
                        help=f"sample_stream_solar docs/s per processor (default {DEFAULT_SAMPLE_RATE:g})")
    parser.add_argument("--delay", action="append", metavar="TRANSITION=SECONDS",
                        help="how long one asynchronous transition takes (repeatable); transitions: "
                             + ", ".join(f"{k} (default {v:g})" for k, v in lifecycle.DEFAULT_DELAYS.items()))
    parser.add_argument("--no-delays", action="store_true",
                        help="settle every transition inside its request (tests that do not test waiting)")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="another Host name to answer to, e.g. with --host 0.0.0.0 (default: loopback only)")
    parser.add_argument("--max-documents", type=_positive, default=Retention.documents, metavar="N",
                        help=f"newest documents kept per sink collection (default {Retention.documents})")
    parser.add_argument("--log-file", help="log here, rotated at --log-max-bytes (default: stderr)")
    parser.add_argument("--log-max-bytes", type=_positive, default=5_000_000, metavar="N",
                        help="size at which --log-file rotates; one old file is kept (default 5000000)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    delays = _delays(args, parser)
    handlers = [logging.handlers.RotatingFileHandler(args.log_file, maxBytes=args.log_max_bytes, backupCount=1)
                ] if args.log_file else None
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", handlers=handlers)
    code_fingerprint()  # fix the identity of the code this process runs, before anyone edits it
    problem = _cannot_listen(args.host, args.port)  # before the backend resumes any processor
    if problem:
        print(problem, file=sys.stderr)
        return 1
    backend = Backend(args.data_dir, sample_rate=args.sample_rate, delays=delays)
    if backend.runtime is not None:
        backend.runtime.documents.retention = Retention(documents=args.max_documents)
    try:
        server = EmulatorServer(backend, args.host, args.port, aliases=tuple(args.allowed_host))
    except OSError as err:  # lost a race for the port since the check
        backend.close()
        print(_listen_error(args.host, args.port, err), file=sys.stderr)
        return 1
    # The first line is machine-read by the background launcher: keep its shape.
    print(f"sp-tasks emulator listening on {server.url} (data: {args.data_dir}, "
          f"resumed {backend.resumed} started processor(s))", flush=True)
    # shutdown() blocks until serve_forever returns, so it must run off the serving thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        backend.close()
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return int(text)


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not bind ``host:port`` (busy, privileged, not a local address), or None."""
    if port == 0:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as HTTPServer does
        try:
            probe.bind((host, port))
        except OSError as err:
            return _listen_error(host, port, err)
    return None


def _listen_error(host: str, port: int, err: OSError) -> str:
    try:
        example = f"--port {free_port()}, or "
    except OSError:
        example = ""
    return (f"error: cannot listen on {host}:{port}: {err.strerror or err}; choose another port with --port "
            f"(e.g. {example}--port 0 for any free one)")


if __name__ == "__main__":
    sys.exit(main())
