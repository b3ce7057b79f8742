"""py-echo: returns its input unchanged (0 B .. the function's max_payload_bytes)."""


def handle(ctx, data):
    return data
