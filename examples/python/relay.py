"""py-relay: the cross-language relay every runtime has (docs/runtimes.md, "Relay").

Input "<f1>/<f2>/.../<fn>:<data>": calls f1 with "<f2>/.../<fn>:<data>", and so on; the last
function is called with <data> alone. ":<data>" (no targets) returns <data>. The callee's
output comes back unchanged; a callee's failure becomes this call's failure, with the
callee's message (an InvokeError that escapes the handler does exactly that).
"""


async def handle(ctx, data):
    targets, colon, payload = data.partition(b":")
    if not colon:
        raise ValueError("input must be <f1>/.../<fn>:<data>")
    if not targets:
        return payload
    if not all(targets.split(b"/")):  # every name of the chain, not only the next one
        raise ValueError(f"empty function name in {targets.decode()!r}")
    first, _, rest = targets.partition(b"/")
    return await ctx.invoke(first.decode(), rest + b":" + payload if rest else payload)
