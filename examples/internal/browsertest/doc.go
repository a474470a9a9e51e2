// Package browsertest drives a real browser through the single sign-on of
// the Zulip mobile apps, for tests: Debian's Chromium, headless, through
// the DevTools protocol (chromedp).
//
// The app opens login_url?mobile_flow_otp=<64 hex digits> in a browser,
// the person logs in at an identity provider, and the server ends with a
// 302 to zulip://login?otp_encrypted_api_key=…&email=…&user_id=…&realm=…
// (WIRE.md §10). A test does the same: [Start] gives it a [Browser], a tab
// with cookies of its own; [NewOTP] makes the pad; [Browser.Open] and
// [Browser.Submit] load login_url and fill the provider's form;
// [Browser.WaitForRedirect] catches the zulip:// redirect, which Chromium
// does not follow (it has no handler for the scheme) but records; and
// [CheckMobileRedirect] checks it exactly as zulip-flutter does and
// decrypts the API key. See the example of [Start].
//
// Failures are pages too: [Browser.Page] reads the HTTP status and the
// visible text of the document in the tab, and [Browser.WaitForPage] waits
// for one a script loads. [Browser.Cookies] and [Browser.ClearCookies] read
// and clear the browser's cookies, and two Browsers never share any, so a
// test shows that a flow started in one browser does not finish in
// another.
//
// # Speed
//
// Launching Chromium takes about half a second on a small machine, stopping
// it a fifth of a second, and a tab in a new browser context a quarter:
// most of a short browser test, without [Main]. A test binary whose
// TestMain calls Main launches one Chromium for all its tests, each in a
// browser context of its own.
//
// # Requirements
//
// Chromium at /usr/bin/chromium (Debian's chromium package), or where the
// environment variable CHROMIUM says. Where it is missing, Start skips the
// test with a message saying what to install. When the environment
// variable CI is "true" it fails the test instead: in CI a browser test
// that silently skips proves nothing. [Launch] gives a program (not a test)
// a browser of its own, with the error [ErrNotInstalled] where Chromium is
// missing.
//
// Chromium runs as root without its sandbox, without a GPU and without its
// background connections (updates, sync, QUIC), which a closed network
// refuses and which slow it down; each browser has a new, empty profile,
// removed when it stops.
package browsertest
