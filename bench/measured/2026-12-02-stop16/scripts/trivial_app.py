RESP = b"<x>" + b"a" * 3000 + b"</x>"
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        m = await receive()
        chunks.append(m.get("body", b""))
        if not m.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/xml"), (b"content-length", str(len(RESP)).encode())]})
    await send({"type": "http.response.body", "body": RESP})
