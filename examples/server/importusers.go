package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// importUsersSummary is import-users' -h text.
const importUsersSummary = `Imports users from another system (a Zulip server, a Django, Rails or Laravel
application) so that they log in with the passwords they have: one JSON object
per line on standard input,

  {"email": E, "full_name": N, "password_hash": H, "realm": S, "api_key": K, "is_active": B}

email, full_name and password_hash are required; realm (default "", the root
realm), api_key (default: a fresh key) and is_active (default true) are not.
password_hash is "" or "!..." for no usable password, or a hash in a format
the server verifies (argon2id; Django's argon2, pbkdf2_sha256, bcrypt_sha256;
bcrypt), upgraded to argon2id on the user's next login. Blank lines are
skipped. The file is imported in one transaction: any bad line (a hash the
server cannot verify, an invalid email, an email that repeats one of the file
or the realm's, ignoring letter case, a malformed or used API key, an unknown
realm or field, a line over 16 KiB) refuses the whole file, each bad line
named on standard error, and nothing changes. On success it prints
{"imported": N}. A refusal names the line and the field, never a value: a
hash or key pasted into the wrong field is not printed either.`

// maxImportLineBytes bounds one line: a user's fields take a few hundred
// bytes; a longer line is a mistake (or an attack) and is refused without
// being held in memory whole.
const maxImportLineBytes = 16 << 10

// maxImportProblems is how many bad lines import-users names one by one;
// it counts the others.
const maxImportProblems = 20

// importUsers implements import-users: parse and check every line, then
// hand the users to the store's one-transaction import.
func importUsers(ctx context.Context, st *sqlstore.Store, _ adminArgs, env adminEnv) error {
	users, lines, problems, err := readImportFile(env.stdin)
	if err != nil {
		return err
	}
	if len(problems) == 0 {
		var n int
		n, err = st.ImportUsers(ctx, users)
		var refused *sqlstore.ImportError
		switch {
		case errors.As(err, &refused):
			for _, r := range refused.Refusals {
				problems = append(problems, importProblem{lines[r.Index], refusalReason(r.Err)})
			}
		case err != nil:
			return err
		default:
			return printJSON(env.stdout, map[string]int{"imported": n})
		}
	}
	for i, p := range problems {
		if len(problems) == 1 {
			break // the error says it
		}
		if i == maxImportProblems {
			fmt.Fprintf(env.stderr, "import-users: %d more bad lines\n", len(problems)-i)
			break
		}
		fmt.Fprintf(env.stderr, "import-users: %s\n", p)
	}
	more := ""
	if len(problems) > 1 {
		more = fmt.Sprintf(" (and %d more bad lines, listed above)", len(problems)-1)
	}
	return fmt.Errorf("%s%s; nothing was imported", problems[0], more)
}

// importProblem is a bad line: its number and what is wrong, in words that
// never quote the line. Any field can hold a secret that was put in the wrong
// place (a hash in email, a key in realm, a CSV's first row of values taken
// for its field names), so no reason quotes a value or an unknown field's
// name; the line number finds it.
type importProblem struct {
	line   int
	reason string
}

func (p importProblem) String() string { return fmt.Sprintf("line %d: %s", p.line, p.reason) }

// readImportFile reads every line of r and returns the users of the good
// ones, the line number of each, and the problems of the bad ones: every
// line is checked, so that one run names every mistake the file has
// without the store (the store's own refusals come after). err is a
// failure to read.
func readImportFile(r io.Reader) (users []sqlstore.ImportUser, lines []int, problems []importProblem, err error) {
	br := bufio.NewReaderSize(r, maxImportLineBytes+2) // room for the line's CR LF
	emails := map[[2]string]int{}                      // realm, folded email -> line
	keys := map[string]int{}                           // API key -> line
	for n := 1; ; n++ {
		line, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, nil, fmt.Errorf("reading standard input: %w", err)
		}
		eof := errors.Is(err, io.EOF)
		if eof && len(line) == 0 && !tooLong {
			return users, lines, problems, nil
		}
		if tooLong {
			problems = append(problems, importProblem{n, fmt.Sprintf("longer than %d bytes", maxImportLineBytes)})
		} else if len(bytes.TrimSpace(line)) > 0 {
			u, err := parseImportLine(line)
			if err == nil {
				err = checkImportDuplicate(u, n, emails, keys)
			}
			if err != nil {
				problems = append(problems, importProblem{n, err.Error()})
			} else {
				users, lines = append(users, u), append(lines, n)
			}
		}
		if eof {
			return users, lines, problems, nil
		}
	}
}

// readLine reads one line without its end (LF or CR LF). A line longer than
// maxImportLineBytes is consumed to its end and reported as tooLong, with no
// content. The error is io.EOF after the last line.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	line, err = br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		tooLong = true
		_, err = br.ReadSlice('\n')
	}
	if tooLong {
		return nil, true, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > maxImportLineBytes {
		return nil, true, err
	}
	return line, false, err
}

// checkImportDuplicate refuses an email (in its realm, ignoring letter
// case) or an API key that an earlier line has, and records u's.
func checkImportDuplicate(u sqlstore.ImportUser, n int, emails map[[2]string]int, keys map[string]int) error {
	ek := [2]string{u.Realm, zulipauth.FoldEmail(u.Email)}
	if first, dup := emails[ek]; dup {
		return fmt.Errorf("email is already on line %d (letter case is ignored)", first)
	}
	if first, dup := keys[u.APIKey]; dup && u.APIKey != "" {
		return fmt.Errorf("api_key is the same as line %d's", first)
	}
	emails[ek] = n
	if u.APIKey != "" {
		keys[u.APIKey] = n
	}
	return nil
}

// importFields are the fields of a line; each may appear once.
var importFields = map[string]bool{
	"email": true, "full_name": true, "password_hash": true, "realm": true, "api_key": true, "is_active": true,
}

// parseImportLine reads one line: a JSON object with the fields of
// importUsersSummary, and nothing else. Its errors name the field and say
// what is wrong without quoting any byte of the line (see importProblem):
// encoding/json's own errors, which quote the input ("invalid character 'x'
// looking for beginning of value", "cannot unmarshal string \"...\""), are
// never passed on.
func parseImportLine(line []byte) (sqlstore.ImportUser, error) {
	var u sqlstore.ImportUser
	if !utf8.Valid(line) {
		return u, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return u, errors.New("not a JSON object")
	}
	var email, fullName, hash, realm, key *string
	var active *bool
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		name, isName := tok.(string)
		if err != nil || !isName {
			return u, errors.New("not a JSON object")
		}
		switch {
		case !importFields[name]:
			return u, unknownField(name)
		case seen[name]:
			return u, fmt.Errorf("field %s given twice", name)
		}
		seen[name] = true
		var dest any
		switch name {
		case "email":
			dest = &email
		case "full_name":
			dest = &fullName
		case "password_hash":
			dest = &hash
		case "realm":
			dest = &realm
		case "api_key":
			dest = &key
		case "is_active":
			dest = &active
		}
		if err := dec.Decode(dest); err != nil {
			var typeErr *json.UnmarshalTypeError
			if !errors.As(err, &typeErr) {
				return u, errors.New("not a JSON object")
			}
			want := "a string"
			if name == "is_active" {
				want = "true or false"
			}
			return u, fmt.Errorf("field %s: want %s (or null)", name, want)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return u, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return u, errors.New("more than one JSON value on the line")
	}

	for name, v := range map[string]*string{"email": email, "full_name": fullName, "password_hash": hash} {
		if v == nil {
			return u, fmt.Errorf("missing field %s", name)
		}
	}
	u.Email, u.FullName, u.PasswordHash = *email, *fullName, *hash
	if realm != nil {
		u.Realm = *realm
	}
	if key != nil {
		u.APIKey = *key
	}
	u.Deactivated = active != nil && !*active

	if !zulipauth.ValidEmail(u.Email) {
		return u, errors.New("email is not a valid email address")
	}
	if err := checkFullName(u.FullName); err != nil {
		return u, fmt.Errorf("full_name %w", err)
	}
	switch {
	case !zulipauth.ValidSubdomain(u.Realm):
		return u, errors.New("realm is not a subdomain (1 to 40 lower-case letters, digits and inner hyphens, not www)")
	case key != nil && !zulipauth.ValidAPIKeyFormat(u.APIKey):
		return u, errors.New("api_key is not 32 characters of [A-Za-z0-9] (leave it out, or null, for a fresh key)")
	}
	// CheckHash's errors name the format and the fault, never the hash.
	if err := password.CheckHash(u.PasswordHash); err != nil {
		return u, fmt.Errorf("password_hash: %v", err)
	}
	return u, nil
}

// refusalReason puts a store's refusal in the words of the file, naming the
// field and no value (see importProblem).
func refusalReason(err error) string {
	switch {
	case errors.Is(err, zulipauth.ErrUserExists):
		return "email: the realm has a user with this email already (letter case is ignored); it is not overwritten"
	case errors.Is(err, zulipauth.ErrRealmNotFound):
		return "realm: there is no such realm (create it with create-realm)"
	case errors.Is(err, sqlstore.ErrAPIKeyInUse):
		return "api_key is another user's already"
	}
	// The store's words, which never hold a field's value
	// (sqlstore.ImportRefusal).
	return err.Error()
}

// importFieldList names the fields, for a line that has another.
const importFieldList = "the fields are email, full_name, password_hash, realm, api_key, is_active"

// unknownField refuses a field that is not one of importFields. Its name is
// quoted only when it is one of them spelt another way ("Email",
// "full-name", "isActive"), which is a mistake of the file and no secret;
// any other name may be a value (a CSV's first row of values taken for the
// field names makes a hash or an API key a name), and even a prefix of it
// would print part of a password, so it is "an unknown field" and the line
// number finds it.
func unknownField(name string) error {
	squash := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "").Replace(s))
	}
	for known := range importFields {
		if squash(name) == squash(known) {
			return fmt.Errorf("unknown field %q: the field is %s", name, known)
		}
	}
	return fmt.Errorf("an unknown field (%s)", importFieldList)
}
