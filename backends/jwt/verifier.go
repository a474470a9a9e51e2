package jwt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Verifier checks the tokens of Zulip's JWT login with keys per realm. It
// implements zulipauth.TokenVerifier: give it to zulipauth.Config's
// TokenVerifier. Create it with [New]; it is immutable and safe for
// concurrent use. To change the keys, build a new Verifier (and a new
// zulipauth.Auth).
type Verifier struct {
	realms        map[string]*realmVerifier
	leeway        time.Duration
	now           func() time.Time
	maxTokenBytes int
}

// realmVerifier is one realm's key and the golang-jwt parser that accepts
// exactly its algorithms. A gojwt.Parser only reads its settings while
// parsing, so one serves every goroutine.
type realmVerifier struct {
	key    any
	algs   []string
	parser *gojwt.Parser
}

// New returns a Verifier for the realms in keys (by subdomain, "" for the
// root realm), as [ParseKeys] or [LoadKeysFile] return them or as a program
// builds them. It refuses, with an error that wraps [ErrInvalidKeys] and
// names the realm and the problem but never the key:
//
//   - no realm at all (leave zulipauth.Config.TokenVerifier unset to disable
//     the JWT login);
//   - a realm name that is not a subdomain ("Lear", "lear.example.com");
//   - a realm listing no algorithm, an unknown one, or "none" in any case;
//   - a key that does not fit an algorithm listed: an HMAC algorithm with a
//     PEM or OpenSSH public key (the algorithm-confusion attack: a public
//     key used as an HMAC secret lets anyone sign), an RS/PS/ES/EdDSA
//     algorithm with a shared secret or with a key of another type or curve;
//   - an HMAC secret shorter than RFC 7518 §3.2 allows, the hash's output:
//     32 bytes for HS256, 48 for HS384, 64 for HS512; a realm listing
//     several HMAC algorithms needs a secret long enough for the strongest
//     of them, since a token may use any of them (the error names that
//     algorithm and the length it needs);
//   - an empty key, a private key, an RSA key under [MinRSABits], a PEM
//     block that does not decode.
//
// An invalid option is an error too. keys is copied: changing the map
// afterwards changes nothing.
func New(keys map[string]RealmKeys, opts ...Option) (*Verifier, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no realm has keys: leave zulipauth.Config.TokenVerifier unset to disable the JWT login", ErrInvalidKeys)
	}
	v := &Verifier{
		realms:        make(map[string]*realmVerifier, len(keys)),
		leeway:        DefaultLeeway,
		now:           time.Now,
		maxTokenBytes: DefaultMaxTokenBytes,
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("jwt: New: an Option is nil")
		}
		if err := o(v); err != nil {
			return nil, err
		}
	}
	for _, realm := range slices.Sorted(maps.Keys(keys)) {
		rk := keys[realm]
		dk, err := checkRealm(realm, rk)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %v", ErrInvalidKeys, realmName(realm), err)
		}
		algs := slices.Clone(rk.Algorithms)
		v.realms[realm] = &realmVerifier{key: dk.key, algs: algs, parser: v.newParser(algs)}
	}
	return v, nil
}

// newParser is the golang-jwt parser for a realm that lists algs: the same
// checks as Zulip's PyJWT decode, plus a leeway.
func (v *Verifier) newParser(algs []string) *gojwt.Parser {
	return gojwt.NewParser(
		// Only the realm's algorithms, checked before the key is used: this
		// is what refuses "none" and the algorithm-confusion attack.
		gojwt.WithValidMethods(algs),
		gojwt.WithLeeway(v.leeway),
		gojwt.WithTimeFunc(v.now),
		// PyJWT refuses an iat in the future (beyond the leeway).
		gojwt.WithIssuedAt(),
		// One encoding per token: non-zero padding bits are refused.
		gojwt.WithStrictDecoding(),
	)
}

// TokenLoginEnabled implements zulipauth.TokenVerifier: whether realm has
// keys.
func (v *Verifier) TokenLoginEnabled(realm zulipauth.Realm) bool {
	_, ok := v.realms[realm.Subdomain]
	return ok
}

// VerifyToken implements zulipauth.TokenVerifier: it checks token with the
// keys of realm and returns the "email" claim, as Zulip's PyJWT decode
// does. In order:
//
//  1. ctx has ended: its error, wrapped (a fault, unless the request's own
//     context ended);
//  2. the realm has no keys, or the token is longer than the bound of
//     [WithMaxTokenBytes]: zulipauth.ErrBadToken, before any decoding;
//  3. a byte outside the base64url alphabet and ".", not three base64url
//     parts of JSON, an algorithm the realm does not
//     list ("none" included: it can never be listed), a "crit" header (no
//     extension is understood), a "kid" that is not a string, a signature
//     that does not verify: zulipauth.ErrBadToken;
//  4. exp passed, nbf or iat still ahead (each with the leeway of
//     [WithLeeway]), one of them not a number, or an "aud" claim (no
//     audience is configured, so PyJWT refuses any):
//     zulipauth.ErrBadToken;
//  5. no "email" claim, or one that is not a string or is empty or white
//     space: zulipauth.ErrNoEmailInToken;
//  6. the email, as the token has it; the handler trims it and looks the
//     user up.
//
// A token without exp is valid until the key changes, as in Zulip: issuers
// should set a short exp. Errors say why for the server's audit
// (zulipauth.Event.Cause) and never contain the token or the key.
func (v *Verifier) VerifyToken(ctx context.Context, realm zulipauth.Realm, token string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("jwt: %w", err)
	}
	rv := v.realms[realm.Subdomain]
	if rv == nil {
		return "", badToken("the realm has no keys")
	}
	if len(token) > v.maxTokenBytes {
		return "", badToken(fmt.Sprintf("the token is longer than %d bytes", v.maxTokenBytes))
	}
	if !compactForm(token) {
		return "", badToken("the token has a character outside base64url and its two dots")
	}
	claims := gojwt.MapClaims{}
	tok, err := rv.parser.ParseWithClaims(token, claims, rv.keyFor)
	if err != nil {
		return "", badToken(rv.reason(tok, err))
	}
	if exp, ok := claims["exp"].(float64); ok && exp == 0 {
		// golang-jwt reads an exp of 0 as no exp at all; it is the first
		// instant of 1970, long passed, and PyJWT refuses it.
		return "", badToken("the token has expired (exp)")
	}
	if audience(claims) {
		return "", badToken("the token names an audience (aud), and none is configured")
	}
	email, ok := claims["email"].(string)
	switch {
	case claims["email"] == nil:
		return "", fmt.Errorf("jwt: %w", zulipauth.ErrNoEmailInToken)
	case !ok:
		return "", fmt.Errorf("jwt: %w: the email claim is not a string", zulipauth.ErrNoEmailInToken)
	case strings.TrimSpace(email) == "":
		return "", fmt.Errorf("jwt: %w: the email claim is empty", zulipauth.ErrNoEmailInToken)
	}
	return email, nil
}

// compactForm reports whether token is made only of the base64url alphabet
// and ".", as RFC 7515's compact serialization is. Go's base64 decoder skips
// CR and LF, and the signature part is not itself signed, so without this a
// signed token with line breaks in its signature would verify as the same
// token under another spelling: one token, many strings, which any record of
// tokens seen (a log, a replay check) would count apart.
func compactForm(token string) bool {
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Header checks, for keyFor; their errors reach reason through golang-jwt's
// wrapping.
var (
	errCritical = errors.New("the token has a crit header, and no extension is understood")
	errKeyID    = errors.New("the token's kid header is not a string")
)

// keyFor is the realm's gojwt.Keyfunc. golang-jwt has already checked that
// the token's algorithm is one the realm lists, and each listed algorithm
// was checked against the key's type in New, so the key is returned as it
// is. The header checks are PyJWT's (kid) and RFC 7515's (crit).
func (rv *realmVerifier) keyFor(tok *gojwt.Token) (any, error) {
	if _, ok := tok.Header["crit"]; ok {
		return nil, errCritical
	}
	if kid, ok := tok.Header["kid"]; ok {
		if _, ok := kid.(string); !ok {
			return nil, errKeyID
		}
	}
	return rv.key, nil
}

// audience reports whether claims name an audience: an "aud" that is not
// absent, null, "" or []. PyJWT, called without an audience as Zulip calls
// it, refuses such a token, so that a token issued for another service is
// not accepted here.
func audience(claims gojwt.MapClaims) bool {
	switch aud := claims["aud"].(type) {
	case nil:
		return false
	case string:
		return aud != ""
	case []any:
		return len(aud) > 0
	}
	return true
}

// badToken is zulipauth.ErrBadToken with why, which must not quote the
// token.
func badToken(why string) error {
	return fmt.Errorf("jwt: %w: %s", zulipauth.ErrBadToken, why)
}

// reason says why golang-jwt refused a token, from its sentinel errors
// only: their messages may quote bits of the token (a JSON syntax error
// quotes a character), so they are not passed on. An algorithm is named
// only when golang-jwt knows it, so the name is one of its fixed ones.
func (rv *realmVerifier) reason(tok *gojwt.Token, err error) string {
	switch {
	case errors.Is(err, errCritical):
		return errCritical.Error()
	case errors.Is(err, errKeyID):
		return errKeyID.Error()
	case errors.Is(err, gojwt.ErrTokenMalformed):
		return "the token is malformed (not three base64url parts of JSON)"
	case errors.Is(err, gojwt.ErrTokenUnverifiable):
		return "the token's algorithm is missing or unknown"
	case errors.Is(err, gojwt.ErrTokenSignatureInvalid):
		if tok != nil && tok.Method == gojwt.SigningMethodNone {
			return "the token is unsigned (alg none), which is never accepted"
		}
		if tok != nil && tok.Method != nil && !slices.Contains(rv.algs, tok.Method.Alg()) {
			return "the token's algorithm " + tok.Method.Alg() + " is not one the realm lists"
		}
		return "the signature does not verify"
	case errors.Is(err, gojwt.ErrTokenExpired):
		return "the token has expired (exp)"
	case errors.Is(err, gojwt.ErrTokenNotValidYet):
		return "the token is not valid yet (nbf)"
	case errors.Is(err, gojwt.ErrTokenUsedBeforeIssued):
		return "the token is issued in the future (iat)"
	case errors.Is(err, gojwt.ErrTokenInvalidClaims):
		return "the token's exp, nbf or iat is not a number"
	}
	return "the token does not verify"
}

// String describes v by its realms, without keys.
func (v *Verifier) String() string {
	return fmt.Sprintf("jwt.Verifier{Realms: %q}", slices.Sorted(maps.Keys(v.realms)))
}

// Format implements [fmt.Formatter]: every verb prints String, so no verb
// prints the keys.
func (v *Verifier) Format(f fmt.State, _ rune) { io.WriteString(f, v.String()) }

// LogValue implements [slog.LogValuer]: the realms, without keys.
func (v *Verifier) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("realms", slices.Sorted(maps.Keys(v.realms))))
}
