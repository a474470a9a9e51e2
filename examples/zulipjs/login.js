// Logs in to a zulipauth server with the real zulip-js client, as a user of
// that client would, and checks what it gets back. examples/server's tests
// start the server and run this script; it prints one JSON line of findings
// and exits non-zero on the first failed check.
//
//   ZULIP_REALM=http://127.0.0.1:9991 ZULIP_USERNAME=iago@zulip.com ZULIP_PASSWORD=... \
//   ZULIP_JWT_TOKEN=<an HS256 token with the user's email claim> node login.js
import zulip from 'zulip-js';

const {
  ZULIP_REALM: realm, ZULIP_USERNAME: username, ZULIP_PASSWORD: password, ZULIP_JWT_TOKEN: jwtToken,
} = process.env;

function check(ok, what, got) {
  if (!ok) {
    console.error(`zulip-js check failed: ${what}: ${JSON.stringify(got)}`);
    process.exit(1);
  }
}

const client = await zulip({ realm, username, password });
const apiKey = client.config.apiKey;
check(typeof apiKey === 'string' && /^[A-Za-z0-9]{32}$/.test(apiKey), 'login returns an API key', apiKey);

const settings = await client.server.settings();
check(settings.result === 'success', 'server_settings succeeds', settings);
check(settings.zulip_feature_level >= 277, 'feature level at least 277', settings.zulip_feature_level);
check(typeof settings.realm_uri === 'string' && settings.email_auth_enabled === true, 'realm_uri and email auth', settings);

const profile = await client.users.me.getProfile();
check(profile.result === 'success', 'users/me succeeds with the key', profile);
check(profile.email.toLowerCase() === username.toLowerCase(), 'users/me is the user who logged in', profile);

// A realm URL with a trailing slash makes zulip-js ask for //api/v1/...
const slashed = await zulip({ realm: `${realm}/`, username, password });
check(slashed.config.apiKey === apiKey, 'trailing-slash realm logs in, same key', slashed.config.apiKey);

const wrong = await zulip({ realm, username, password: `${password}-wrong` });
check(wrong.config.apiKey === undefined, 'a wrong password yields no key', wrong.config.apiKey);

const bogus = await zulip({ realm, username, apiKey: 'A'.repeat(32) });
const denied = await bogus.users.me.getProfile();
check(denied.result === 'error' && denied.code === 'UNAUTHORIZED', 'a made-up key is refused', denied);

// The JWT login: a token from the application's own sign-on, traded for the
// key (a raw callEndpoint, as zulip-js has no method for it; it sends its
// Basic header, which the endpoint ignores).
const jwtClient = await zulip({ realm, username: 'anonymous', apiKey: 'none' });
const viaJWT = await jwtClient.callEndpoint('/jwt/fetch_api_key', 'POST', { token: jwtToken, include_profile: 'true' });
check(viaJWT.result === 'success' && viaJWT.api_key === apiKey, 'the JWT login returns the same key', viaJWT);
check(viaJWT.user && viaJWT.user.user_id === profile.user_id, 'include_profile adds the user', viaJWT.user);
const badJWT = await jwtClient.callEndpoint('/jwt/fetch_api_key', 'POST', { token: `${jwtToken}x` });
check(badJWT.result === 'error' && badJWT.msg === 'Bad JSON web token', 'a forged token is refused', badJWT);

// Key rotation: the new key works at once and the old one is refused.
const rotated = await client.callEndpoint('/users/me/api_key/regenerate', 'POST', {});
check(rotated.result === 'success' && /^[A-Za-z0-9]{32}$/.test(rotated.api_key) && rotated.api_key !== apiKey,
  'regenerate returns a new key', rotated);
const withOld = await client.users.me.getProfile();
check(withOld.result === 'error' && withOld.code === 'UNAUTHORIZED', 'the old key is refused after regeneration', withOld);
const renewed = await zulip({ realm, username, apiKey: rotated.api_key });
const withNew = await renewed.users.me.getProfile();
check(withNew.result === 'success' && withNew.user_id === profile.user_id, 'the new key works at once', withNew);

console.log(JSON.stringify({
  api_key_length: apiKey.length,
  user_id: profile.user_id,
  email: profile.email,
  feature_level: settings.zulip_feature_level,
  wrong_password_key: wrong.config.apiKey ?? null,
  bogus_key_code: denied.code,
  old_key_code: withOld.code,
  jwt_bad_token: badJWT.msg,
}));
