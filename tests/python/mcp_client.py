"""A real MCP client against the service's /mcp endpoint, for tests/tests/mcp.rs.

Uses the official Python SDK (`mcp` 2.x from PyPI): connects over Streamable HTTP with the API
key and tenant as headers (through an httpx2 client passed in: the 2.x transport takes no
`headers=` argument), lists the tools, optionally calls one (with good and with bad arguments)
and an unknown one, and prints what it saw as one JSON object on stdout. Any unexpected failure
exits non-zero with a traceback, so the Rust test fails.

    mcp_client.py --url URL --key KEY [--tenant T] [--mode auto|legacy]
                  [--call NAME --arguments JSON [--bad-arguments JSON]]
"""

import argparse
import asyncio
import json
import sys

import httpx2
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client


def tool_view(tool):
    return tool.model_dump(mode="json", by_alias=True, exclude_none=True)


def result_view(result):
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    return {
        "isError": bool(result.is_error),
        "structuredContent": result.structured_content,
        "text": texts[0] if texts else None,
    }


async def run(args):
    headers = {"Authorization": f"Bearer {args.key}"}
    if args.tenant:
        headers["X-Tenant-Id"] = args.tenant
    out = {}
    # trust_env=False: no proxy from the environment; the server is on loopback.
    async with httpx2.AsyncClient(headers=headers, timeout=60.0, trust_env=False) as http:
        transport = streamable_http_client(args.url, http_client=http)
        async with Client(transport, mode=args.mode) as client:
            out["protocolVersion"] = client.protocol_version
            info = client.server_info
            out["serverName"] = info.name if info else None
            listed = await client.list_tools()
            out["tools"] = [tool_view(t) for t in listed.tools]
            if args.call:
                result = await client.call_tool(args.call, json.loads(args.arguments))
                out["call"] = result_view(result)
                if args.bad_arguments:
                    bad = await client.call_tool(args.call, json.loads(args.bad_arguments))
                    out["badCall"] = result_view(bad)
                try:
                    await client.call_tool("no_such_tool", {})
                    out["unknown"] = {"code": None}
                except MCPError as e:
                    out["unknown"] = {"code": e.code, "message": e.message}
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--tenant")
    p.add_argument("--mode", default="auto")
    p.add_argument("--call")
    p.add_argument("--arguments", default="{}")
    p.add_argument("--bad-arguments")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
