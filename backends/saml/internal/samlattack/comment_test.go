package samlattack_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/saml/internal/samlattack"
)

// TestCommentTruncation pins the CVE-2017-11427 family: the attacker's own
// genuine Response (for victim@zulip.com.evil.example) with a comment after
// the victim's part still verifies, since exclusive c14n drops comments and
// signs the whole address, while a reader of the first text node gets the
// victim's address.
func TestCommentTruncation(t *testing.T) {
	t.Parallel()
	kp := keys(t, idpKeys)
	tests := []struct {
		name string
		make func([]byte, samlattack.Attacker) ([]byte, error)
		want identity // what readFirstText reads
	}{
		{"CommentInNameID", samlattack.CommentInNameID, identity{victim, extended}},
		{"CommentInEmail", samlattack.CommentInEmail, identity{extended, victim}},
	}
	for _, tt := range tests {
		for _, sh := range allShapes {
			for _, mode := range allModes {
				t.Run(fmt.Sprintf("%s/%v/%v", tt.name, sh, mode), func(t *testing.T) {
					t.Parallel()
					doc, err := tt.make(genuine(t, extended, mode, sh), samlattack.Attacker{Email: victim})
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Contains(doc, []byte(victim+"<!---->.evil.example")) {
						t.Errorf("no comment after the victim's part:\n%s", doc)
					}
					if id, err := readFirstText(doc); err != nil || id != tt.want {
						t.Errorf("the careless reader read %+v, %v; want %+v", id, err, tt.want)
					}
					covered, err := naiveVerify(doc, kp.cert)
					if err != nil {
						t.Fatalf("the genuine signature no longer verifies: %v", err)
					}
					if got := identities(covered); len(got) == 0 || slices.ContainsFunc(got, func(s string) bool { return s != extended }) {
						t.Errorf("the signature covers %v, want only %s", got, extended)
					}
					// encoding/xml's Unmarshal joins the text around a
					// comment, and a strict SP reads the attacker's own
					// address: the variant is live only for a first-text-node
					// reader.
					if id, err := readFirst(doc); err != nil || id != (identity{extended, extended}) {
						t.Errorf("readFirst: %+v, %v", id, err)
					}
					if id, err := strictRead(doc, kp.cert); err != nil || id != (identity{extended, extended}) {
						t.Errorf("strictRead: %+v, %v", id, err)
					}
				})
			}
		}
	}
}

// TestCommentNeedsExtendedIdentity: an input for the victim's own address,
// or for an unrelated one, has nothing to truncate.
func TestCommentNeedsExtendedIdentity(t *testing.T) {
	t.Parallel()
	for _, email := range []string{victim, attacker, "victim@zulip.co"} {
		for _, f := range []func([]byte, samlattack.Attacker) ([]byte, error){samlattack.CommentInNameID, samlattack.CommentInEmail} {
			doc, err := f(genuine(t, email, signAssertion, prefixed), samlattack.Attacker{Email: victim})
			if !errors.Is(err, samlattack.ErrNoPrefix) || doc != nil {
				t.Errorf("%s: %d bytes, %v; want ErrNoPrefix", email, len(doc), err)
			}
		}
	}
}
