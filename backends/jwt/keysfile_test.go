package jwt_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/jwt"
)

const goodKeysJSON = `{"": {"key": "` + hmacSecret + `", "algorithms": ["HS256"]}}`

// writeKeys writes data to a file of mode perm in a new directory.
func writeKeys(t *testing.T, data string, perm fs.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwt-keys.json")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

func TestLoadKeysFile(t *testing.T) {
	t.Parallel()
	for _, perm := range []fs.FileMode{0o600, 0o400} {
		keys, err := jwt.LoadKeysFile(writeKeys(t, goodKeysJSON, perm))
		if err != nil {
			t.Fatalf("mode %#o: %v", perm, err)
		}
		if keys[""].Key != hmacSecret || len(keys) != 1 {
			t.Errorf("mode %#o: the keys were not read", perm)
		}
	}
}

// The file holds secrets: one that others may read is refused, with the
// fix in the error.
func TestLoadKeysFileRefusesExposedFile(t *testing.T) {
	t.Parallel()
	for _, perm := range []fs.FileMode{0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o666} {
		path := writeKeys(t, goodKeysJSON, perm)
		_, err := jwt.LoadKeysFile(path)
		if !errors.Is(err, jwt.ErrKeysFileExposed) || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %#o: err = %v, want ErrKeysFileExposed saying chmod 600", perm, err)
		}
		if err != nil && strings.Contains(err.Error(), hmacSecret) {
			t.Errorf("mode %#o: the error quotes the key", perm)
		}
	}
}

func TestLoadKeysFileRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	huge := writeKeys(t, `{"": {"key": "`+strings.Repeat("k", jwt.MaxKeysFileBytes)+`", "algorithms": ["HS256"]}}`, 0o600)
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(writeKeys(t, goodKeysJSON, 0o644), link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		target error
		want   string
	}{
		{"missing", filepath.Join(dir, "nothing.json"), fs.ErrNotExist, "the keys file"},
		{"a directory", dir, nil, "is not a regular file"},
		{"too large", huge, jwt.ErrInvalidKeys, "more than the 1048576 a keys file may have"},
		{"invalid keys", writeKeys(t, `{"lear": {"key": "`+hmacSecret+`", "algorithms": ["RS256"]}}`, 0o600), jwt.ErrInvalidKeys, `realm "lear" lists RS256`},
		{"not JSON", writeKeys(t, hmacSecret, 0o600), jwt.ErrInvalidKeys, "not valid JSON"},
		{"a link to an exposed file", link, jwt.ErrKeysFileExposed, "chmod 600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys, err := jwt.LoadKeysFile(tt.path)
			if err == nil || keys != nil {
				t.Fatalf("LoadKeysFile = %v, %v; want an error", keys, err)
			}
			if (tt.target != nil && !errors.Is(err, tt.target)) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant %v with %q", err, tt.target, tt.want)
			}
			if strings.Contains(err.Error(), hmacSecret) || strings.Contains(err.Error(), "kkkkkkkk") {
				t.Errorf("the error quotes the file")
			}
			if tt.path != dir && !strings.Contains(err.Error(), tt.path) {
				t.Errorf("the error does not name the file: %v", err)
			}
		})
	}
}

// The reproduction, through the file: a secret of 5 bytes for
// HS256, and a realm named twice (the last entry won), are refused when
// the file is loaded, that is at the server's start; the errors name the
// file, the realm (and the entries), never a secret or any part of one.
func TestLoadKeysFileRefusesWeakOrAmbiguousKeys(t *testing.T) {
	t.Parallel()
	short, long, other := secretOf(5), secretOf(64), secretOf(33)
	tests := []struct {
		name string
		data string
		want string
	}{
		{"a 5-byte HS256 secret", `{"lear": {"key": "` + short + `", "algorithms": ["HS256"]}}`,
			`realm "lear" lists HS256, whose secret must have at least 32 bytes`},
		{"a realm named twice", "{\"lear\": {\"key\": \"" + long + "\", \"algorithms\": [\"HS512\"]},\n" +
			"\"\": {\"key\": \"" + other + "\", \"algorithms\": [\"HS256\"]},\n" +
			"\"lear\": {\"key\": \"" + other + "\", \"algorithms\": [\"HS256\"]}}\n",
			`realm "lear" is named twice, in entries 1 and 3 (lines 1 and 3)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeKeys(t, tt.data, 0o600)
			keys, err := jwt.LoadKeysFile(path)
			if err == nil || keys != nil {
				t.Fatalf("LoadKeysFile = %v, %v; want an error", keys, err)
			}
			if !errors.Is(err, jwt.ErrInvalidKeys) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v\nwant ErrInvalidKeys naming %s with %q", err, path, tt.want)
			}
			for _, secret := range []string{short, long, other} {
				assertNoSecret(t, err.Error(), secret)
			}
		})
	}
}
