-- b2bbudget schema, version 1. One text for SQLite and PostgreSQL: {{ID}} becomes the
-- dialect's auto-increment primary key. Times are BIGINT milliseconds since the Unix epoch
-- (UTC), money is BIGINT minor units, flags are INTEGER 0/1, enums are their stable names.

CREATE TABLE shops (
    id {{ID}},
    domain TEXT NOT NULL UNIQUE,              -- myshop.myshopify.com
    name TEXT NOT NULL DEFAULT '',
    currency TEXT NOT NULL DEFAULT 'EUR',     -- the shop currency (ISO 4217)
    timezone TEXT NOT NULL DEFAULT 'Europe/Berlin',
    fiscal_start_month INTEGER NOT NULL DEFAULT 1 CHECK (fiscal_start_month BETWEEN 1 AND 12),
    near_bp INTEGER NOT NULL DEFAULT 9000 CHECK (near_bp BETWEEN 0 AND 10000),
    budget_basis TEXT NOT NULL DEFAULT 'net' CHECK (budget_basis IN ('net', 'gross', 'goods')),
    over_budget TEXT NOT NULL DEFAULT 'block' CHECK (over_budget IN ('block', 'admin_override')),
    four_eyes INTEGER NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT 'de',
    reminder_hours INTEGER NOT NULL DEFAULT 48,
    staff_email TEXT NOT NULL DEFAULT '',
    uninstalled_at BIGINT,                    -- set by app/uninstalled: stop calling the shop
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE companies (
    id {{ID}},
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    shopify_id BIGINT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (shop_id, shopify_id)
);

CREATE TABLE locations (
    id {{ID}},
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    company_id BIGINT NOT NULL REFERENCES companies (id),
    shopify_id BIGINT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    currency TEXT NOT NULL DEFAULT 'EUR',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (shop_id, shopify_id)
);
CREATE INDEX locations_company ON locations (company_id);

CREATE TABLE users (
    id {{ID}},
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    company_id BIGINT NOT NULL REFERENCES companies (id),
    email TEXT NOT NULL,                      -- lower case; fixed once created
    name TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL CHECK (role IN ('company_admin', 'budget_admin', 'approver', 'requester')),
    role_locked INTEGER NOT NULL DEFAULT 0,   -- changed in the portal: keep over syncs
    language TEXT NOT NULL DEFAULT 'de',
    active INTEGER NOT NULL DEFAULT 1,
    shopify_contact_id BIGINT,
    last_login_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (shop_id, email)
);
CREATE INDEX users_company ON users (company_id);

CREATE TABLE user_locations (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    location_id BIGINT NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, location_id)
);
CREATE INDEX user_locations_location ON user_locations (location_id);

-- A budget plan for one fiscal year of a location, or of the whole company (location_id NULL).
CREATE TABLE budgets (
    id {{ID}},
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    company_id BIGINT NOT NULL REFERENCES companies (id),
    location_id BIGINT REFERENCES locations (id),
    fiscal_year INTEGER NOT NULL,             -- calendar year in which the fiscal year starts
    start_month INTEGER NOT NULL DEFAULT 1 CHECK (start_month BETWEEN 1 AND 12),
    currency TEXT NOT NULL,
    annual BIGINT,
    m01 BIGINT, m02 BIGINT, m03 BIGINT, m04 BIGINT, m05 BIGINT, m06 BIGINT,
    m07 BIGINT, m08 BIGINT, m09 BIGINT, m10 BIGINT, m11 BIGINT, m12 BIGINT, -- calendar months
    rollover INTEGER NOT NULL DEFAULT 0,
    updated_by BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX budgets_company_year ON budgets (company_id, fiscal_year)
    WHERE location_id IS NULL;
CREATE UNIQUE INDEX budgets_location_year ON budgets (location_id, fiscal_year)
    WHERE location_id IS NOT NULL;

-- One approval case per Shopify draft order.
CREATE TABLE orders (
    id {{ID}},
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    public_id TEXT NOT NULL UNIQUE,           -- opaque id for links; never Shopify's
    shopify_draft_id BIGINT NOT NULL,
    shopify_order_id BIGINT,
    name TEXT NOT NULL DEFAULT '',
    company_id BIGINT NOT NULL REFERENCES companies (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    contact_email TEXT NOT NULL DEFAULT '',
    shop_currency TEXT NOT NULL,
    shop_net BIGINT NOT NULL DEFAULT 0,
    shop_gross BIGINT NOT NULL DEFAULT 0,
    shop_goods BIGINT NOT NULL DEFAULT 0,
    presentment_currency TEXT NOT NULL,
    presentment_net BIGINT NOT NULL DEFAULT 0,
    presentment_gross BIGINT NOT NULL DEFAULT 0,
    presentment_goods BIGINT NOT NULL DEFAULT 0,
    lines_json TEXT NOT NULL DEFAULT '[]',    -- snapshot of the lines the approver saw
    content_hash TEXT NOT NULL DEFAULT '',
    content_version BIGINT NOT NULL DEFAULT 1,
    state TEXT NOT NULL CHECK (state IN ('draft', 'pending_approval', 'changes_requested',
        'approved', 'completed', 'failed', 'cancelled')),
    approved_version BIGINT NOT NULL DEFAULT 0,
    submitted_by BIGINT REFERENCES users (id),
    submitted_at BIGINT,
    approved_by BIGINT REFERENCES users (id),
    approved_at BIGINT,
    approval_override INTEGER NOT NULL DEFAULT 0,
    completed_without_approval INTEGER NOT NULL DEFAULT 0,
    note TEXT,                                -- latest note (changes requested, override)
    failure_message TEXT,
    shopify_updated_at BIGINT NOT NULL DEFAULT 0,
    -- What this order currently adds to budget_usage, so a state change reverses it exactly.
    counted_kind TEXT NOT NULL DEFAULT 'none' CHECK (counted_kind IN ('none', 'spent', 'reserved')),
    counted_amount BIGINT NOT NULL DEFAULT 0,
    counted_currency TEXT NOT NULL DEFAULT '',
    counted_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    row_version BIGINT NOT NULL DEFAULT 1,    -- optimistic concurrency
    UNIQUE (shop_id, shopify_draft_id)
);
CREATE INDEX orders_company ON orders (company_id, id);
CREATE INDEX orders_location ON orders (location_id, id);
CREATE INDEX orders_state ON orders (shop_id, state, updated_at);

-- Spent and reserved per budget period, kept current so a dashboard never scans orders.
-- location_id 0 means company-wide; period_key is YYYYMM (month) or the fiscal year (year).
CREATE TABLE budget_usage (
    company_id BIGINT NOT NULL REFERENCES companies (id),
    location_id BIGINT NOT NULL,
    period_kind TEXT NOT NULL CHECK (period_kind IN ('month', 'year')),
    period_key INTEGER NOT NULL,
    currency TEXT NOT NULL,
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    spent BIGINT NOT NULL DEFAULT 0,
    reserved BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (company_id, location_id, period_kind, period_key, currency)
);

CREATE TABLE audit_events (
    id {{ID}},
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    order_id BIGINT REFERENCES orders (id),
    company_id BIGINT REFERENCES companies (id),
    actor_kind TEXT NOT NULL,                 -- user, staff, shopify, system
    actor_user_id BIGINT REFERENCES users (id),
    actor_label TEXT NOT NULL DEFAULT '',     -- name or email as shown then
    event TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    content_version BIGINT NOT NULL DEFAULT 0,
    note TEXT,
    data_json TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_events_order ON audit_events (order_id, id);
CREATE INDEX audit_events_company ON audit_events (company_id, id);

-- Webhooks are stored before they are acknowledged and processed later, exactly once.
CREATE TABLE webhook_inbox (
    id {{ID}},
    webhook_id TEXT NOT NULL UNIQUE,          -- X-Shopify-Webhook-Id: the dedupe key
    shop_domain TEXT NOT NULL,
    topic TEXT NOT NULL,
    event_id TEXT NOT NULL DEFAULT '',
    api_version TEXT NOT NULL DEFAULT '',
    triggered_at TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'done',
        'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,   -- a crashed processor's claim expires
    last_error TEXT,
    received_at BIGINT NOT NULL,
    processed_at BIGINT
);
CREATE INDEX webhook_inbox_status ON webhook_inbox (status, next_attempt_at);

CREATE TABLE jobs (
    id {{ID}},
    shop_id BIGINT REFERENCES shops (id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    idempotency_key TEXT UNIQUE,              -- a second enqueue with the same key is a no-op
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 8,
    run_at BIGINT NOT NULL,
    locked_by TEXT,
    locked_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_due ON jobs (status, run_at);

-- One-time login codes, stored only as keyed hashes.
CREATE TABLE login_codes (
    id {{ID}},
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    email TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX login_codes_email ON login_codes (shop_id, email, created_at);

-- Sessions, stored as hashes of the cookie token.
CREATE TABLE sessions (
    id {{ID}},
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
