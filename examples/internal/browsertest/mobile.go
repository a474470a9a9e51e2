package browsertest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// ErrRedirectRefused is the error of CheckMobileRedirect, wrapped with the
// rule the redirect breaks: the Zulip mobile app would refuse it and show
// the user a failed login.
var ErrRedirectRefused = errors.New("browsertest: the mobile app refuses the redirect")

// NewOTP returns a one-time pad as zulip-flutter makes one when it starts a
// web login: 32 bytes from crypto/rand, in 64 lowercase hex digits, to send
// as mobile_flow_otp and give to CheckMobileRedirect.
func NewOTP() string {
	var pad [32]byte
	rand.Read(pad[:]) // never fails (crypto/rand.Read crashes the program instead)
	return hex.EncodeToString(pad[:])
}

// encryptedKey is zulip-flutter's check of otp_encrypted_api_key.
var encryptedKey = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// CheckMobileRedirect checks location, the Location of the server's last
// redirect in a mobile web login, as zulip-flutter checks the zulip:// URL
// its browser hands it (lib/api/model/web_auth.dart and lib/widgets/login.dart;
// see WIRE.md §10), and returns what the app would log in with: the API key
// it decrypts with otpHex, the pad the app sent as mobile_flow_otp, and the
// email and user ID. realmURI is the realm_uri of server_settings, the URL
// the app logged in to.
//
// The rules, in the app's order; a redirect that breaks one is refused with
// an error wrapping ErrRedirectRefused that names the rule:
//
//   - the scheme is zulip and the host login (compared as Dart compares
//     them, so case-insensitively);
//   - realm, email, user_id and otp_encrypted_api_key are all present;
//   - realm parses as a URL;
//   - user_id is a base-10 integer (an optional sign, no spaces);
//   - otp_encrypted_api_key is 64 hex digits, in either case;
//   - realm's origin is realmURI's: scheme http or https, host compared
//     case-insensitively, a default port the same as none.
//
// The API key is the hex-decoded otp_encrypted_api_key XORed bytewise with
// the pad, as the app decrypts it: 32 bytes, which a correct server makes
// the ASCII of the user's API key. The app does not check them, nor does
// CheckMobileRedirect: the caller compares the key with the user's.
//
// One check is stricter than the app: a parameter given twice, which the
// app reads as its last value, is refused, as is a query that Go's
// url.ParseQuery rejects (a semicolon). A server that sends either is
// ambiguous, and a test should say so.
//
// otpHex must be 64 hex digits (NewOTP makes one) and realmURI an http or
// https URL; otherwise the error says the caller is wrong and does not wrap
// ErrRedirectRefused.
func CheckMobileRedirect(location *url.URL, otpHex string, realmURI string) (apiKey string, email string, userID int64, err error) {
	pad, err := hex.DecodeString(otpHex)
	if err != nil || len(pad) != 32 {
		return "", "", 0, fmt.Errorf("browsertest: CheckMobileRedirect: the OTP %q is not 64 hex digits", otpHex)
	}
	realmURL, err := url.Parse(realmURI)
	if err != nil {
		return "", "", 0, fmt.Errorf("browsertest: CheckMobileRedirect: realm_uri %q: %w", realmURI, err)
	}
	wantOrigin, err := origin(realmURL)
	if err != nil {
		return "", "", 0, fmt.Errorf("browsertest: CheckMobileRedirect: realm_uri %q: %w", realmURI, err)
	}
	refuse := func(format string, args ...any) (string, string, int64, error) {
		return "", "", 0, fmt.Errorf("%w: %s", ErrRedirectRefused, fmt.Sprintf(format, args...))
	}
	if location == nil {
		return refuse("no Location")
	}

	if location.Scheme != "zulip" || !strings.EqualFold(location.Hostname(), "login") {
		return refuse("%q is not zulip://login", location.Redacted())
	}
	query, err := url.ParseQuery(location.RawQuery)
	if err != nil {
		return refuse("the query %q does not parse: %v", location.RawQuery, err)
	}
	params := make(map[string]string, 4)
	for _, name := range []string{"realm", "email", "user_id", "otp_encrypted_api_key"} {
		switch values := query[name]; len(values) {
		case 0:
			return refuse("no %s parameter", name)
		case 1:
			params[name] = values[0]
		default:
			return refuse("%s appears %d times", name, len(values))
		}
	}
	realm, err := url.Parse(params["realm"])
	if err != nil {
		return refuse("realm %q does not parse: %v", params["realm"], err)
	}
	userID, err = strconv.ParseInt(params["user_id"], 10, 64)
	if err != nil {
		return refuse("user_id %q is not an integer", params["user_id"])
	}
	if !encryptedKey.MatchString(params["otp_encrypted_api_key"]) {
		return refuse("otp_encrypted_api_key %q is not 64 hex digits", params["otp_encrypted_api_key"])
	}
	gotOrigin, err := origin(realm)
	if err != nil {
		return refuse("realm %q: %v", params["realm"], err)
	}
	if gotOrigin != wantOrigin {
		return refuse("realm %q is not on the origin of realm_uri, %s", params["realm"], wantOrigin)
	}

	key, _ := hex.DecodeString(params["otp_encrypted_api_key"]) // checked above: 32 bytes
	for i := range key {
		key[i] ^= pad[i]
	}
	return string(key), params["email"], userID, nil
}

// origin is u's origin as Dart's Uri.origin gives it: scheme://host, with
// :port unless the port is the scheme's default; an error where Dart throws
// (a scheme other than http and https, no host).
func origin(u *url.URL) (string, error) {
	scheme := strings.ToLower(u.Scheme)
	defaultPort := map[string]int{"http": 80, "https": 443}[scheme]
	if defaultPort == 0 {
		return "", fmt.Errorf("the scheme %q has no origin (want http or https)", u.Scheme)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", errors.New("no host")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6, which Hostname unbracketed
	}
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port > 65535 {
			return "", fmt.Errorf("the port %q is not a port", p)
		}
		if port != defaultPort {
			return fmt.Sprintf("%s://%s:%d", scheme, host, port), nil
		}
	}
	return scheme + "://" + host, nil
}
