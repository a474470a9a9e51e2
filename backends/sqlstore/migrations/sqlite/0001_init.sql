-- Realms (Zulip's organizations) and their users.
--
-- email is the delivery email as it was given; email_key is
-- zulipauth.FoldEmail(email), computed by the Go code, and is what lookups
-- and the per-realm uniqueness compare. Booleans are 0 or 1. created_at is
-- UTC text, "2006-01-02T15:04:05.000000Z", which sorts by time.

CREATE TABLE realms (
	id                     INTEGER PRIMARY KEY,
	subdomain              TEXT    NOT NULL,
	name                   TEXT    NOT NULL DEFAULT '',
	deactivated            INTEGER NOT NULL DEFAULT 0 CHECK (deactivated IN (0, 1)),
	password_auth_disabled INTEGER NOT NULL DEFAULT 0 CHECK (password_auth_disabled IN (0, 1)),
	CONSTRAINT realms_subdomain_key UNIQUE (subdomain)
) STRICT;

-- The root realm (subdomain ""), which every deployment has.
INSERT INTO realms (subdomain, name) VALUES ('', 'Zulip');

CREATE TABLE users (
	id                      INTEGER PRIMARY KEY AUTOINCREMENT,
	realm_id                INTEGER NOT NULL REFERENCES realms (id),
	email                   TEXT    NOT NULL,
	email_key               TEXT    NOT NULL,
	full_name               TEXT    NOT NULL DEFAULT '',
	password_hash           TEXT    NOT NULL DEFAULT '',
	api_key                 TEXT    NOT NULL,
	deactivated             INTEGER NOT NULL DEFAULT 0 CHECK (deactivated IN (0, 1)),
	password_reset_required INTEGER NOT NULL DEFAULT 0 CHECK (password_reset_required IN (0, 1)),
	created_at              TEXT    NOT NULL,
	-- Serves UserByEmail: (realm, folded email) is one index probe.
	CONSTRAINT users_realm_email_key UNIQUE (realm_id, email_key),
	-- Serves UserByAPIKey.
	CONSTRAINT users_api_key_key UNIQUE (api_key)
) STRICT;
