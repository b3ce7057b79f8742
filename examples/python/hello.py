"""py-hello: "Hello, <input>!", or "Hello, world!" for an empty body (the C++ hello's contract)."""


def handle(ctx, data):
    return b"Hello, " + (data or b"world") + b"!"
