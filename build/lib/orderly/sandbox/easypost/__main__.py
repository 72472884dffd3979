"""Serve the EasyPost sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.easypost [--port 8300]``; point a carrier account at ``http://HOST:PORT/v2``
and script it through ``/_sandbox``."""

from __future__ import annotations

import argparse

import uvicorn

from orderly.sandbox.easypost import EasyPostStore, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m orderly.sandbox.easypost", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--api-key", default="EZTKsandbox")
    args = parser.parse_args(argv)
    store = EasyPostStore(api_key=args.api_key)
    store.base_url = f"http://{args.host}:{args.port}"
    print(f"api_key={store.api_key}", f"base_url={store.base_url}/v2", flush=True)
    uvicorn.run(create_app(store), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
