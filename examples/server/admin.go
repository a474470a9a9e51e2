package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// adminArgs are the parsed flags of an admin command.
type adminArgs struct {
	subdomain, name, email, realm, fullName string
	passwordAuth                            bool
	set                                     map[string]bool // flags given on the command line
}

// adminCommand is one admin subcommand: the flags it needs and what it does.
type adminCommand struct {
	flags    []string // of: subdomain, name, email, realm, full-name, password-auth
	required []string
	run      func(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error
}

type adminEnv struct {
	stdin  io.Reader
	stdout io.Writer
}

var adminCommands = map[string]adminCommand{
	"create-realm": {[]string{"subdomain", "name"}, []string{"subdomain"}, createRealm},
	"deactivate-realm": {[]string{"subdomain"}, []string{"subdomain"}, func(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
		return updateRealm(ctx, st, a.subdomain, env, func(r *zulipauth.Realm) { r.Deactivated = true })
	}},
	"reactivate-realm": {[]string{"subdomain"}, []string{"subdomain"}, func(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
		return updateRealm(ctx, st, a.subdomain, env, func(r *zulipauth.Realm) { r.Deactivated = false })
	}},
	"set-realm":       {[]string{"subdomain", "password-auth", "name"}, []string{"subdomain"}, setRealm},
	"create-user":     {[]string{"email", "realm", "full-name"}, []string{"email"}, createUser},
	"change-password": {[]string{"email", "realm"}, []string{"email"}, changePassword},
	"deactivate-user": {[]string{"email", "realm"}, []string{"email"}, func(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
		return updateUser(ctx, st, a, env, func(u zulipauth.User) error { return st.SetUserDeactivated(ctx, u.ID, true) })
	}},
	"reactivate-user": {[]string{"email", "realm"}, []string{"email"}, func(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
		return updateUser(ctx, st, a, env, func(u zulipauth.User) error { return st.SetUserDeactivated(ctx, u.ID, false) })
	}},
	"require-password-reset": {[]string{"email", "realm"}, []string{"email"}, func(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
		return updateUser(ctx, st, a, env, func(u zulipauth.User) error { return st.SetPasswordResetRequired(ctx, u.ID, true) })
	}},
	"regenerate-api-key": {[]string{"email", "realm"}, []string{"email"}, regenerateAPIKey},
}

func adminCommandNames() string {
	names := make([]string, 0, len(adminCommands))
	for n := range adminCommands {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// runAdmin parses the flags of one admin command, checks them, opens the
// store and runs the command. Errors in the command line are found before
// the database is touched.
func runAdmin(ctx context.Context, name string, cmd adminCommand, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by main
	var sf storeFlags
	sf.register(fs)
	var a adminArgs
	for _, f := range cmd.flags {
		switch f {
		case "subdomain":
			fs.StringVar(&a.subdomain, f, "", "realm subdomain (\"\" is the root realm)")
		case "name":
			fs.StringVar(&a.name, f, "", "realm name")
		case "email":
			fs.StringVar(&a.email, f, "", "the user's delivery email")
		case "realm":
			fs.StringVar(&a.realm, f, "", "the user's realm subdomain (default: the root realm)")
		case "full-name":
			fs.StringVar(&a.fullName, f, "", "the user's full name")
		case "password-auth":
			fs.BoolVar(&a.passwordAuth, f, true, "whether the realm allows password login")
		}
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %s: %v", errUsage, name, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, name, fs.Arg(0))
	}
	a.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { a.set[f.Name] = true })
	for _, r := range cmd.required {
		if !a.set[r] {
			return fmt.Errorf("%w: %s: -%s is required", errUsage, name, r)
		}
	}
	if a.set["email"] && !zulipauth.ValidEmail(a.email) {
		return fmt.Errorf("%w: %s: -email %q is not a valid email address", errUsage, name, a.email)
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := cmd.run(ctx, st, a, adminEnv{stdin, stdout}); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func createRealm(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
	if !validSubdomain(a.subdomain) {
		return fmt.Errorf("%w: subdomain %q: use lower-case letters, digits and inner hyphens", errUsage, a.subdomain)
	}
	name := a.name
	if name == "" {
		name = a.subdomain
	}
	if err := st.CreateRealm(ctx, zulipauth.Realm{Subdomain: a.subdomain, Name: name}); err != nil {
		if errors.Is(err, zulipauth.ErrRealmExists) {
			return fmt.Errorf("realm %q already exists", a.subdomain)
		}
		return err
	}
	return printJSON(env.stdout, map[string]any{"subdomain": a.subdomain, "name": name})
}

// validSubdomain accepts what Zulip accepts for a realm's string_id.
func validSubdomain(s string) bool {
	if s == "" || len(s) > 40 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func setRealm(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
	if !a.set["password-auth"] && !a.set["name"] {
		return fmt.Errorf("%w: nothing to set: give -password-auth or -name", errUsage)
	}
	return updateRealm(ctx, st, a.subdomain, env, func(r *zulipauth.Realm) {
		if a.set["password-auth"] {
			r.PasswordAuthDisabled = !a.passwordAuth
		}
		if a.set["name"] {
			r.Name = a.name
		}
	})
}

func updateRealm(ctx context.Context, st *sqlstore.Store, sub string, env adminEnv, change func(*zulipauth.Realm)) error {
	r, err := st.RealmBySubdomain(ctx, sub)
	if errors.Is(err, zulipauth.ErrRealmNotFound) {
		return fmt.Errorf("no realm %q", sub)
	}
	if err != nil {
		return err
	}
	change(&r)
	if err := st.UpdateRealm(ctx, r); err != nil {
		return err
	}
	return printJSON(env.stdout, map[string]any{
		"subdomain": r.Subdomain, "name": r.Name, "deactivated": r.Deactivated, "password_auth": !r.PasswordAuthDisabled,
	})
}

func createUser(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
	if _, err := findRealm(ctx, st, a.realm); err != nil {
		return err
	}
	hash, err := hashFromStdin(ctx, st, env.stdin)
	if err != nil {
		return err
	}
	u, err := st.CreateUser(ctx, zulipauth.NewUser{Realm: a.realm, Email: a.email, FullName: a.fullName, PasswordHash: hash})
	if errors.Is(err, zulipauth.ErrUserExists) {
		return fmt.Errorf("a user %s already exists in realm %q", a.email, a.realm)
	}
	if err != nil {
		return err
	}
	return printUser(env.stdout, u)
}

func changePassword(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
	u, err := findUser(ctx, st, a)
	if err != nil {
		return err
	}
	hash, err := hashFromStdin(ctx, st, env.stdin)
	if err != nil {
		return err
	}
	// A new password also clears a required reset, in one transaction.
	if err := st.SetPassword(ctx, u.ID, hash); err != nil {
		return err
	}
	return printUser(env.stdout, zulipauth.User{ID: u.ID, Email: u.Email})
}

func regenerateAPIKey(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
	u, err := findUser(ctx, st, a)
	if err != nil {
		return err
	}
	if u.APIKey, err = st.RegenerateAPIKey(ctx, u.ID); err != nil {
		return err
	}
	return printUser(env.stdout, u)
}

func updateUser(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv, change func(zulipauth.User) error) error {
	u, err := findUser(ctx, st, a)
	if err != nil {
		return err
	}
	if err := change(u); err != nil {
		return err
	}
	return printUser(env.stdout, zulipauth.User{ID: u.ID, Email: u.Email})
}

func findRealm(ctx context.Context, st *sqlstore.Store, sub string) (zulipauth.Realm, error) {
	r, err := st.RealmBySubdomain(ctx, sub)
	if errors.Is(err, zulipauth.ErrRealmNotFound) {
		return r, fmt.Errorf("no realm %q (create it with create-realm)", sub)
	}
	return r, err
}

func findUser(ctx context.Context, st *sqlstore.Store, a adminArgs) (zulipauth.User, error) {
	if _, err := findRealm(ctx, st, a.realm); err != nil {
		return zulipauth.User{}, err
	}
	u, err := st.UserByEmail(ctx, a.realm, a.email)
	if errors.Is(err, zulipauth.ErrUserNotFound) {
		return u, fmt.Errorf("no user %s in realm %q", a.email, a.realm)
	}
	return u, err
}

// maxStdinPassword bounds what is read from standard input.
const maxStdinPassword = password.MaxPasswordBytes + 2

// hashFromStdin reads a password (the first line of standard input) and
// hashes it under the default policy.
func hashFromStdin(ctx context.Context, st *sqlstore.Store, stdin io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(stdin, maxStdinPassword), maxStdinPassword).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	auth, err := password.New(st)
	if err != nil {
		return "", err
	}
	hash, err := auth.Hash(ctx, pw)
	if errors.Is(err, password.ErrWeakPassword) {
		return "", fmt.Errorf("password refused: %v", err)
	}
	return hash, err
}

// userLine is what user commands print: one JSON line.
type userLine struct {
	UserID int64  `json:"user_id"`
	Email  string `json:"email"`
	APIKey string `json:"api_key,omitempty"`
}

func printUser(w io.Writer, u zulipauth.User) error {
	return printJSON(w, userLine{u.ID, u.Email, u.APIKey})
}

func printJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
