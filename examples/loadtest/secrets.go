package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
)

// What the harness knows that no log may show. With -log-dir it writes
// them all to DIR/secrets.json, so that a scan of the logs beside it can
// look for each (TestNoSecretsInLogs does): test accounts, keys and tokens
// of servers the run started and stopped, worth nothing once it ends, and
// never printed.

// The kinds of secret, the keys of secrets.json.
const (
	secretPassword            = "passwords"              // the users' password and the wrong one
	secretAPIKey              = "api_keys"               // every key seeded or received
	secretBasicCredentials    = "basic_credentials"      // base64(email:api_key), the api scenario's Authorization
	secretPasswordHash        = "password_hashes"        // the users' argon2id hash
	secretJWTKey              = "jwt_keys"               // the HS256 key of -jwt-keys
	secretJWTKeysFile         = "jwt_keys_files"         // the -jwt-keys file, as written
	secretJWTToken            = "jwt_tokens"             // every token sent, valid or not
	secretLDAPServicePassword = "ldap_service_passwords" // the ldap variant's service account
)

// secretsFile is the name of the secrets' file in -log-dir.
const secretsFile = "secrets.json"

// secrets are every secret of this invocation. It is package state, not
// the env's, because the lean client records each API key it receives
// (see httpConn.roundTrip) wherever in a scenario it is called from.
var secrets = &secretSet{byKind: map[string]map[string]bool{}}

// secretSet is a set of secrets by kind, safe for concurrent use.
type secretSet struct {
	mu     sync.Mutex
	byKind map[string]map[string]bool
}

// add records a secret of kind; "" is ignored.
func (s *secretSet) add(kind, value string) {
	if value == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKind[kind] == nil {
		s.byKind[kind] = map[string]bool{}
	}
	s.byKind[kind][value] = true
}

// addBytes is add for a value in a buffer the caller reuses: it copies the
// value only when it is new, so that recording the same key again (every
// login of a user returns it) costs no allocation.
func (s *secretSet) addBytes(kind string, value []byte) {
	s.mu.Lock()
	known := s.byKind[kind][string(value)]
	s.mu.Unlock()
	if !known {
		s.add(kind, string(value))
	}
}

// all is every secret by kind, sorted.
func (s *secretSet) all() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]string, len(s.byKind))
	for kind, values := range s.byKind {
		out[kind] = slices.Sorted(maps.Keys(values))
	}
	return out
}

// writeFile writes the secrets as JSON, readable by the owner only.
func (s *secretSet) writeFile(path string) error {
	b, err := json.MarshalIndent(s.all(), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("-log-dir: %w", err)
	}
	return nil
}

// apiKeyField precedes the key in the answer of a successful login, as
// zulipauth writes it (encoding/json, no spaces).
var apiKeyField = []byte(`"api_key":"`)

// recordAPIKey adds the API key of a login's answer, if it has one, to the
// secrets.
func recordAPIKey(a answer) {
	if a.status != 200 {
		return
	}
	i := bytes.Index(a.body, apiKeyField)
	if i < 0 {
		return
	}
	key := a.body[i+len(apiKeyField):]
	if j := bytes.IndexByte(key, '"'); j > 0 {
		secrets.addBytes(secretAPIKey, key[:j])
	}
}
