"""Many clients at once: every answer must be the right one (no cross-talk between calls or
connections), and the whole run must finish by a deadline (no lost calls)."""
import http.client
import threading
import time

import pytest

import nightjar_harness as nj


def run_clients(d: nj.Deployment, connections: int, requests_per_connection: int,
                deadline_s: float, fn: str = "echo") -> None:
    """`connections` threads, each with one keep-alive http.client connection sending
    `requests_per_connection` echo calls with a body unique to (connection, request)."""
    deadline = time.monotonic() + deadline_s
    errors: list = []
    done = [0]
    lock = threading.Lock()
    start = threading.Barrier(connections)

    def client(cid: int) -> None:
        conn = http.client.HTTPConnection(d.connect_host, d.port, timeout=nj.REQUEST_TIMEOUT_S)
        try:
            start.wait(timeout=60)
            for i in range(requests_per_connection):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"deadline passed after {i} requests")
                # Sizes vary around the inline limit (nj.INLINE_PAYLOAD bytes).
                body = f"c{cid}-r{i}-".encode() + b"#" * ((cid * 131 + i * 17) % 1500)
                conn.request("POST", f"/function/{fn}", body=body)
                resp = conn.getresponse()
                got = resp.read()
                if resp.status != 200 or got != body:
                    raise AssertionError(f"request {i}: HTTP {resp.status}, {len(got)} bytes "
                                         f"{got[:60]!r} (expected {len(body)} bytes {body[:60]!r})")
                with lock:
                    done[0] += 1
        except Exception as e:  # noqa: BLE001 - collected and reported below
            with lock:
                errors.append(f"connection {cid}: {e!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(c,), name=f"client-{c}", daemon=True)
               for c in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()) + 5)
    stuck = sum(t.is_alive() for t in threads)
    total = connections * requests_per_connection
    assert not stuck and not errors and done[0] == total, (
        f"{done[0]}/{total} calls answered correctly; {stuck} client threads still running at "
        f"the deadline ({deadline_s:.0f}s); {len(errors)} failed connections, first ones:\n  " +
        "\n  ".join(errors[:10]) + "\n" + d.process.stderr_text(4096))


def test_16_connections_x_50_requests(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[nj.function("echo")]) as d:
        run_clients(d, connections=16, requests_per_connection=50, deadline_s=60)


def test_concurrent_internal_calls(tmp_path):
    """Several clients whose calls each fan out to echo: internal calls under contention."""
    with nj.nightjar_up(tmp_path, functions=[nj.function("fanout"), nj.function("echo")]) as d:
        errors = []

        def client(cid):
            try:
                for i in range(20):
                    data = f"c{cid}i{i}"
                    r = nj.call(d, "fanout", f"4:{data}")
                    want = "\n".join(f"{k}:{data}" for k in range(4)).encode()
                    if r.status != 200 or r.body != want:
                        errors.append(f"client {cid} call {i}: {r.summary()} (expected {want!r})")
                        return
            except Exception as e:  # noqa: BLE001
                errors.append(f"client {cid}: {e!r}")

        threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "fanout clients still running after 120 s"
        assert not errors, "\n".join(errors[:10])


@pytest.mark.heavy
def test_200_connections_x_100_requests(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[nj.function("echo")]) as d:
        run_clients(d, connections=200, requests_per_connection=100, deadline_s=240)
