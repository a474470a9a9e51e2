package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"

	"github.com/zulipauth/zulipauth-go/backends/oidc"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// oidcFlags are the -oidc-* flags: one OpenID Connect provider for the
// mobile apps' single sign-on (backends/oidc), for every realm.
type oidcFlags struct {
	issuer, clientID, secretFile, name, displayName, displayIcon string
	createUsers                                                  bool
}

func (o *oidcFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.issuer, "oidc-issuer", "", "single sign-on: the OpenID provider's issuer URL (https, or http on a loopback address), e.g. https://keycloak.example.com/realms/example")
	fs.StringVar(&o.clientID, "oidc-client-id", "", "single sign-on: this server's client id at the provider")
	fs.StringVar(&o.secretFile, "oidc-client-secret-file", "", "single sign-on: a file holding the client's secret (never logged); it must not be readable by others (chmod 600)")
	fs.StringVar(&o.name, "oidc-name", oidc.DefaultName, "single sign-on: the provider's name in URLs (/accounts/login/social/NAME, /complete/NAME/) and server_settings (oidc:NAME)")
	fs.StringVar(&o.displayName, "oidc-display-name", oidc.DefaultDisplayName, "single sign-on: the provider's name on the apps' button")
	fs.StringVar(&o.displayIcon, "oidc-display-icon", "", "single sign-on: the URL of the provider's icon on the apps' button")
	fs.BoolVar(&o.createUsers, "oidc-create-users", false, "single sign-on: give an identity without an account in the realm one on its first login")
}

// check refuses a provider configured by halves: any -oidc-* flag needs the
// three that make a provider.
func (o *oidcFlags) check(fs *flag.FlagSet) error {
	var given []string
	fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "oidc-") {
			given = append(given, f.Name)
		}
	})
	if len(given) == 0 {
		return nil
	}
	var missing []string
	for flag, v := range map[string]string{"-oidc-issuer": o.issuer, "-oidc-client-id": o.clientID, "-oidc-client-secret-file": o.secretFile} {
		if v == "" {
			missing = append(missing, flag)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: serve: single sign-on needs -oidc-issuer, -oidc-client-id and -oidc-client-secret-file together; missing: %s", errUsage, strings.Join(sortedStrings(missing), ", "))
	}
	return nil
}

// provider builds the -oidc-* provider, nil without one. It asks the
// provider for its discovery document, so a provider that does not answer
// stops the server at start, with the reason.
func (o *oidcFlags) provider(ctx context.Context, log *slog.Logger) (zulipauth.IdentityProvider, error) {
	if o.issuer == "" {
		return nil, nil
	}
	secret, err := readSecretFile(o.secretFile)
	if err != nil {
		return nil, fmt.Errorf("-oidc-client-secret-file: %w", err)
	}
	p, err := oidc.New(ctx, oidc.Config{
		Issuer:       o.issuer,
		ClientID:     o.clientID,
		ClientSecret: secret,
		Name:         o.name,
		DisplayName:  o.displayName,
		DisplayIcon:  o.displayIcon,
		CreateUsers:  o.createUsers,
		Logger:       log,
	})
	if err != nil {
		return nil, fmt.Errorf("-oidc-issuer %s: %w", o.issuer, err)
	}
	return p, nil
}

// readSecretFile reads a secret from a regular file that others cannot
// read, without the final line break an editor adds.
func readSecretFile(path string) (string, error) {
	info, err := os.Stat(path)
	switch {
	case err != nil:
		return "", err
	case !info.Mode().IsRegular():
		return "", fmt.Errorf("%s is not a regular file", path)
	case info.Mode().Perm()&0o077 != 0 && runtime.GOOS != "windows":
		return "", fmt.Errorf("%s can be read by others (mode %v): chmod 600 it", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	secret := strings.TrimRight(string(b), "\r\n")
	if secret == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return secret, nil
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
