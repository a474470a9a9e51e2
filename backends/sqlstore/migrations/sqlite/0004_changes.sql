-- The change feed (zulipauth.ChangeFeed): one row per revocation, written in
-- the transaction of the change itself, so every process caching API keys
-- can follow them. AUTOINCREMENT never reuses a sequence number, and
-- SQLite's single writer commits them in order.
CREATE TABLE changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL DEFAULT 0,
    realm   TEXT    NOT NULL DEFAULT ''
);
