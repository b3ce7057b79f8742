"""gRPC unary calls through the gateway (issue 13; src/gateway/grpc.h): stock clients
(python3-grpcio, gRPC C++ with generated stubs) call helloworld.Greeter/SayHello on the
example function; the status mapping (UNIMPLEMENTED, DEADLINE_EXCEEDED, UNAVAILABLE,
RESOURCE_EXHAUSTED, UNKNOWN/INTERNAL and codes a function picks), grpc-timeout, compression,
the method name as the function receives it, and an internal gRPC call (InvokeGrpc)."""
import json
import subprocess
import sys

import pytest

import nightjar_harness as nj

grpc = pytest.importorskip("grpc", reason="python3-grpcio (scripts/setup.sh installs it)")

GRPC_DIR = nj.examples_dir().parent / "grpc"
PROTO_DIR = nj.REPO_ROOT / "examples" / "grpc"
PROBE_LIMIT = 64 * 1024  # the probe's max_payload_bytes


def grpc_function(name, service, lib_path, **options):
    return nj.function(name, **options) | {"handler": str(lib_path.resolve()), "grpc": service}


@pytest.fixture(scope="module")
def gdep(tmp_path_factory):
    functions = [
        grpc_function("greeter", "helloworld.Greeter", GRPC_DIR / "libgreeter.so", max_workers=4),
        nj.test_function("grpc_probe", grpc="test.Probe", timeout_ms=3000, max_workers=8,
                         max_payload_bytes=PROBE_LIMIT),
        nj.test_function("start_crash", grpc="test.Down", min_workers=0),
        nj.function("echo"),
        nj.python_function("py_greet", "probe.py:grpc_greet"),
        nj.python_function("py_service", "probe.py:grpc_service", grpc="test.PyService"),
        nj.node_function("node_greet", "probe.js#grpcGreet"),
        nj.node_function("node_service", "probe.js#grpcService", grpc="test.NodeService"),
    ]
    with nj.nightjar_up(tmp_path_factory.mktemp("grpc"), functions=functions) as dep:
        yield dep


@pytest.fixture(scope="module")
def pb2(tmp_path_factory):
    """helloworld_pb2, generated now by Debian's protoc (grpc_tools is not packaged; the
    service stub is a generic unary call, which is what generated stubs do)."""
    out = tmp_path_factory.mktemp("pb2")
    subprocess.run(["protoc", f"-I{PROTO_DIR}", f"--python_out={out}",
                    str(PROTO_DIR / "helloworld.proto")], check=True, timeout=60)
    sys.path.insert(0, str(out))
    try:
        import helloworld_pb2
        return helloworld_pb2
    finally:
        sys.path.remove(str(out))


@pytest.fixture(scope="module")
def channel(gdep):
    with grpc.insecure_channel(f"{gdep.connect_host}:{gdep.port}") as ch:
        yield ch


def say_hello(channel, pb2, name, **kwargs):
    stub = channel.unary_unary("/helloworld.Greeter/SayHello",
                               request_serializer=pb2.HelloRequest.SerializeToString,
                               response_deserializer=pb2.HelloReply.FromString)
    return stub(pb2.HelloRequest(name=name), timeout=kwargs.pop("timeout", 30), **kwargs)


def raw(channel, path, message: bytes, timeout=30, **kwargs) -> bytes:
    stub = channel.unary_unary(path, request_serializer=lambda b: b,
                               response_deserializer=lambda b: b)
    return stub(message, timeout=timeout, **kwargs)


def rpc_error(fn) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as e:
        fn()
    return e.value


def test_python_grpcio_calls_say_hello(gdep, channel, pb2):
    assert say_hello(channel, pb2, "Ada").message == "Hello, Ada!"
    assert say_hello(channel, pb2, "").message == "Hello, world!"


def test_grpc_cpp_client_with_generated_stub_calls_say_hello(gdep):
    client = GRPC_DIR / "greeter_client"
    res = subprocess.run([str(client), f"{gdep.connect_host}:{gdep.port}", "Grace", "--count", "50"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout == "Hello, Grace!\n", res


def test_many_concurrent_calls_on_one_channel_each_get_their_own_answer(gdep, channel, pb2):
    names = [f"n{i}" for i in range(100)]
    futures = []
    stub = channel.unary_unary("/helloworld.Greeter/SayHello",
                               request_serializer=pb2.HelloRequest.SerializeToString,
                               response_deserializer=pb2.HelloReply.FromString)
    for n in names:
        futures.append(stub.future(pb2.HelloRequest(name=n), timeout=60))
    assert [f.result().message for f in futures] == [f"Hello, {n}!" for n in names]


def test_the_function_receives_service_and_method_and_untouched_bytes(gdep, channel):
    assert raw(channel, "/test.Probe/Anything", b"method") == b"test.Probe/Anything"
    data = bytes(range(256)) * 3
    assert raw(channel, "/test.Probe/Echo", b"echo:" + data) == data
    assert raw(channel, "/test.Probe/Echo", b"echo:") == b""


def test_internal_grpc_call_by_service_and_method(gdep, channel, pb2):
    reply = pb2.HelloReply.FromString(raw(channel, "/test.Probe/Greet", b"greet:Ada"))
    assert reply.message == "Hello, Ada!"


@pytest.mark.parametrize("caller", ["py_greet", "node_greet"])
def test_internal_grpc_call_from_python_and_node(gdep, pb2, caller):
    r = nj.call(gdep, caller, b"Lin")
    nj.expect(r, 200, None, gdep, caller)
    assert pb2.HelloReply.FromString(r.body).message == "Hello, Lin!"


@pytest.mark.parametrize("service", ["test.PyService", "test.NodeService"])
def test_grpc_services_in_python_and_node(gdep, channel, service):
    assert raw(channel, f"/{service}/Ping", b"\x00\x01data") == b"Ping:\x00\x01data"


@pytest.mark.parametrize("path,detail", [
    ("/no.Such/Method", "unknown service no.Such"),
    ("/echo/Call", "unknown service echo"),  # a function, but not a gRPC service
])
def test_unknown_service_is_unimplemented(gdep, channel, path, detail):
    e = rpc_error(lambda: raw(channel, path, b"x"))
    assert e.code() == grpc.StatusCode.UNIMPLEMENTED and detail in e.details(), e


def test_unknown_method_is_unimplemented_with_the_function_message(gdep, channel, pb2):
    stub = channel.unary_unary("/helloworld.Greeter/SayGoodbye",
                               request_serializer=pb2.HelloRequest.SerializeToString)
    e = rpc_error(lambda: stub(pb2.HelloRequest(name="x"), timeout=30))
    assert e.code() == grpc.StatusCode.UNIMPLEMENTED, e
    assert e.details() == "helloworld.Greeter has no method SayGoodbye", e


@pytest.mark.parametrize("message,code,detail", [
    (b"fail:it broke", grpc.StatusCode.UNKNOWN, "it broke"),
    (b"fail:NOT_FOUND: no user 7", grpc.StatusCode.NOT_FOUND, "no user 7"),
    (b"fail:INVALID_ARGUMENT: bad \xc3\xa9 100%", grpc.StatusCode.INVALID_ARGUMENT,
     "bad \u00e9 100%"),
    (b"crash", grpc.StatusCode.INTERNAL, "exited"),
    (b"nonsense", grpc.StatusCode.UNIMPLEMENTED, "unknown command"),
], ids=["unknown", "code-picked", "percent-encoded", "worker-died", "unimplemented"])
def test_function_failures_map_to_grpc_codes(gdep, channel, message, code, detail):
    e = rpc_error(lambda: raw(channel, "/test.Probe/Run", message))
    assert e.code() == code and detail in e.details(), (e.code(), e.details())


def test_function_deadline_is_deadline_exceeded(gdep, channel):
    # The probe's timeout_ms is 3000; no client deadline (no grpc-timeout, which would
    # replace timeout_ms as X-Nightjar-Timeout-Ms does): the gateway's answer decides.
    e = rpc_error(lambda: raw(channel, "/test.Probe/Sleep", b"sleep:10000", timeout=None))
    assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e


def timed_out_count(dep, function) -> int:
    r = nj.request(dep, "GET", "/status")
    for engine in json.loads(r.body)["engines"]:
        for f in engine["functions"]:
            if f["name"] == function:
                return f["calls"]["timed_out"]
    raise AssertionError(f"{function} not in /status: {r.body[:500]!r}")


def test_grpc_timeout_sets_the_call_deadline(gdep, channel):
    # The client's deadline travels as grpc-timeout; the engine counts the call as timed out
    # (not just the client giving up), long before the function's own 3 s.
    before = timed_out_count(gdep, "grpc_probe")
    e = rpc_error(lambda: raw(channel, "/test.Probe/Sleep", b"sleep:2500", timeout=0.3))
    assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e
    nj.wait_until(lambda: timed_out_count(gdep, "grpc_probe") > before, 2.0,
                  "the engine to count the call as timed out before the function's own timeout")


def test_message_over_the_limit_is_resource_exhausted(gdep, channel):
    e = rpc_error(lambda: raw(channel, "/test.Probe/Echo", b"echo:" + b"x" * PROBE_LIMIT))
    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
    e = rpc_error(lambda: raw(channel, "/test.Probe/Big", f"big:{PROBE_LIMIT + 1}".encode()))
    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e


def test_function_that_cannot_start_is_unavailable(gdep, channel):
    e = rpc_error(lambda: raw(channel, "/test.Down/Call", b"x", timeout=60))
    assert e.code() == grpc.StatusCode.UNAVAILABLE, e


def test_compressed_request_is_unimplemented_with_a_clear_message(gdep, channel, pb2):
    e = rpc_error(lambda: say_hello(channel, pb2, "Ada", compression=grpc.Compression.Gzip))
    assert e.code() == grpc.StatusCode.UNIMPLEMENTED, e
    assert "gzip" in e.details() and "uncompressed" in e.details(), e
    assert say_hello(channel, pb2, "after").message == "Hello, after!"


def test_plain_http_still_reaches_a_grpc_service_function(gdep):
    # The function is also an ordinary function: its input then is the body as sent.
    r = nj.call(gdep, "greeter", b"/helloworld.Greeter/SayHello\n\x0a\x03Bob")
    nj.expect(r, 200, b"\x0a\x0bHello, Bob!", gdep)


def test_grpc_through_a_split_deployment(tmp_path, pb2):
    # `nightjar gateway` + `nightjar engine`: the engine announces its services over the link
    # ("grpc:<service>" next to the function names), so the gateway routes gRPC calls to it.
    fns = [grpc_function("greeter", "helloworld.Greeter", GRPC_DIR / "libgreeter.so")]
    with nj.split_deployment(tmp_path, fns) as split:
        split.start_engine()
        with grpc.insecure_channel(f"{split.dep.connect_host}:{split.dep.port}") as ch:
            def hello():
                try:
                    return say_hello(ch, pb2, "Split", timeout=5).message
                except grpc.RpcError as e:
                    if e.code() != grpc.StatusCode.UNAVAILABLE:  # no engine yet
                        raise
                    return None
            assert nj.wait_until(hello, nj.READY_TIMEOUT_S, "SayHello via the split deployment") \
                == "Hello, Split!"
            e = rpc_error(lambda: raw(ch, "/no.Such/Method", b"x"))
            assert e.code() == grpc.StatusCode.UNIMPLEMENTED, e
