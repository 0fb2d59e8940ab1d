-- orders/cancelled names Shopify's order id: find its approval case without a scan.
CREATE INDEX orders_shopify_order ON orders (shop_id, shopify_order_id);

-- When a periodic job last succeeded, per shop ("reconcile_drafts", "sync_companies"), so the
-- next run asks Shopify only for what changed since (and a new shop is backfilled from 0).
CREATE TABLE sync_state (
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (shop_id, kind)
);
