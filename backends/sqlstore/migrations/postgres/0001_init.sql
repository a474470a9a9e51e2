-- Realms (Zulip's organizations) and their users.
--
-- email is the delivery email as it was given; email_key is
-- zulipauth.FoldEmail(email), computed by the Go code, and is what lookups
-- and the per-realm uniqueness compare. Keys compare byte for byte
-- (COLLATE "C"), whatever the database's collation.

CREATE TABLE realms (
	id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subdomain              text COLLATE "C" NOT NULL,
	name                   text    NOT NULL DEFAULT '',
	deactivated            boolean NOT NULL DEFAULT false,
	password_auth_disabled boolean NOT NULL DEFAULT false,
	CONSTRAINT realms_subdomain_key UNIQUE (subdomain)
);

-- The root realm (subdomain ""), which every deployment has.
INSERT INTO realms (subdomain, name) VALUES ('', 'Zulip');

CREATE TABLE users (
	id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	realm_id                bigint NOT NULL REFERENCES realms (id),
	email                   text   NOT NULL,
	email_key               text COLLATE "C" NOT NULL,
	full_name               text   NOT NULL DEFAULT '',
	password_hash           text   NOT NULL DEFAULT '',
	api_key                 text COLLATE "C" NOT NULL,
	deactivated             boolean NOT NULL DEFAULT false,
	password_reset_required boolean NOT NULL DEFAULT false,
	created_at              timestamptz NOT NULL,
	-- Serves UserByEmail: (realm, folded email) is one index probe.
	CONSTRAINT users_realm_email_key UNIQUE (realm_id, email_key),
	-- Serves UserByAPIKey.
	CONSTRAINT users_api_key_key UNIQUE (api_key)
);
