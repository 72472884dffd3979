"""Serve the WooCommerce sandbox for a demo or a benchmark in another process:
``python -m orderly.sandbox.woocommerce [--port 8400]``; script it through ``/_sandbox``
(``POST /_sandbox/products``, ``POST /_sandbox/orders``, ``GET /_sandbox/products/{sku}``)."""

from __future__ import annotations

from orderly.sandbox.serve import sandbox_parser, serve_sandbox
from orderly.sandbox.woocommerce import WooStore, create_app


def main(argv: list[str] | None = None) -> None:
    parser = sandbox_parser("orderly.sandbox.woocommerce", __doc__, port=8400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--webhook", default=None, help="where order webhooks go (the hub's /api/v1/webhooks/<shop>)"
    )
    parser.add_argument("--webhook-secret", default="sandbox-webhook-secret")
    args = parser.parse_args(argv)
    store = WooStore(seed=args.seed)
    store.base_url = f"http://{args.host}:{args.port}"
    if args.webhook:  # the hub answers the webhook's ping
        store.set_webhook(args.webhook, args.webhook_secret)
    shown = {
        "base_url": store.base_url,
        "consumer_key": store.consumer_key,
        "consumer_secret": store.consumer_secret,
        "webhook_secret": args.webhook_secret,
    }
    serve_sandbox(create_app(store), args, shown)


if __name__ == "__main__":
    main()
