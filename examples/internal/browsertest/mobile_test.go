package browsertest_test

import (
	"encoding/hex"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/examples/internal/browsertest"
)

// Zulip's own test vector (zerver/tests, test_otp_encrypt_api_key): the key
// "12ac"×8 under the pad "7be38894"×8 is "4ad1e9f7"×8, as the ASCII bytes
// 31 32 61 63 XOR 7b e3 88 94 are 4a d1 e9 f7.
var (
	knownKey       = strings.Repeat("12ac", 8)
	knownOTP       = strings.Repeat("7be38894", 8)
	knownEncrypted = strings.Repeat("4ad1e9f7", 8)
)

const realmURI = "https://chat.example.com"

// redirect is a Location with the four parameters in query, raw, after
// zulip://login?.
func redirect(t testing.TB, rawQuery string) *url.URL {
	t.Helper()
	u, err := url.Parse("zulip://login?" + rawQuery)
	if err != nil {
		t.Fatalf("url.Parse: %v", err)
	}
	return u
}

// goodQuery is a correct redirect's query, with one parameter's raw
// "name=value" replaced by each of replace (or dropped where it is "").
func goodQuery(replace map[string]string) string {
	params := []struct{ name, value string }{
		{"otp_encrypted_api_key", knownEncrypted},
		{"email", "iago%40zulip.com"},
		{"user_id", "7"},
		{"realm", "https%3A%2F%2Fchat.example.com%2F"},
	}
	var parts []string
	for _, p := range params {
		pair := p.name + "=" + p.value
		if r, ok := replace[p.name]; ok {
			pair = r
		}
		if pair != "" {
			parts = append(parts, pair)
		}
	}
	return strings.Join(parts, "&")
}

func TestCheckMobileRedirectAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		location string
		realmURI string
	}{
		{"zulip's shape", "zulip://login?" + goodQuery(nil), realmURI},
		{"upper-case hex", "zulip://login?" + goodQuery(map[string]string{"otp_encrypted_api_key": "otp_encrypted_api_key=" + strings.ToUpper(knownEncrypted)}), realmURI},
		{"parameters in another order", "zulip://login?realm=https%3A%2F%2Fchat.example.com&user_id=7&email=iago%40zulip.com&otp_encrypted_api_key=" + knownEncrypted, realmURI},
		{"an extra parameter", "zulip://login?" + goodQuery(nil) + "&next=%2F", realmURI},
		{"scheme and host in capitals", "ZULIP://LOGIN?" + goodQuery(nil), realmURI},
		{"realm with a path and the default port", "zulip://login?" + goodQuery(map[string]string{"realm": "realm=https%3A%2F%2FChat.Example.com%3A443%2Fsub%2F"}), realmURI},
		{"realm_uri with a path and the default port", "zulip://login?" + goodQuery(nil), "https://chat.example.com:443/x"},
		{"realm on a port", "zulip://login?" + goodQuery(map[string]string{"realm": "realm=http%3A%2F%2F127.0.0.1%3A8080"}), "http://127.0.0.1:8080/"},
		{"user_id with a plus sign (Dart's int.tryParse takes it)", "zulip://login?" + goodQuery(map[string]string{"user_id": "user_id=%2B7"}), realmURI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loc, err := url.Parse(tt.location)
			if err != nil {
				t.Fatal(err)
			}
			key, email, userID, err := browsertest.CheckMobileRedirect(loc, knownOTP, tt.realmURI)
			if err != nil {
				t.Fatalf("CheckMobileRedirect: %v", err)
			}
			if key != knownKey || email != "iago@zulip.com" || userID != 7 {
				t.Errorf("got key %q, email %q, user ID %d; want %q, iago@zulip.com, 7", key, email, userID, knownKey)
			}
		})
	}
}

// Each of zulip-flutter's rules broken once, and the two that are ours.
func TestCheckMobileRedirectRefuses(t *testing.T) {
	t.Parallel()
	good := goodQuery(nil)
	tests := []struct {
		name     string
		location string
		realmURI string
	}{
		{"scheme https", "https://login?" + good, realmURI},
		{"scheme zulipx", "zulipx://login?" + good, realmURI},
		{"host not login", "zulip://logon?" + good, realmURI},
		{"no host", "zulip:login?" + good, realmURI},
		{"no realm", "zulip://login?" + goodQuery(map[string]string{"realm": ""}), realmURI},
		{"no email", "zulip://login?" + goodQuery(map[string]string{"email": ""}), realmURI},
		{"no user_id", "zulip://login?" + goodQuery(map[string]string{"user_id": ""}), realmURI},
		{"no otp_encrypted_api_key", "zulip://login?" + goodQuery(map[string]string{"otp_encrypted_api_key": ""}), realmURI},
		{"realm does not parse", "zulip://login?" + goodQuery(map[string]string{"realm": "realm=https%3A%2F%2F%5B%3A%3A1"}), realmURI},
		{"user_id not a number", "zulip://login?" + goodQuery(map[string]string{"user_id": "user_id=seven"}), realmURI},
		{"user_id not an integer", "zulip://login?" + goodQuery(map[string]string{"user_id": "user_id=7.0"}), realmURI},
		{"user_id empty", "zulip://login?" + goodQuery(map[string]string{"user_id": "user_id="}), realmURI},
		{"user_id beyond 64 bits", "zulip://login?" + goodQuery(map[string]string{"user_id": "user_id=9223372036854775808"}), realmURI},
		{"key of 63 digits", "zulip://login?" + goodQuery(map[string]string{"otp_encrypted_api_key": "otp_encrypted_api_key=" + knownEncrypted[1:]}), realmURI},
		{"key of 65 digits", "zulip://login?" + goodQuery(map[string]string{"otp_encrypted_api_key": "otp_encrypted_api_key=0" + knownEncrypted}), realmURI},
		{"key not hex", "zulip://login?" + goodQuery(map[string]string{"otp_encrypted_api_key": "otp_encrypted_api_key=g" + knownEncrypted[1:]}), realmURI},
		{"key in clear", "zulip://login?" + goodQuery(map[string]string{"otp_encrypted_api_key": "otp_encrypted_api_key=" + knownKey}), realmURI},
		{"realm on another host", "zulip://login?" + goodQuery(map[string]string{"realm": "realm=https%3A%2F%2Fevil.example.com"}), realmURI},
		{"realm on another port", "zulip://login?" + goodQuery(map[string]string{"realm": "realm=https%3A%2F%2Fchat.example.com%3A8443"}), realmURI},
		{"realm over http", "zulip://login?" + goodQuery(map[string]string{"realm": "realm=http%3A%2F%2Fchat.example.com"}), realmURI},
		{"realm a subdomain", "zulip://login?" + goodQuery(map[string]string{"realm": "realm=https%3A%2F%2Fsub.chat.example.com"}), realmURI},
		{"realm without a scheme", "zulip://login?" + goodQuery(map[string]string{"realm": "realm=chat.example.com"}), realmURI},
		{"realm of another scheme", "zulip://login?" + goodQuery(map[string]string{"realm": "realm=zulip%3A%2F%2Fchat.example.com"}), realmURI},
		// Ours: stricter than the app, which would read the last value.
		{"email twice", "zulip://login?" + good + "&email=othello%40zulip.com", realmURI},
		{"a semicolon in the query", "zulip://login?" + good + ";x=1", realmURI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loc, err := url.Parse(tt.location)
			if err != nil {
				t.Fatal(err)
			}
			key, email, userID, err := browsertest.CheckMobileRedirect(loc, knownOTP, tt.realmURI)
			if !errors.Is(err, browsertest.ErrRedirectRefused) {
				t.Fatalf("CheckMobileRedirect(%s) = %q, %q, %d, %v; want an error wrapping ErrRedirectRefused", tt.location, key, email, userID, err)
			}
			if key != "" || email != "" || userID != 0 {
				t.Errorf("a refusal returned key %q, email %q, user ID %d", key, email, userID)
			}
		})
	}
}

// A caller's mistake is not the server's: it does not wrap ErrRedirectRefused.
func TestCheckMobileRedirectCallerErrors(t *testing.T) {
	t.Parallel()
	loc := redirect(t, goodQuery(nil))
	tests := []struct{ name, otp, realmURI string }{
		{"OTP too short", knownOTP[2:], realmURI},
		{"OTP not hex", "z" + knownOTP[1:], realmURI},
		{"realm_uri not http", knownOTP, "zulip://chat.example.com"},
		{"realm_uri without a host", knownOTP, "https:///x"},
		{"realm_uri does not parse", knownOTP, "https://[::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, _, err := browsertest.CheckMobileRedirect(loc, tt.otp, tt.realmURI)
			if err == nil || errors.Is(err, browsertest.ErrRedirectRefused) {
				t.Fatalf("err = %v; want a caller error, not ErrRedirectRefused", err)
			}
		})
	}
	if _, _, _, err := browsertest.CheckMobileRedirect(nil, knownOTP, realmURI); !errors.Is(err, browsertest.ErrRedirectRefused) {
		t.Errorf("a nil Location: err = %v; want ErrRedirectRefused", err)
	}
}

// The pad is the whole secret: under another pad the same redirect decrypts
// to another key, which the app cannot tell from the right one.
func TestCheckMobileRedirectWrongPad(t *testing.T) {
	t.Parallel()
	key, _, _, err := browsertest.CheckMobileRedirect(redirect(t, goodQuery(nil)), browsertest.NewOTP(), realmURI)
	if err != nil {
		t.Fatal(err)
	}
	if key == knownKey {
		t.Fatalf("a random pad decrypted the key")
	}
}

func TestNewOTP(t *testing.T) {
	t.Parallel()
	lowerHex := regexp.MustCompile(`^[0-9a-f]{64}$`)
	seen := map[string]bool{}
	for range 100 {
		otp := browsertest.NewOTP()
		if !lowerHex.MatchString(otp) {
			t.Fatalf("NewOTP() = %q; want 64 lowercase hex digits", otp)
		}
		if seen[otp] {
			t.Fatalf("NewOTP() returned %q twice", otp)
		}
		seen[otp] = true
	}
}

// encrypt is Zulip's otp_encrypt_api_key, written here from WIRE.md §10 and
// not from the package: hex(bytes(key) XOR bytes.fromhex(otp)).
func encrypt(key, otp string) string {
	pad, _ := hex.DecodeString(otp)
	out := []byte(key)
	for i := range out {
		out[i] ^= pad[i]
	}
	return hex.EncodeToString(out)
}

func TestEncryptMatchesZulipsVector(t *testing.T) {
	t.Parallel()
	if got := encrypt(knownKey, knownOTP); got != knownEncrypted {
		t.Fatalf("encrypt = %s; want Zulip's %s", got, knownEncrypted)
	}
}

// A fresh pad and key round-trip, as in a real login.
func TestCheckMobileRedirectRoundTrip(t *testing.T) {
	t.Parallel()
	otp := browsertest.NewOTP()
	const key = "Uy0TJ3wdFsYm1UqCbZXEuXfOkHbtXLro" // 32 characters, as Zulip makes them
	q := url.Values{
		"otp_encrypted_api_key": {encrypt(key, otp)},
		"email":                 {"user+tag@zulip.com"},
		"user_id":               {"123456789"},
		"realm":                 {realmURI + "/"},
	}
	got, email, userID, err := browsertest.CheckMobileRedirect(redirect(t, q.Encode()), otp, realmURI)
	if err != nil {
		t.Fatal(err)
	}
	if got != key || email != "user+tag@zulip.com" || userID != 123456789 {
		t.Fatalf("got %q, %q, %d", got, email, userID)
	}
}
