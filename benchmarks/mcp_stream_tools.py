"""Check: the official MongoDB MCP server's stream tools against the emulator (an outside client).

The MCP server (npm ``mongodb-mcp-server``) sends ``Accept: application/vnd.atlas.2025-03-12+json``
to every streams endpoint and insists on HTTPS for its OAuth token, so this script runs the
emulator (realistic lifecycle delays on), a small TLS terminator in front of it (self-signed
certificate from ``openssl``; Node told to accept it), the MCP server over stdio, and calls its
four stream tools through a whole lifecycle: workspace, Sample + Cluster connections, processor
create/start/inspect/diagnose/stop/modify, workspace update, teardown. Prints PASS/FAIL per call.
Run: npm install mongodb-mcp-server --prefix DIR; python benchmarks/mcp_stream_tools.py --mcp-dir DIR
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GROUP = "0123456789abcdef01234567"
PIPELINE = [{"$source": {"connectionName": "sample_stream_solar"}}, {"$match": {"obs.watts": {"$gt": 100}}},
            {"$merge": {"into": {"connectionName": "cluster", "db": "solar", "coll": "hot"}}}]
W = {"workspaceName": "mcpws"}
CALLS = (  # (label, tool, arguments, seconds to let the lifecycle settle after)
    ("build workspace", "build", {"resource": "workspace", **W, "cloudProvider": "AWS", "region": "VIRGINIA_USA",
                                  "tier": "SP10", "includeSampleData": True}, 0),
    ("discover list-workspaces", "discover", {"action": "list-workspaces"}, 0),
    ("discover inspect-workspace", "discover", {"action": "inspect-workspace", **W}, 0),
    ("build connection Cluster", "build", {"resource": "connection", **W, "connectionName": "cluster",
                                           "connectionType": "Cluster", "connectionConfig": {"clusterName": "C0"}}, 0),
    ("discover list-connections", "discover", {"action": "list-connections", **W}, 0),
    ("discover inspect-connection", "discover", {"action": "inspect-connection", **W, "resourceName": "cluster"}, 0),
    ("build processor", "build", {"resource": "processor", **W, "processorName": "hot", "pipeline": PIPELINE}, 1),
    ("manage start-processor", "manage", {"action": "start-processor", **W, "resourceName": "hot"}, 2),
    ("discover list-processors", "discover", {"action": "list-processors", **W}, 0),
    ("discover inspect-processor", "discover", {"action": "inspect-processor", **W, "resourceName": "hot"}, 0),
    ("discover diagnose-processor", "discover", {"action": "diagnose-processor", **W, "resourceName": "hot"}, 0),
    ("manage stop-processor", "manage", {"action": "stop-processor", **W, "resourceName": "hot"}, 2),
    ("manage modify-processor", "manage", {"action": "modify-processor", **W, "resourceName": "hot",
                                           "pipeline": [PIPELINE[0], {"$match": {"obs.watts": {"$gt": 200}}},
                                                        PIPELINE[2]]}, 0),
    ("manage update-workspace", "manage", {"action": "update-workspace", **W, "newTier": "SP30"}, 0),
    ("discover get-networking", "discover", {"action": "get-networking", **W}, 0),
    ("teardown processor", "teardown", {"resource": "processor", **W, "resourceName": "hot"}, 0),
    ("teardown connection", "teardown", {"resource": "connection", **W, "resourceName": "cluster"}, 0),
    ("teardown workspace", "teardown", {"resource": "workspace", **W}, 0),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def terminate_tls(listen: int, target: int, workdir: Path) -> None:
    """https://127.0.0.1:listen -> http://127.0.0.1:target; Host rewritten (the emulator checks it)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", workdir / "key.pem",
                    "-out", workdir / "cert.pem", "-days", "1", "-subj", "/CN=127.0.0.1"], check=True,
                   capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(workdir / "cert.pem", workdir / "key.pem")
    ours, theirs = f"127.0.0.1:{listen}".encode(), f"127.0.0.1:{target}".encode()

    def pipe(src, dst, rewrite: bool) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data.replace(ours, theirs) if rewrite else data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve(raw) -> None:
        try:
            client = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        upstream = socket.create_connection(("127.0.0.1", target))
        threading.Thread(target=pipe, args=(client, upstream, True), daemon=True).start()
        pipe(upstream, client, False)

    server = socket.create_server(("127.0.0.1", listen))
    threading.Thread(target=lambda: [threading.Thread(target=serve, args=(server.accept()[0],), daemon=True).start()
                                     for _ in iter(int, 1)], daemon=True).start()


class Mcp:
    def __init__(self, mcp_dir: Path, base_url: str, log: Path):
        env = {**os.environ, "MDB_MCP_API_BASE_URL": base_url, "MDB_MCP_API_CLIENT_ID": "local",
               "MDB_MCP_API_CLIENT_SECRET": "local", "MDB_MCP_TELEMETRY": "disabled", "DO_NOT_TRACK": "1",
               "NODE_TLS_REJECT_UNAUTHORIZED": "0", "MDB_MCP_LOGGERS": "stderr"}
        self.proc = subprocess.Popen([mcp_dir / "node_modules" / ".bin" / "mongodb-mcp-server"], env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.open("w"))
        self.ids = itertools.count(1)

    def rpc(self, method: str, params=None, notify: bool = False):
        msg = {"jsonrpc": "2.0", "method": method, **({"params": params} if params is not None else {})}
        if not notify:
            msg["id"] = next(self.ids)
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        while not notify:
            reply = json.loads(self.proc.stdout.readline() or '{"id": null, "error": "server exited"}')
            if reply.get("id") in (msg["id"], None):
                return reply
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mcp-dir", type=Path, required=True, help="where `npm install mongodb-mcp-server` ran")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work, port, tls = Path(tmp), free_port(), free_port()
        emulator = subprocess.Popen([sys.executable, "-m", "sp_tasks.emulator", "--port", str(port), "--data-dir",
                                     str(work / "emu")], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        emulator.stdout.readline()
        terminate_tls(tls, port, work)
        mcp = Mcp(args.mcp_dir, f"https://127.0.0.1:{tls}/", work / "mcp.log")
        try:
            mcp.rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                   "clientInfo": {"name": "sp-tasks-check", "version": "1"}})
            mcp.rpc("notifications/initialized", notify=True)
            passed = 0
            for label, tool, arguments, settle in CALLS:
                reply = mcp.rpc("tools/call", {"name": f"atlas-streams-{tool}",
                                               "arguments": {"projectId": GROUP, **arguments}})
                result = reply.get("result") or {}
                ok = "error" not in reply and not result.get("isError")
                passed += ok
                text = " ".join(c.get("text", "") for c in result.get("content", []))[:160].replace("\n", " ")
                print(f"{'PASS' if ok else 'FAIL'}  {label}: {text or reply.get('error')}")
                time.sleep(settle)
            print(f"{passed} of {len(CALLS)} stream tool calls passed")
        finally:
            mcp.proc.terminate()
            emulator.terminate()
            emulator.wait(timeout=10)


if __name__ == "__main__":
    main()
