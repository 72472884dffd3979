"""Serve the eBay sandbox for a demo or a script in another process:
``python -m orderly.sandbox.ebay [--port 8500]``; script it through ``/_sandbox`` (``POST
/_sandbox/listings``, ``POST /_sandbox/orders``, ``POST /_sandbox/account-deletions``)."""

from __future__ import annotations

from orderly.sandbox.ebay import EbayStore, create_app
from orderly.sandbox.serve import sandbox_parser, serve_sandbox


def main(argv: list[str] | None = None) -> None:
    parser = sandbox_parser("orderly.sandbox.ebay", __doc__, port=8500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--webhook",
        default=None,
        help="where account deletion notifications go (the hub's /api/v1/webhooks/<shop>)",
    )
    args = parser.parse_args(argv)
    store = EbayStore(seed=args.seed, webhook_url=args.webhook)
    shown = {
        "base_url": f"http://{args.host}:{args.port}",
        "client_id": store.client_id,
        "client_secret": store.client_secret,
        "ru_name": store.ru_name,
        "refresh_token": store.refresh_token,
        # To read the notification key: GET /commerce/notification/v1/public_key/<id> with this token.
        "access_token": store.access_token,
        "verification_token": store.verification_token,
        "notification_key_id": store.key_id,
    }
    serve_sandbox(create_app(store), args, shown)


if __name__ == "__main__":
    main()
