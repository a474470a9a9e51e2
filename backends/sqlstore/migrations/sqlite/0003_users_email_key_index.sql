-- Serves EmailInOtherRealm: a folded email across every realm.
CREATE INDEX users_email_key ON users (email_key);
