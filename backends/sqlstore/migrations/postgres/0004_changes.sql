-- The change feed (zulipauth.ChangeFeed): one row per revocation, written in
-- the transaction of the change itself, so every process caching API keys
-- can follow them. Writers take an advisory lock first, so sequence numbers
-- commit in order and a follower never skips a change still in flight.
CREATE TABLE changes (
    seq     BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL DEFAULT 0,
    realm   TEXT   NOT NULL DEFAULT ''
);
