-- A user deactivated (or reactivated) in the portal stays so over later Shopify syncs, as a role
-- set in the portal does (users.role_locked).
ALTER TABLE users ADD COLUMN active_locked INTEGER NOT NULL DEFAULT 0;
