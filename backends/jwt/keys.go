package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
)

// RealmKeys is one realm's entry of Zulip's JWT_AUTH_KEYS: the key that
// verifies its tokens and the algorithms it accepts.
//
// Key is a secret for the HMAC algorithms. String, Format and LogValue
// leave it out, so printing or logging a RealmKeys (or a map of them) with
// fmt or log/slog never shows it; encoding/json does include it, so that a
// configuration round-trips.
type RealmKeys struct {
	// Key is, for HS256, HS384 and HS512, the shared secret (its UTF-8
	// bytes, as PyJWT takes a str), of at least as many bytes as the hash's
	// output (RFC 7518 §3.2): 32 for HS256, 48 for HS384, 64 for HS512,
	// and, when several are listed, as many as the strongest needs (a token
	// may use any of them). A random string such as the output of "openssl
	// rand -hex 32" (64 characters) fits all three. For the other
	// algorithms, Key is the issuer's public key in PEM: "PUBLIC KEY"
	// (PKIX), "RSA PUBLIC KEY" (PKCS #1) or a "CERTIFICATE" whose public key
	// is used (its dates and chain are not checked); an RSA key has at
	// least [MinRSABits] bits. A private key is refused: the verifier needs
	// only the public half, and the private half must stay with the issuer.
	Key string `json:"key"`
	// Algorithms lists the "alg" values accepted, such as ["HS256"]; see
	// [Algorithms]. A token signed with any other is refused, so list only
	// the one the issuer uses. Each must fit Key: an HMAC algorithm with a
	// secret, RS*/PS* with an RSA key, ES256/ES384/ES512 with an ECDSA key on
	// P-256/P-384/P-521, EdDSA with an Ed25519 key. "none" is never accepted.
	Algorithms []string `json:"algorithms"`
}

// String describes k without its key.
func (k RealmKeys) String() string {
	return fmt.Sprintf("jwt.RealmKeys{Algorithms: %q, Key: [redacted]}", k.Algorithms)
}

// Format implements [fmt.Formatter]: every verb (%v, %+v, %#v, %s, %x, %d,
// ...) prints String, so that no verb reaches the key through the fields.
func (k RealmKeys) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue implements [slog.LogValuer]: the algorithms, and the key
// redacted, for every handler (JSON ones included).
func (k RealmKeys) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("algorithms", k.Algorithms), slog.String("key", "[redacted]"))
}

// ParseKeys reads keys per realm in the JSON of Zulip's JWT_AUTH_KEYS
// setting:
//
//	{"": {"key": "<shared secret>", "algorithms": ["HS256"]},
//	 "lear": {"key": "-----BEGIN PUBLIC KEY-----\n...", "algorithms": ["RS256"]}}
//
// Each name is a realm's subdomain; "" is the root realm. Each entry has
// exactly the fields "key" (a string) and "algorithms" (an array of
// strings); any other field, a missing one or one of another type is an
// error, and so is anything after the object. A realm named twice is an
// error that gives both entries' numbers and lines, and so is a field named
// twice in one entry: JSON decoding would keep the last silently, and the
// key in force would not be the one a reader of the file sees first. Names
// are compared as the [Verifier] looks realms up, exactly, once JSON's
// escapes are undone ("le\u0061r" is "lear"); names differing in letter
// case cannot both be valid, since a subdomain is lower case. The keys are
// checked as [New] checks them (an HMAC secret's length among them), so an
// error surfaces when the file is loaded rather than at start-up of a
// server. Errors wrap [ErrInvalidKeys], name the realm and the problem, and
// never quote a key.
func ParseKeys(data []byte) (map[string]RealmKeys, error) {
	keys, err := parseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKeys, err)
	}
	return keys, nil
}

// parseKeys is ParseKeys; its errors say what is wrong, for the caller to
// wrap.
func parseKeys(data []byte) (map[string]RealmKeys, error) {
	const want = `want a JSON object {"<subdomain>": {"key": ..., "algorithms": [...]}}`
	var realms map[string]json.RawMessage
	if err := decodeStrict(data, &realms); err != nil {
		return nil, fmt.Errorf("%s: %v", want, err)
	}
	if realms == nil { // the JSON null
		return nil, errors.New(want + ", not null")
	}
	// encoding/json keeps the last of two members with one name, and the
	// operator who reads the first would believe it in force: refuse.
	names, err := memberNames(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", want, err)
	}
	if i, j, ok := repeated(names); ok {
		lines := fmt.Sprintf("lines %d and %d", names[i].line, names[j].line)
		if names[i].line == names[j].line {
			lines = fmt.Sprintf("both on line %d", names[i].line)
		}
		return nil, fmt.Errorf("%s is named twice, in entries %d and %d (%s): give each realm one entry", realmName(names[j].name), i+1, j+1, lines)
	}
	keys := make(map[string]RealmKeys, len(realms))
	// Sorted, so that the error for a file with several problems is always
	// the same one.
	for _, realm := range slices.Sorted(maps.Keys(realms)) {
		rk, err := parseRealmKeys(realms[realm])
		if err == nil {
			_, err = checkRealm(realm, rk)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %v", realmName(realm), err)
		}
		keys[realm] = rk
	}
	return keys, nil
}

// parseRealmKeys reads one realm's entry, field by field, so that each
// problem gets its own message and none quotes a value.
func parseRealmKeys(raw json.RawMessage) (RealmKeys, error) {
	var fields map[string]json.RawMessage
	if err := decodeStrict(raw, &fields); err != nil || fields == nil {
		return RealmKeys{}, errors.New(`is not a JSON object {"key": ..., "algorithms": [...]}`)
	}
	names, err := memberNames(raw)
	if err != nil {
		return RealmKeys{}, errors.New(`is not a JSON object {"key": ..., "algorithms": [...]}`)
	}
	if _, j, ok := repeated(names); ok {
		return RealmKeys{}, fmt.Errorf("has the field %q twice: give it once", names[j].name)
	}
	for name := range fields {
		if name != "key" && name != "algorithms" {
			return RealmKeys{}, fmt.Errorf("has the unknown field %q: want exactly \"key\" and \"algorithms\"", name)
		}
	}
	var rk RealmKeys
	rawKey, ok := fields["key"]
	if !ok {
		return RealmKeys{}, errors.New(`has no "key"`)
	}
	if err := decodeStrict(rawKey, &rk.Key); err != nil || bytes.Equal(bytes.TrimSpace(rawKey), []byte("null")) {
		return RealmKeys{}, errors.New(`has a "key" that is not a JSON string`)
	}
	rawAlgs, ok := fields["algorithms"]
	if !ok {
		return RealmKeys{}, errors.New(`has no "algorithms"`)
	}
	if err := decodeStrict(rawAlgs, &rk.Algorithms); err != nil || rk.Algorithms == nil {
		return RealmKeys{}, errors.New(`has "algorithms" that are not a JSON array of strings`)
	}
	return rk, nil
}

// decodeStrict decodes one JSON value that must fill data. Its errors say
// where and what kind of problem, never which bytes: a syntax error's text
// would quote a character, which may be one of a key's.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return fmt.Errorf("not valid JSON (at byte %d)", syntax.Offset)
		case errors.As(err, &typ):
			return fmt.Errorf("found a JSON %s", typ.Value)
		case errors.Is(err, io.EOF):
			return errors.New("no JSON value")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return errors.New("the JSON ends early")
		}
		return errors.New("not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON value (at byte %d)", dec.InputOffset())
	}
	return nil
}

// member is the name of a member of a JSON object, as decoded (escapes
// such as \u0061 undone, as encoding/json undoes them in a map's keys), and
// the line of data it is on.
type member struct {
	name string
	line int
}

// memberNames lists the names of the members of the JSON object in data,
// in order. decodeStrict must have accepted data as one object: an error
// here is a fixed message, since the decoder's own might quote a byte.
func memberNames(data []byte) ([]member, error) {
	errNotObject := errors.New("not a JSON object")
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotObject
	}
	var names []member
	line, counted := 1, 0 // lines up to data[counted]
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return nil, errNotObject
		}
		end := int(dec.InputOffset())
		line += bytes.Count(data[counted:end], []byte("\n"))
		counted = end
		names = append(names, member{name: name, line: line})
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, errNotObject
		}
	}
	return names, nil
}

// repeated reports the first name of names that an earlier one has: the
// earlier's index i and its own j.
func repeated(names []member) (i, j int, ok bool) {
	first := make(map[string]int, len(names))
	for j, m := range names {
		if i, seen := first[m.name]; seen {
			return i, j, true
		}
		first[m.name] = j
	}
	return 0, 0, false
}

// realmName names a realm in an error.
func realmName(realm string) string {
	if realm == "" {
		return `the root realm ""`
	}
	return fmt.Sprintf("realm %q", realm)
}

// checkRealmName refuses a name no realm has: Zulip's subdomains are one
// label of lower-case letters, digits and hyphens, as HostRealms resolves
// them from the Host header (lower-cased); "" is the root realm.
func checkRealmName(realm string) error {
	for i := 0; i < len(realm); i++ {
		c := realm[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			if strings.Contains(realm, ".") {
				return errors.New("is not a subdomain: give the subdomain alone (\"chat\" for chat.example.com), or \"\" for the root realm")
			}
			return errors.New("is not a subdomain: a subdomain is lower-case letters, digits and hyphens")
		}
	}
	return nil
}

// checkRealm checks one realm's name and keys, and decodes its key.
func checkRealm(realm string, rk RealmKeys) (decodedKey, error) {
	if err := checkRealmName(realm); err != nil {
		return decodedKey{}, err
	}
	return decodeKey(rk.Key, rk.Algorithms)
}
