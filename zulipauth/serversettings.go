package zulipauth

import (
	"net/http"
	"regexp"
	"slices"
)

// ServerSettingsHandler returns the handler of GET /api/v1/server_settings, the
// unauthenticated description of the server and the request's realm that
// clients read before they log in: which login methods to offer, whether the
// username must be an email address, the server's version and feature level.
//
// authentication_methods reflects Config.Authenticator: "email" and "ldap"
// for authenticators that name themselves so ([MethodNamer]); "password" when
// either is enabled and the realm allows password login; "dev" where
// Config.InsecureDevLogin is set; "jwt" (a key Zulip does not send; clients
// ignore it) where Config.TokenVerifier has keys for the realm. realm_url and its
// deprecated alias realm_uri are the realm's host as the resolver knows it
// from configuration ([HostRealms] with an ExternalHost), else the
// request's Host, with https when the connection, or a trusted
// proxy's X-Forwarded-Proto, says so. Clients send the password to that URL,
// so configure the host in production rather than echo a Host header.
//
// GET and HEAD only: other methods get 405 with Allow: GET, HEAD. An unknown
// realm is 400 "Invalid subdomain", as Zulip answers here.
func (a *Auth) ServerSettingsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		settings, zerr := a.serverSettings(w, r)
		write(w, a.cfg.Now(), settings, zerr, nil)
	})
}

// authenticationMethods is the deprecated boolean map, in Zulip's key order.
type authenticationMethods struct {
	Password      bool `json:"password"`
	Dev           bool `json:"dev"`
	Email         bool `json:"email"`
	LDAP          bool `json:"ldap"`
	RemoteUser    bool `json:"remoteuser"`
	GitHub        bool `json:"github"`
	AzureAD       bool `json:"azuread"`
	GitLab        bool `json:"gitlab"`
	Google        bool `json:"google"`
	Apple         bool `json:"apple"`
	SAML          bool `json:"saml"`
	OpenIDConnect bool `json:"openid connect"`
	// JWT is this package's addition, sent only when true: Zulip sends no
	// key for its JWT login (its OpenAPI description allows no other key),
	// and clients read only the keys they know.
	JWT bool `json:"jwt,omitempty"`
}

// externalAuthenticationMethod is one entry of
// external_authentication_methods: a single sign-on provider enabled for
// the realm. The list is present even when empty (zulip-flutter requires
// it).
type externalAuthenticationMethod struct {
	Name        string  `json:"name"`
	DisplayName string  `json:"display_name"`
	DisplayIcon *string `json:"display_icon"`
	LoginURL    string  `json:"login_url"`
	SignupURL   string  `json:"signup_url"`
}

// serverSettings is server_settings' data in Zulip's key order.
type serverSettings struct {
	AuthenticationMethods         authenticationMethods          `json:"authentication_methods"`
	ZulipVersion                  string                         `json:"zulip_version"`
	ZulipMergeBase                string                         `json:"zulip_merge_base"`
	ZulipFeatureLevel             int                            `json:"zulip_feature_level"`
	PushNotificationsEnabled      bool                           `json:"push_notifications_enabled"`
	IsIncompatible                bool                           `json:"is_incompatible"`
	EmailAuthEnabled              bool                           `json:"email_auth_enabled"`
	RequireEmailFormatUsernames   bool                           `json:"require_email_format_usernames"`
	RealmURL                      string                         `json:"realm_url"`
	RealmName                     string                         `json:"realm_name"`
	RealmIcon                     string                         `json:"realm_icon"`
	RealmDescription              string                         `json:"realm_description"`
	RealmWebPublicAccessEnabled   bool                           `json:"realm_web_public_access_enabled"`
	ExternalAuthenticationMethods []externalAuthenticationMethod `json:"external_authentication_methods"`
	RealmURI                      string                         `json:"realm_uri"`
}

// serverSettings decides server_settings' answer; it writes nothing but
// the caching headers.
func (a *Auth) serverSettings(w http.ResponseWriter, r *http.Request) (*serverSettings, *Error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, MethodNotAllowed(http.MethodGet, http.MethodHead)
	}
	realm, err := a.resolveRealm(r, a.cfg.Now())
	if err != nil {
		return nil, a.answer(r.Context(), epSettings, "resolving the realm", err, "host", r.Host)
	}
	methods := authMethods(a.cfg.Authenticator)
	passwordOK := !realm.PasswordAuthDisabled
	email := passwordOK && slices.Contains(methods, "email")
	ldap := passwordOK && slices.Contains(methods, "ldap")
	url := a.realmURL(r, realm)
	external, kinds := a.externalMethods(realm)
	// Without a configured host the URL echoes the request's Host: keep
	// shared caches from serving one client's answer to another.
	w.Header()["Cache-Control"] = []string{"no-store"}
	w.Header()["Vary"] = []string{"Host"}
	return &serverSettings{
		AuthenticationMethods: authenticationMethods{
			Password:      email || ldap,
			Dev:           a.cfg.InsecureDevLogin,
			Email:         email,
			LDAP:          ldap,
			SAML:          kinds["saml"],
			OpenIDConnect: kinds["oidc"],
			JWT:           a.cfg.TokenVerifier != nil && a.cfg.TokenVerifier.TokenLoginEnabled(realm),
		},
		ZulipVersion:                  a.cfg.ZulipVersion,
		ZulipMergeBase:                a.cfg.ZulipMergeBase,
		ZulipFeatureLevel:             a.cfg.ZulipFeatureLevel,
		PushNotificationsEnabled:      a.cfg.PushNotificationsEnabled,
		IsIncompatible:                userAgentName(r.UserAgent()) == "ZulipInvalid",
		EmailAuthEnabled:              email,
		RequireEmailFormatUsernames:   !acceptsNonEmail(a.cfg.Authenticator, realm),
		RealmURL:                      url,
		RealmName:                     realm.Name,
		RealmIcon:                     realm.IconURL,
		RealmDescription:              realm.Description,
		ExternalAuthenticationMethods: external,
		RealmURI:                      url,
	}, nil
}

// requestScheme is "https" when the request came over TLS, or through a
// trusted proxy that says X-Forwarded-Proto: https; otherwise "http".
func (a *Auth) requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if isTrusted(parseAddr(r.RemoteAddr), a.cfg.TrustedProxies) && r.Header.Get("X-Forwarded-Proto") == "https" {
		return "https"
	}
	return "http"
}

// userAgentRE is Zulip's parse_user_agent pattern.
var userAgentRE = regexp.MustCompile(`^([^/ ]*[^0-9/(]*)(/([^/ ]*))?([ /].*)?$`)

// userAgentName is the client name Zulip reads from a User-Agent.
func userAgentName(ua string) string {
	if ua == "" {
		ua = "Missing User-Agent"
	}
	m := userAgentRE.FindStringSubmatch(ua)
	if m == nil {
		return ""
	}
	return m[1]
}

// externalMethods lists the identity providers enabled for realm as Zulip
// lists its external methods: SAML's first (Zulip's sort order, 9999),
// then OpenID Connect's (100), each in Config's order; and which kinds
// there are.
func (a *Auth) externalMethods(realm Realm) ([]externalAuthenticationMethod, map[string]bool) {
	out, kinds := []externalAuthenticationMethod{}, map[string]bool{}
	for _, kind := range []string{"saml", "oidc"} {
		for _, p := range a.cfg.IdentityProviders {
			info := p.Info()
			if info.Kind != kind || !p.Enabled(realm) {
				continue
			}
			kinds[kind] = true
			var icon *string
			if info.DisplayIcon != "" {
				icon = &info.DisplayIcon
			}
			out = append(out, externalAuthenticationMethod{
				Name:        info.Kind + ":" + info.Name,
				DisplayName: info.DisplayName,
				DisplayIcon: icon,
				LoginURL:    "/accounts/login/social/" + info.LoginPath,
				SignupURL:   "/accounts/register/social/" + info.LoginPath,
			})
		}
	}
	return out, kinds
}
