// Package jwt verifies the tokens of Zulip's JWT login
// (POST /api/v1/jwt/fetch_api_key, see zulipauth.Auth.JWTFetchAPIKeyHandler) on
// github.com/golang-jwt/jwt/v5, with keys per realm as Zulip's
// JWT_AUTH_KEYS setting gives them. A [Verifier] implements
// zulipauth.TokenVerifier: [LoadKeysFile] reads the keys, [New] makes the
// Verifier, and Config.TokenVerifier takes it (see the package example).
//
// The file is the JSON of JWT_AUTH_KEYS, by realm subdomain ("" is the root
// realm):
//
//	{"":     {"key": "<a long random shared secret>", "algorithms": ["HS256"]},
//	 "lear": {"key": "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n", "algorithms": ["RS256"]}}
//
// A realm with keys accepts the tokens its issuer signs: an HMAC secret for
// HS256/HS384/HS512, the issuer's PEM public key for RS256/RS384/RS512,
// PS256/PS384/PS512, ES256/ES384/ES512 and EdDSA ([Algorithms]). Only the
// algorithms a realm lists are accepted, and [New] refuses a configuration
// that could be abused: "none" listed, a key whose type does not fit an
// algorithm listed (above all a PEM public key listed with an HMAC
// algorithm: anyone who has the public key could then sign tokens), an
// HMAC secret shorter than the hash's output (RFC 7518 §3.2: 32 bytes for
// HS256, 48 for HS384, 64 for HS512, the strongest listed deciding), an
// RSA key under [MinRSABits].
//
// A token must verify with the realm's key and algorithms, and its exp,
// nbf and iat, when present, must hold at the verifier's clock with a
// leeway of [DefaultLeeway] (10 s; [WithLeeway], [WithClock]). It must not
// name an audience, as PyJWT refuses one when none is configured. Its
// "email" claim names the user, who is then looked up in the realm with no
// password; a token without exp is valid until the key changes, so issuers
// should give a short one (a minute). The token is never logged, and no
// error contains it or a key.
//
// Tokens can be replayed until they expire, as in Zulip: send them only over
// TLS, keep exp short.
package jwt
