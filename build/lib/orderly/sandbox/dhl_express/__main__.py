"""Serve the MyDHL API sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.dhl_express [--port 8400]``; point a carrier account at
``http://HOST:PORT/mydhlapi/test`` and script it through ``/_sandbox``."""

from __future__ import annotations

import argparse

import uvicorn

from orderly.sandbox.dhl_express import DhlStore, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m orderly.sandbox.dhl_express", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8400)
    parser.add_argument("--username", default="sandbox-key")
    parser.add_argument("--password", default="sandbox-secret")
    parser.add_argument("--account-number", default="123456789")
    args = parser.parse_args(argv)
    store = DhlStore(username=args.username, password=args.password, accounts=(args.account_number,))
    print(
        f"username={args.username}",
        f"account_number={args.account_number}",
        f"base_url=http://{args.host}:{args.port}/mydhlapi/test",
        flush=True,
    )
    uvicorn.run(create_app(store), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
