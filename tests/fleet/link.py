"""A network link a test can cut: TCP forwarders from local ports to the hub's leaf ports.

While cut, every connection through it is dropped and new ones are refused (the listener is
closed), as when a cable is pulled or a route goes away; restored, it listens again on the
same ports. Plain threads and blocking sockets, outside any event loop.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from ollamon_cli.nats_server import free_port

ACCEPT_POLL_SECONDS = 0.2
CHUNK_BYTES = 65536


class _Forwarder:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        listener.settimeout(ACCEPT_POLL_SECONDS)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        with self.lock:
            connections, self.connections = self.connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _accept(self, listener: socket.socket) -> None:
        while self.listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self.lock:
                self.connections |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(CHUNK_BYTES):
                sink.sendall(chunk)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
        with self.lock:
            self.connections -= {source, sink}


class CuttableLink:
    """Local ports forwarding to `targets`, one each (the edge lists every hub node)."""

    def __init__(self, targets: list[tuple[str, int]]) -> None:
        self._forwarders = [_Forwarder(target) for target in targets]

    @property
    def ports(self) -> list[int]:
        """The local ports, in the order of the targets."""
        return [forwarder.port for forwarder in self._forwarders]

    def restore(self) -> None:
        """Listen (again) and forward."""
        for forwarder in self._forwarders:
            forwarder.open()

    def cut(self) -> None:
        """Drop every connection through the link and refuse new ones."""
        for forwarder in self._forwarders:
            forwarder.close()
