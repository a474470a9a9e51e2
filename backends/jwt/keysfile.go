package jwt

import (
	"fmt"
	"io"
	"os"
	"runtime"
)

// MaxKeysFileBytes bounds what [LoadKeysFile] reads: keys for thousands of
// realms fit; a larger file is a mistake (the wrong path), not keys.
const MaxKeysFileBytes = 1 << 20

// LoadKeysFile reads keys per realm from the file at path, in the JSON
// [ParseKeys] reads (Zulip's JWT_AUTH_KEYS), and checks them as ParseKeys
// does. The file holds secrets, so it must be a regular file (a symbolic
// link to one is followed) that no one but its owner may read or write:
// a mode with any group or other bit (mode&0o077 != 0, such as 0644) is
// [ErrKeysFileExposed], and the error says to chmod 600 it. On Windows,
// where Go reports no such bits, that check is skipped. A file larger than
// [MaxKeysFileBytes] is refused without being read whole. Errors name the
// path and never quote the file's content.
func LoadKeysFile(path string) (map[string]RealmKeys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("jwt: the keys file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("jwt: the keys file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("jwt: the keys file %s is not a regular file (%v)", path, info.Mode().Type())
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("%w: %s has mode %#o, so other users may read its secrets: chmod 600 %s", ErrKeysFileExposed, path, perm, path)
	}
	if info.Size() > MaxKeysFileBytes {
		return nil, fmt.Errorf("%w: the keys file %s has %d bytes, more than the %d a keys file may have", ErrInvalidKeys, path, info.Size(), MaxKeysFileBytes)
	}
	// The size may change between Stat and Read: read one byte past the
	// bound to notice.
	data, err := io.ReadAll(io.LimitReader(f, MaxKeysFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwt: reading the keys file %s: %w", path, err)
	}
	if len(data) > MaxKeysFileBytes {
		return nil, fmt.Errorf("%w: the keys file %s has more than the %d bytes a keys file may have", ErrInvalidKeys, path, MaxKeysFileBytes)
	}
	keys, err := parseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%w: in %s: %v", ErrInvalidKeys, path, err)
	}
	return keys, nil
}
