-- Single sign-on flows (zulipauth.FlowStore): what crosses an identity
-- provider's round trip, kept until it expires and taken once, so that the
-- provider's answer may reach any instance. value is opaque to the store;
-- expires_ms is Unix milliseconds.
CREATE TABLE sso_flows (
    token      TEXT    PRIMARY KEY,
    value      BLOB    NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX sso_flows_expires ON sso_flows (expires_ms);
