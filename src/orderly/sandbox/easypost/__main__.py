"""Serve the EasyPost sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.easypost [--port 8300]``; point a carrier account at ``http://HOST:PORT/v2``
and script it through ``/_sandbox``."""

from __future__ import annotations

from orderly.sandbox.easypost import EasyPostStore, create_app
from orderly.sandbox.serve import sandbox_parser, serve_sandbox


def main(argv: list[str] | None = None) -> None:
    parser = sandbox_parser("orderly.sandbox.easypost", __doc__, port=8300)
    parser.add_argument("--api-key", default="EZTKsandbox")
    args = parser.parse_args(argv)
    store = EasyPostStore(api_key=args.api_key)
    store.base_url = f"http://{args.host}:{args.port}"
    serve_sandbox(create_app(store), args, {"api_key": store.api_key, "base_url": f"{store.base_url}/v2"})


if __name__ == "__main__":
    main()
