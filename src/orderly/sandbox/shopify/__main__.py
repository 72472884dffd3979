"""Serve the Shopify sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.shopify [--port 8200] [--fast]``; script it through ``/_sandbox``."""

from __future__ import annotations

from orderly.sandbox.serve import sandbox_parser, serve_sandbox
from orderly.sandbox.shopify import ShopifyStore, create_app
from orderly.sandbox.shopify.store import BUCKET_SIZE, LEAK_PER_SECOND


def main(argv: list[str] | None = None) -> None:
    parser = sandbox_parser("orderly.sandbox.shopify", __doc__, port=8200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--access-token", default="shpat_sandbox")
    parser.add_argument("--client-secret", default="shpss_sandbox", help="signs webhooks.json deliveries")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="no call bucket to speak of (Shopify's 40 calls, 2 a second otherwise)",
    )
    args = parser.parse_args(argv)
    store = ShopifyStore(
        seed=args.seed,
        access_token=args.access_token,
        client_secret=args.client_secret,
        bucket_size=1_000_000 if args.fast else BUCKET_SIZE,
        leak_per_second=1_000_000.0 if args.fast else LEAK_PER_SECOND,
    )
    try:
        serve_sandbox(
            create_app(store), args, {"access_token": store.access_token, "location_id": store.location_id}
        )
    finally:
        store.close()


if __name__ == "__main__":
    main()
