"""When a request reached the server: the kernel's receive timestamp of its bytes.

A request's arrival is what a rate limit judges. Stamping it when the handler starts lets the
server's own event loop move it: a loop that falls behind (a busy machine, a long GC pause, a
burst of other work) reads several requests at once and stamps them together, so requests
that arrived well spaced look bunched and a strict referee counts windows over the limit the
client never sent. The kernel stamps each received segment as it comes in
(``SO_TIMESTAMPNS``); the loop's lag cannot move that stamp.

:class:`StampingListener` is a listening socket whose accepted connections
(:class:`StampedConnection`) read with ``recvmsg`` and keep the kernel's stamp of the bytes
they last read (``time.time()`` when the kernel gives none). asyncio's selector loop reads an
accepted socket with ``recv`` (or ``recv_into``), so an aiohttp server built on this listener
(``web.SockSite``) reads through them unchanged. HTTP/1.1 requests on one connection follow
each other (a client sends the next only after the reply), so when a handler starts, its
connection's last read held its request.

Linux only (``SO_TIMESTAMPNS``); :func:`stamping_listener` returns ``None`` elsewhere and the
server stamps on the handler's start, as before.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import time
import weakref
from typing import Any

__all__ = ["StampedConnection", "StampingListener", "stamping_listener"]

_SO_TIMESTAMPNS: int | None = getattr(socket, "SO_TIMESTAMPNS", None)
if _SO_TIMESTAMPNS is None and sys.platform.startswith("linux"):
    _SO_TIMESTAMPNS = 35  # <asm-generic/socket.h>; Python does not export it
_TIMESPEC = struct.Struct("@qq")
"""``struct timespec`` on 64-bit Linux: seconds, nanoseconds."""
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0


def _stamp(ancillary: list[tuple[int, int, bytes]]) -> float:
    """The kernel's receive time (``time.time()`` seconds) in ``ancillary``, else now."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return float(seconds + nanoseconds / 1e9)
    return time.time()


class StampedConnection(socket.socket):
    """An accepted connection noting when the bytes of its last read reached the host."""

    __slots__ = ("received_at",)

    received_at: float | None
    """``time.time()`` seconds when the bytes of the last read arrived; ``None`` before any."""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """``socket.recv`` through ``recvmsg``, keeping the receive stamp."""
        data, ancillary, _, _ = self.recvmsg(bufsize, _ANCILLARY, flags)
        if data:
            self.received_at = _stamp(ancillary)
        return data

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        """``socket.recv_into`` through ``recvmsg_into``, keeping the receive stamp."""
        view = memoryview(buffer).cast("B")
        if nbytes:
            view = view[:nbytes]
        count, ancillary, _, _ = self.recvmsg_into([view], _ANCILLARY, flags)
        if count:
            self.received_at = _stamp(ancillary)
        return count


class StampingListener(socket.socket):
    """A listening socket whose connections are :class:`StampedConnection`; ``connections``
    finds a live one by its peer address (what ``transport.get_extra_info("peername")``
    gives a handler)."""

    __slots__ = ("connections",)

    connections: weakref.WeakValueDictionary[Any, StampedConnection]

    def accept(self) -> tuple[socket.socket, Any]:
        """Accept as ``socket.accept`` does, as a :class:`StampedConnection` stamping its
        reads."""
        fd, address = self._accept()  # type: ignore[attr-defined]
        connection = StampedConnection(self.family, self.type, self.proto, fileno=fd)
        connection.received_at = None
        if socket.getdefaulttimeout() is None and self.gettimeout():
            connection.setblocking(True)  # as socket.accept does
        with contextlib.suppress(OSError):  # else its reads are stamped with time.time()
            connection.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS or 0, 1)
        self.connections[address] = connection
        return connection, address

    def received_at(self, peer: Any) -> float | None:
        """When the last read of the connection from ``peer`` arrived (None: unknown)."""
        connection = self.connections.get(peer)
        return None if connection is None else connection.received_at


def stamping_listener(host: str, port: int, backlog: int = 128) -> StampingListener | None:
    """A non-blocking listener bound to ``host:port`` (an IPv4 address first when the name
    has several), or ``None`` where the kernel gives no receive stamps."""
    if _SO_TIMESTAMPNS is None or not _ANCILLARY:
        return None
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = sorted(infos, key=lambda i: i[0] != socket.AF_INET)[0]
    listener = StampingListener(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:  # not on this kernel
        listener.close()
        return None
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(backlog)
        listener.setblocking(False)
    except OSError:
        listener.close()
        raise
    listener.connections = weakref.WeakValueDictionary()
    return listener
