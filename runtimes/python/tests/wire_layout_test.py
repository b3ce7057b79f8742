"""Layout-drift test: Python's view of the wire protocol must be the C++ one.

    python3 wire_layout_test.py <nightjar_wire_gen> <runtime dir holding nightjar/>

Fails (exit 1, naming the field) when
  * the runtime's generated nightjar/_wire.py is not what the generator makes from today's
    src/proto (a stale or hand-edited copy);
  * a message built by C++ with every header field distinct does not decode, field by field,
    to the values C++ put there, or re-encodes to other bytes.
The build runs it after generating _wire.py (runtimes/CMakeLists.txt), and ctest runs it
again, so a drifting layout fails the build. See docs/runtimes.md.
"""

import json
import subprocess
import sys


def main(generator, runtime_dir):
    sys.path.insert(0, runtime_dir)
    from nightjar import _protocol as P
    from nightjar import _wire as W

    failures = []
    fresh = subprocess.run([generator, "python"], check=True, capture_output=True, text=True).stdout
    with open(W.__file__, encoding="utf-8") as f:
        if f.read() != fresh:
            failures.append(f"{W.__file__} differs from `{generator} python`: delete it and "
                            "rebuild (the build writes it only when the generator changes)")

    sample = json.loads(subprocess.run([generator, "sample"], check=True, capture_output=True,
                                       text=True).stdout)
    sample["fields"] = {name: int(value) for name, value in sample["fields"].items()}
    raw = bytes.fromhex(sample["hex"])
    if len(raw) != W.MESSAGE_SIZE:
        failures.append(f"C++ message is {len(raw)} bytes, Python expects {W.MESSAGE_SIZE}")
    header = P.HEADER.unpack_from(raw)
    for i, (name, _offset, _size) in enumerate(W.HEADER_FIELDS):
        if header[i] != sample["fields"][name]:
            failures.append(f"field {name}: Python reads {header[i]}, C++ wrote {sample['fields'][name]}")
    missing = set(sample["fields"]) - {name for name, _o, _s in W.HEADER_FIELDS}
    if missing:
        failures.append(f"fields C++ has and Python lacks: {sorted(missing)}")
    values = [sample["fields"][name] for name, _o, _s in W.HEADER_FIELDS]
    if P.HEADER.pack(*values) != raw[:W.HEADER_SIZE]:
        failures.append("Python encodes the sample header to other bytes than C++")
    fields = dict(sample["fields"])
    fields["flags"] &= ~W.FLAG_PAYLOAD_IN_SHM
    payload = raw[W.HEADER_SIZE:W.HEADER_SIZE + fields["payload_size"]]
    if P.decode_header(raw) != header or P.IpcRoot("/x").take_payload(
            P.HEADER.unpack_from(P.HEADER.pack(*[fields[n] for n, _o, _s in W.HEADER_FIELDS])),
            raw, 0, False) != payload:
        failures.append("inline payload is not read from where C++ put it")

    t = sample["trailer"]
    trace_id = bytes.fromhex(t["trace_id"])
    if P.trace_of(raw) != trace_id + bytes([t["trace_flags"]]):
        failures.append("trailer: Python reads another trace id or flags than C++ wrote")
    if P.TRAILER.unpack_from(raw, W.TRAILER_OFFSET) != (trace_id, t["trace_flags"],
                                                       t["child_wait_us"]):
        failures.append("trailer: Python decodes other values than C++ wrote")
    if P.trailer(trace_id + bytes([t["trace_flags"]]), t["child_wait_us"]) != raw[W.TRAILER_OFFSET:]:
        failures.append("trailer: Python encodes the sample trailer to other bytes than C++")
    if len(P.pack(P.header(), b"x" * 10, P.trailer())) != W.MESSAGE_SIZE:
        failures.append("pack() with a trailer is not one message long")

    for failure in failures:
        print("wire layout drift:", failure, file=sys.stderr)
    if not failures:
        print(f"wire layout: Python matches C++ ({len(W.HEADER_FIELDS)} header fields, "
              f"{W.MESSAGE_SIZE}-byte messages)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
