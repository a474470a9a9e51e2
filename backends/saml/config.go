package saml

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/zulipauth/zulipauth-go/backends/internal/logtext"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Config configures a [Provider], one identity provider. SP, Name and
// IdPMetadata are required; every other field has the default its comment
// states, filled in by [New], which refuses a Config that could not work or
// would be unsafe.
//
// The comments name the Zulip setting each field stands for (an entry of
// SOCIAL_AUTH_SAML_ENABLED_IDPS), so a Zulip server's configuration carries
// over field by field.
type Config struct {
	// SP is this server as a service provider, shared by every IdP.
	// Required.
	SP *ServiceProvider

	// Name tells the IdP apart from the others (the key of Zulip's
	// SOCIAL_AUTH_SAML_ENABLED_IDPS): server_settings lists it as
	// "saml:" + Name, and the login starts at
	// /accounts/login/social/saml/<Name>. 1 to 40 characters of [a-z0-9-].
	// Required.
	Name string
	// IdPMetadata is the IdP's SAML metadata, its EntityDescriptor (see
	// [FetchMetadata]): its entityID (Zulip's entity_id), the location of
	// its SingleSignOnService with the HTTP-Redirect binding (Zulip's url),
	// and the certificates of its KeyDescriptors for signing (Zulip's
	// x509cert); all three are required. Required.
	IdPMetadata []byte
	// Realms are the subdomains of the realms that may log in with the IdP
	// ("" is the root realm), as Zulip's limit_to_subdomains. Default: nil
	// (or empty), every realm.
	Realms []string

	// EmailAttribute is the name of the assertion's attribute that holds
	// the person's email (Zulip's attr_email). When the assertion has no
	// such attribute, or it is empty, the email is the NameID, if its
	// format is emailAddress or it is an email address. Default:
	// DefaultEmailAttribute, "email".
	EmailAttribute string
	// NameAttributes are the names of the attributes whose values, joined
	// by a space, are the person's full name, for an account created on
	// first login: Zulip's attr_first_name and attr_last_name, or one
	// attribute with the whole name ([]string{"displayName"}, say). An
	// attribute the assertion lacks is left out. Default: "first_name",
	// "last_name".
	NameAttributes []string

	// DisplayName is what the apps write on the IdP's button (Zulip's
	// display_name). Default: Name.
	DisplayName string
	// DisplayIcon is the URL of the button's icon (Zulip's display_icon).
	// Default: "", no icon.
	DisplayIcon string
	// CreateUsers lets a person without an account in the realm get one
	// on their first login, with the name the IdP gives (Zulip's
	// auto_signup). Default: false, such a person is refused.
	CreateUsers bool

	// AllowUnsolicited accepts answers that no AuthnRequest asked for:
	// IdP-initiated login, where a person starts at the IdP's portal. Such
	// an answer cannot be bound to the browser that brings it (no flow
	// started there), so whoever gets hold of a person's answer, before it
	// is used and while it is current, logs in as them; and it logs a
	// browser in through zulipauth.Config.WebLogin, never an app. Default:
	// false, every answer must answer one of this server's AuthnRequests.
	AllowUnsolicited bool

	// MaxResponseBytes caps the IdP's answer, the decoded SAMLResponse:
	// a larger one is refused as invalid before it is parsed. The form that
	// carries it is read up to about four times as much. Default:
	// DefaultMaxResponseBytes, 256 KiB (an answer with hundreds of group
	// memberships fits).
	MaxResponseBytes int

	// Logger receives what an administrator should see: the IdP found at
	// New, and each identity verified (at level Debug). Never the key nor
	// an assertion. Default: slog.Default().
	Logger *slog.Logger
}

// Defaults of [Config] fields, filled in by [New].
const (
	// DefaultEmailAttribute is Config.EmailAttribute's default, the name
	// Zulip's documentation gives the email attribute.
	DefaultEmailAttribute = "email"
	// DefaultMaxResponseBytes is Config.MaxResponseBytes's default.
	DefaultMaxResponseBytes = 256 << 10
)

// defaultNameAttributes is Config.NameAttributes's default.
var defaultNameAttributes = []string{"first_name", "last_name"}

// ErrInvalidConfig is wrapped by every error [New] returns for a Config
// that could not work or would be unsafe, and for IdP metadata that lacks
// what a login needs; the message says which field and why.
var ErrInvalidConfig = errors.New("saml: invalid Config")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// check validates c and fills in its defaults.
func (c *Config) check() error {
	if err := c.SP.check(); err != nil {
		return err
	}
	if !validName(c.Name) {
		if c.Name == "" {
			return configError("Name is required: the IdP's name, 1 to 40 characters of [a-z0-9-]")
		}
		return configError("Name %s: want 1 to 40 characters of [a-z0-9-]", logtext.Excerpt(c.Name, 60))
	}
	if len(c.IdPMetadata) == 0 {
		return configError("IdPMetadata is required: the IdP's EntityDescriptor (see FetchMetadata)")
	}
	for _, r := range c.Realms {
		if !zulipauth.ValidSubdomain(r) {
			return configError("Realms: %s is not a realm's subdomain", logtext.Excerpt(r, 60))
		}
	}
	if c.EmailAttribute == "" {
		c.EmailAttribute = DefaultEmailAttribute
	}
	if c.NameAttributes == nil {
		c.NameAttributes = defaultNameAttributes
	}
	c.NameAttributes = slices.Clone(c.NameAttributes)
	for _, a := range c.NameAttributes {
		if a == "" {
			return configError("NameAttributes: an attribute's name is empty")
		}
	}
	if c.DisplayName == "" {
		c.DisplayName = c.Name
	}
	switch {
	case c.MaxResponseBytes < 0:
		return configError("MaxResponseBytes is %d, want 0 (the default, %d) or more", c.MaxResponseBytes, DefaultMaxResponseBytes)
	case c.MaxResponseBytes == 0:
		c.MaxResponseBytes = DefaultMaxResponseBytes
	case c.MaxResponseBytes > maxResponseBytesLimit:
		return configError("MaxResponseBytes is %d, more than the %d an answer may have", c.MaxResponseBytes, maxResponseBytesLimit)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// maxResponseBytesLimit bounds Config.MaxResponseBytes: an answer larger
// than this is not a login.
const maxResponseBytesLimit = 16 << 20

// validName reports whether s can be Config.Name: 1 to 40 characters of
// [a-z0-9-], which go in paths as they are.
func validName(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
