package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"

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

// adminCommand is one admin subcommand: what it is for, the flags it needs
// and what it does.
type adminCommand struct {
	synopsis string   // its flags, as the usage line shows them
	short    string   // one line for the list of commands
	summary  string   // what it does, for its -h
	flags    []string // of: subdomain, name, email, realm, full-name, password-auth
	required []string
	// creates: the command creates things, so it may create the database
	// too, where there is none (see storeFlags.withStore); the others
	// refuse a path with no database.
	creates bool
	// check, when set, refuses bad flag values (a usage error) before the
	// database is opened.
	check func(a adminArgs) error
	run   func(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error
}

type adminEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// userFlags are the flags of the commands that act on one user.
var userFlags = []string{"email", "realm"}

const userSynopsis = "-email E [-realm S] [-db PATH | -postgres DSN]"

var adminCommands = map[string]adminCommand{
	"create-realm": {
		synopsis: "-subdomain S [-name N] [-db PATH | -postgres DSN]",
		short:    "create an organization",
		summary:  "Creates a realm (an organization), reached at SUBDOMAIN.EXTERNAL_HOST. The root realm (\"\") always exists.",
		flags:    []string{"subdomain", "name"}, required: []string{"subdomain"}, creates: true,
		check: checkRealmFlags, run: createRealm,
	},
	"deactivate-realm": {
		synopsis: "-subdomain S [-db PATH | -postgres DSN]",
		short:    "refuse every login and API request of a realm",
		summary:  "Deactivates a realm: its users' logins and API requests are refused (REALM_DEACTIVATED).",
		flags:    []string{"subdomain"}, required: []string{"subdomain"},
		run: func(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
			return updateRealm(ctx, st, a.subdomain, env, func(r *zulipauth.Realm) { r.Deactivated = true })
		},
	},
	"reactivate-realm": {
		synopsis: "-subdomain S [-db PATH | -postgres DSN]",
		short:    "undo deactivate-realm",
		summary:  "Reactivates a deactivated realm.",
		flags:    []string{"subdomain"}, required: []string{"subdomain"},
		run: func(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
			return updateRealm(ctx, st, a.subdomain, env, func(r *zulipauth.Realm) { r.Deactivated = false })
		},
	},
	"set-realm": {
		synopsis: "-subdomain S [-password-auth=true|false] [-name N] [-db PATH | -postgres DSN]",
		short:    "change a realm's name or whether it allows password login",
		summary:  "Changes a realm's name, or whether it allows password login (PASSWORD_AUTH_DISABLED when not).",
		flags:    []string{"subdomain", "password-auth", "name"}, required: []string{"subdomain"}, run: setRealm,
	},
	"create-user": {
		synopsis: "-email E [-realm S] [-full-name N] [-db PATH | -postgres DSN]",
		short:    "create a user (password prompted, or one line on stdin)",
		summary: "Creates a user and prints its id, email and API key as one JSON line. On a terminal it asks for\n" +
			"the password twice, without echo; otherwise it reads the first line of standard input.",
		flags: []string{"email", "realm", "full-name"}, required: []string{"email"}, creates: true,
		check: checkUserFlags, run: createUser,
	},
	"change-password": {
		synopsis: userSynopsis,
		short:    "set a user's password (prompted, or one line on stdin)",
		summary: "Sets a user's password and clears a required reset. On a terminal it asks for the password\n" +
			"twice, without echo; otherwise it reads the first line of standard input.",
		flags: userFlags, required: []string{"email"}, run: changePassword,
	},
	"deactivate-user": userFlagCommand("refuse a user's logins and API requests",
		"Deactivates a user: logins and API requests are refused (USER_DEACTIVATED).",
		func(ctx context.Context, st *sqlstore.Store, id int64) error {
			return st.SetUserDeactivated(ctx, id, true)
		}),
	"reactivate-user": userFlagCommand("undo deactivate-user", "Reactivates a deactivated user.",
		func(ctx context.Context, st *sqlstore.Store, id int64) error {
			return st.SetUserDeactivated(ctx, id, false)
		}),
	"require-password-reset": userFlagCommand("refuse a user's password until it is changed",
		"Flags a user's password for a reset: a correct password is answered PASSWORD_RESET_REQUIRED\nuntil change-password sets a new one.",
		func(ctx context.Context, st *sqlstore.Store, id int64) error {
			return st.SetPasswordResetRequired(ctx, id, true)
		}),
	"import-users": {
		synopsis: "[-db PATH | -postgres DSN] < users.jsonl",
		short:    "import users with their password hashes, JSON lines on stdin",
		summary:  importUsersSummary,
		creates:  true, run: importUsers,
	},
	"regenerate-api-key": {
		synopsis: userSynopsis, short: "give a user a new API key (the old one stops working)",
		summary: "Gives a user a new API key and prints it as one JSON line; the old key stops working.",
		flags:   userFlags, required: []string{"email"}, run: regenerateAPIKey,
	},
}

// userFlagCommand is a command that changes one flag of one user.
func userFlagCommand(short, summary string, change func(ctx context.Context, st *sqlstore.Store, userID int64) error) adminCommand {
	return adminCommand{
		synopsis: userSynopsis, short: short, summary: summary, flags: userFlags, required: []string{"email"},
		run: func(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
			return updateUser(ctx, st, a, env, func(u zulipauth.User) error { return change(ctx, st, u.ID) })
		},
	}
}

func sortedAdminCommands() []string {
	names := make([]string, 0, len(adminCommands))
	for n := range adminCommands {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func adminCommandNames() string { return strings.Join(sortedAdminCommands(), ", ") }

// adminFlagSet builds the flag set of one admin command.
func adminFlagSet(name string, cmd adminCommand) (*flag.FlagSet, *storeFlags, *adminArgs) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sf := &storeFlags{}
	sf.register(fs)
	a := &adminArgs{}
	for _, f := range cmd.flags {
		switch f {
		case "subdomain":
			fs.StringVar(&a.subdomain, f, "", "realm subdomain (\"\" is the root realm)")
		case "name":
			fs.StringVar(&a.name, f, "", "realm name (default: the subdomain)")
		case "email":
			fs.StringVar(&a.email, f, "", "the user's delivery email (required)")
		case "realm":
			fs.StringVar(&a.realm, f, "", "the user's realm subdomain (default: the root realm)")
		case "full-name":
			fs.StringVar(&a.fullName, f, "", "the user's full name")
		case "password-auth":
			fs.BoolVar(&a.passwordAuth, f, true, "whether the realm allows password login")
		}
	}
	return fs, sf, a
}

// runAdmin parses the flags of one admin command, checks them, opens the
// store and runs the command. Errors in the command line are found before
// the database is touched, and a command that fails creates no database
// (see storeFlags.withStore).
func runAdmin(ctx context.Context, name string, cmd adminCommand, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, sf, a := adminFlagSet(name, cmd)
	if helped, err := parseFlags(fs, args, stdout, name+" "+cmd.synopsis, cmd.summary); helped || err != nil {
		return err
	}
	if err := sf.check(fs); err != nil {
		return err
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
	if cmd.check != nil {
		if err := cmd.check(*a); err != nil {
			return fmt.Errorf("%w: %s: %v", errUsage, name, err)
		}
	}
	return sf.withStore(ctx, cmd.creates, stdout, func(st *sqlstore.Store, stdout io.Writer) error {
		if err := cmd.run(ctx, st, *a, adminEnv{stdin, stdout, stderr}); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
}

func checkRealmFlags(a adminArgs) error {
	if a.subdomain == "" || !zulipauth.ValidSubdomain(a.subdomain) {
		return fmt.Errorf("subdomain %q: use 1 to 40 lower-case letters, digits and inner hyphens (not www)", a.subdomain)
	}
	return nil
}

func createRealm(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
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

func checkUserFlags(a adminArgs) error {
	if err := checkFullName(a.fullName); err != nil {
		return fmt.Errorf("-full-name %w", err)
	}
	return nil
}

func createUser(ctx context.Context, st *sqlstore.Store, a adminArgs, env adminEnv) error {
	if _, err := findRealm(ctx, st, a.realm); err != nil {
		return err
	}
	hash, err := newPasswordHash(ctx, st, env)
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
	hash, err := newPasswordHash(ctx, st, env)
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

// newPasswordHash reads a new password (see readPassword), refuses one that
// is only white space, and hashes it under the default policy.
//
// The white-space rule is the commands', not backends/password's default
// policy (MinLength(6)): a policy also runs when a correct password's legacy
// hash is upgraded at login, and refuses it there by requiring a reset, so a
// stricter default would lock out a library user's imported users whose old
// password is spaces, and MinLength would no longer mean what its name says.
// An admin typing a new password is where refusing it costs nothing.
func newPasswordHash(ctx context.Context, st *sqlstore.Store, env adminEnv) (string, error) {
	pw, err := readPassword(env)
	if err != nil {
		return "", err
	}
	if strings.TrimFunc(pw, unicode.IsSpace) == "" {
		return "", errors.New("password refused: it is only white space; choose one with other characters too")
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
