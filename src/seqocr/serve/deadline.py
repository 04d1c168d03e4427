"""seqocr's HTTP connection: uvicorn's h11 protocol, closed when slow to send its request,
and answering without Nagle's delay under several workers.

uvicorn times out idle keep-alive connections, but not one that trickles its headers or
body, or declares a Content-Length it never sends. And with `--workers N` uvicorn binds
the listening socket itself, with `proto` 0, so asyncio leaves TCP_NODELAY off on
accepted connections: every kept-alive request then waits for the client's delayed ACK
(uvicorn issue #3149; the cost is in docs/results.md, Service)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with deadlines: a new connection must send a whole first line
    within `line_timeout` seconds (silent sockets would otherwise hold connection slots for
    the whole request deadline: 256 of them kept every other client out), and a request
    must arrive whole (headers and body) within `request_timeout` seconds of its first
    byte; the app's own work on it is not counted."""

    def __init__(self, *args: Any, request_timeout: float, line_timeout: float | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.request_timeout = request_timeout
        self.line_timeout = min(line_timeout or request_timeout, request_timeout)
        self.deadline: asyncio.TimerHandle | None = None
        self.line_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        connection = transport.get_extra_info("socket")
        if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self._arm()
        self.line_deadline = self.loop.call_later(self.line_timeout, self._silent)

    def data_received(self, data: bytes) -> None:
        if self.line_deadline is not None and b"\n" in data:
            self.line_deadline.cancel()  # a whole first line: the request deadline takes over
            self.line_deadline = None
        if self.deadline is None and self._waiting_for_request():
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self.line_deadline is not None:
            self.line_deadline.cancel()
            self.line_deadline = None
        super().connection_lost(exc)

    def _silent(self) -> None:
        self.line_deadline = None
        if not self.transport.is_closing():
            self.transport.close()  # not logged: a flood of such sockets must not flood the log

    def _waiting_for_request(self) -> bool:
        cycle = self.cycle
        return cycle is None or cycle.response_complete or cycle.more_body

    def _arm(self) -> None:
        self.deadline = self.loop.call_later(self.request_timeout, self._expire)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _expire(self) -> None:
        self.deadline = None
        if self._waiting_for_request() and not self.transport.is_closing():
            if self.cycle is None or self.cycle.response_complete:
                self.logger.warning("closed a connection that sent no whole request in %.0f s", self.request_timeout)
            self.transport.close()
