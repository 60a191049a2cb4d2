#!/usr/bin/env python3
"""A client under test that misbehaves, for testing the conformance head-end itself: it never does what
a case asks, ignores SIGTERM and outlives the case (the head-end must stop it), and meanwhile
  garbage  sends bytes that are not HTTP, broken requests and bodies shorter than announced;
  flood    opens connection after connection from many threads and sends requests as fast as it can;
  hang     opens connections, sends half a request line on each and never sends the rest.
It stops on its own after LIMIT seconds (default 60) so a broken head-end cannot leave it behind, and
writes its process ID to PIDFILE when given.
usage: hostile_client.py garbage|flood|hang URL [LIMIT [PIDFILE]]"""
import os
import random
import re
import signal
import socket
import sys
import threading
import time


def connect(host, port):
    s = socket.create_connection((host, port), timeout=2)
    s.settimeout(2)
    return s


def drain(s):
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass


def garbage(host, port, path, end):
    rnd = random.Random(7)
    broken = [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc" + bytes(rnd.randrange(256) for _ in range(600)),
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 200000 + b"\r\n\r\n",
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n<partial",
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"\r\n\r\n\r\n\x00\x00\x00 HTTP/9.9 ???\r\n\r\n",
        b"PUT /edev/../../etc/passwd HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n\xff\xfe\x00<a",
    ]
    i = 0
    while time.time() < end:
        try:
            s = connect(host, port)
            if i % 3 == 0:
                s.sendall(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 4096))))
            else:
                s.sendall(broken[i % len(broken)])
            s.shutdown(socket.SHUT_WR)
            drain(s)
            s.close()
        except OSError:
            time.sleep(0.01)
        i += 1


def flood(host, port, path, end):
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n\r\n" % (path, host)).encode()

    def worker():
        while time.time() < end:
            try:
                s = connect(host, port)
                for _ in range(50):  # pipelined, answers never read until the end
                    s.sendall(req)
                s.close()
            except OSError:
                time.sleep(0.01)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def hang(host, port, path, end):
    held = []
    for _ in range(200):
        try:
            s = connect(host, port)
            s.sendall(("GET %s HT" % path).encode())
            held.append(s)
        except OSError:
            break
    while time.time() < end:
        time.sleep(0.5)


def main():
    mode, url = sys.argv[1], sys.argv[2]
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    m = re.match(r"https?://([^/:]+):(\d+)(/.*)?$", url)
    host, port, path = m.group(1), int(m.group(2)), m.group(3) or "/"
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if len(sys.argv) > 4:
        with open(sys.argv[4], "a") as f:
            f.write("%d\n" % os.getpid())
    {"garbage": garbage, "flood": flood, "hang": hang}[mode](host, port, path, time.time() + limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
