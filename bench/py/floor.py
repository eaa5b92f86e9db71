"""The loopback floor of the latency workload in Python: no queue at all, the same three
processes and four loopback crossings as a put -> result round trip through a manager. This
process (the producer) sends a small line to a relay process (the manager), which forwards it
to an echo process (the worker), whose answer the relay forwards back."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from benchchild import Control, config, emit  # noqa: E402

LINE = b'{"jsonrpc":"2.0","id":1,"result":"image_url_1 ---> success"}\n'


def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


def accept(sock):
    conn, _ = sock.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def dial(address):
    conn = socket.create_connection(address)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def forward(source, target):
    """Copies one line from source to target; False at end of stream."""
    received = b""
    while not received.endswith(b"\n"):
        data = source.recv(65536)
        if not data:
            return False
        received += data
    target.sendall(received)
    return True


def fork_echo(sock):
    if os.fork() == 0:
        conn = accept(sock)
        while True:
            data = conn.recv(65536)
            if not data:
                os._exit(0)
            conn.sendall(data)


def fork_relay(sock, echo_address):
    if os.fork() == 0:
        worker = dial(echo_address)
        producer = accept(sock)
        while forward(producer, worker) and forward(worker, producer):
            pass
        os._exit(0)


def main():
    cfg = config()
    control = Control()
    echo_sock, relay_sock = listener(), listener()
    fork_echo(echo_sock)
    fork_relay(relay_sock, echo_sock.getsockname())
    conn = dial(relay_sock.getsockname())

    def round_trip():
        conn.sendall(LINE)
        received = b""
        while not received.endswith(b"\n"):
            received += conn.recv(65536)

    emit("ready")
    control.wait("go")
    samples = []
    for i in range(cfg["warmup"] + cfg["count"]):
        t0 = time.perf_counter_ns()
        round_trip()
        if i >= cfg["warmup"]:
            samples.append(round((time.perf_counter_ns() - t0) / 100) / 10)
    emit("result", samples=samples)
    conn.close()


if __name__ == "__main__":
    main()
