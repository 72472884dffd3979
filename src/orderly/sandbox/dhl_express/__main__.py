"""Serve the MyDHL API sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.dhl_express [--port 8400]``; point a carrier account at
``http://HOST:PORT/mydhlapi/test`` and script it through ``/_sandbox``."""

from __future__ import annotations

from orderly.sandbox.dhl_express import DhlStore, create_app
from orderly.sandbox.serve import sandbox_parser, serve_sandbox


def main(argv: list[str] | None = None) -> None:
    parser = sandbox_parser("orderly.sandbox.dhl_express", __doc__, port=8400)
    parser.add_argument("--username", default="sandbox-key")
    parser.add_argument("--password", default="sandbox-secret")
    parser.add_argument("--account-number", default="123456789")
    args = parser.parse_args(argv)
    store = DhlStore(username=args.username, password=args.password, accounts=(args.account_number,))
    shown = {
        "username": args.username,
        "account_number": args.account_number,
        "base_url": f"http://{args.host}:{args.port}/mydhlapi/test",
    }
    serve_sandbox(create_app(store), args, shown)


if __name__ == "__main__":
    main()
