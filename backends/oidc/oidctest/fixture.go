package oidctest

// The provider's clients, the same in every Provider. Provider.ClientID and
// the other fields have the same values.
const (
	// ClientID is the relying party tests log in to: a confidential
	// client ("web" in zitadel's example) that authenticates to the token
	// endpoint with HTTP Basic and ClientSecret.
	ClientID = "web"
	// ClientSecret is ClientID's secret, which zitadel's example fixes.
	ClientSecret = "secret"
	// OtherClientID is a second relying party ("api" in zitadel's
	// example), with the same redirect URIs: its ID tokens name it, not
	// ClientID, as their audience.
	OtherClientID = "api"
	// OtherClientSecret is OtherClientID's secret.
	OtherClientSecret = "secret"
	// DefaultRedirectURI is the redirect URI registered when
	// Options.RedirectURIs is empty: a Zulip development server's
	// callback of OpenID Connect.
	DefaultRedirectURI = "http://localhost:9991/complete/oidc/"
)

// iago: verified, given name "Iago" and no family name.
const (
	IagoEmail    = "iago@zulip.com" // email, verified, and the username at the provider
	IagoPassword = "iago-password"  // the password the provider's login form accepts
	IagoName     = "Iago"           // the given name; the provider's name claim is "Iago " (see the package comment)
	IagoSubject  = "iago"           // sub
)

// hamlet: verified, named "King Hamlet".
const (
	HamletEmail    = "hamlet@zulip.com" // email, verified, and the username at the provider
	HamletPassword = "hamlet-password"  // the password the provider's login form accepts
	HamletName     = "King Hamlet"      // name: given name "King", family name "Hamlet"
	HamletSubject  = "hamlet"           // sub
)

// cordelia: an email the provider has not verified.
const (
	CordeliaEmail    = "cordelia@zulip.com" // email, not verified, and the username at the provider
	CordeliaPassword = "cordelia-password"  // the password the provider's login form accepts
	CordeliaName     = "Cordelia Lear"      // name: given name "Cordelia", family name "Lear"
	CordeliaSubject  = "cordelia"           // sub
)

// fixture is every provider's people, as the package comment and the
// constants above describe them.
func fixture() []User {
	return []User{
		{Subject: IagoSubject, Email: IagoEmail, EmailVerified: true, Password: IagoPassword, GivenName: "Iago"},
		{Subject: HamletSubject, Email: HamletEmail, EmailVerified: true, Password: HamletPassword, GivenName: "King", FamilyName: "Hamlet"},
		{Subject: CordeliaSubject, Email: CordeliaEmail, Password: CordeliaPassword, GivenName: "Cordelia", FamilyName: "Lear"},
	}
}
