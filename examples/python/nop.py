"""py-nop: returns nothing; measures the Python runtime's own overhead (bench/python_calls.cc)."""


def handle(ctx, data):
    return b""
