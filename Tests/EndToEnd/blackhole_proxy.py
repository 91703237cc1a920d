"""A TCP proxy that can cut the line without closing it, as a broken network does: after
`cut()` every byte either way is swallowed and new connections are accepted but go nowhere, so
the client learns of it only from its own timeouts. `heal()` lets new connections through."""

import socket
import threading


class BlackholeProxy:
    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.cut_off = threading.Event()
        self.closing = threading.Event()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self):
        self.cut_off.set()

    def heal(self):
        """Lets new connections through; the ones open during the cut stay dead."""
        self.cut_off.clear()

    def close(self):
        self.closing.set()
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.close()
                except OSError:
                    pass

    def _keep(self, s: socket.socket):
        with self.lock:
            self.sockets.append(s)

    def _accept(self):
        while not self.closing.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self._keep(client)
            if self.cut_off.is_set():
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self._keep(server)
            dead = threading.Event()  # set when this connection was open during a cut
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b, dead), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, dead: threading.Event):
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                if not dead.is_set() and not self.cut_off.is_set():
                    try:
                        sink.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                return
            if self.cut_off.is_set():
                dead.set()
            if dead.is_set():
                continue  # swallowed: the peer never hears of it, and never hears a close
            try:
                sink.sendall(data)
            except OSError:
                return

    def _swallow(self, s: socket.socket):
        while True:
            try:
                if not s.recv(65536):
                    return
            except OSError:
                return
