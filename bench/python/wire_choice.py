"""How much each way of giving Python the worker protocol costs per message (docs/runtimes.md,
"Why generated code"). Run with the build's runtime on the path:

    PYTHONPATH=build/release/runtimes/python /usr/bin/python3 bench/python/wire_choice.py

Prints the median of 7 runs of each operation, in microseconds per operation, on this machine:
  * generated code: unpack a header, encode a message (the runtime's own functions);
  * a small C library reached through ctypes: the fixed cost of one ctypes call with a buffer
    argument (libc's memcpy of 64 bytes stands in for "nj_worker_decode(buf, &header)"), and
    of reading one field back through a ctypes.Structure;
  * the pipe round trip both options share: os.write + os.read of 1024 bytes.
"""

import ctypes
import ctypes.util
import os
import statistics
import timeit

from nightjar import _protocol as P
from nightjar import _wire as W


class Header(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [(name, {2: ctypes.c_uint16, 4: ctypes.c_uint32, 8: ctypes.c_uint64}[size])
                for name, _offset, size in W.HEADER_FIELDS]


def median_us(stmt, number, setup_globals):
    runs = timeit.repeat(stmt, number=number, repeat=7, globals=setup_globals)
    return statistics.median(runs) / number * 1e6


def main():
    message = P.encode({"type": W.MSG_COMPLETE, "call_id": 123, "status": 0}, b"x" * 100)
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    header = Header()
    src = ctypes.create_string_buffer(message, len(message))
    r, w = os.pipe()
    g = dict(P=P, W=W, message=message, libc=libc, header=header, src=src,
             ctypes=ctypes, os=os, r=r, w=w)
    rows = [
        ("generated: unpack a header (struct.unpack_from)",
         "P.HEADER.unpack_from(message)", 200000),
        ("generated: encode a message (dict -> 1024 bytes)",
         "P.encode({'type': 5, 'call_id': 1, 'status': 0}, b'')", 100000),
        ("ctypes: one call with a buffer argument (memcpy 64 B)",
         "libc.memcpy(ctypes.byref(header), src, 64)", 200000),
        ("ctypes: read one field of a decoded header",
         "header.call_id", 200000),
        ("shared: pipe write + read of one 1024-byte message",
         "os.write(w, message); os.read(r, 1024)", 50000),
    ]
    for what, stmt, number in rows:
        print(f"{median_us(stmt, number, g):7.3f} us  {what}")


if __name__ == "__main__":
    main()
