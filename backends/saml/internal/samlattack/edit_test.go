package samlattack_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/zulipauth/zulipauth-go/backends/saml/internal/samlattack"
)

// TestEditors: each editor changes what it says, breaks the signatures
// that cover the change, and leaves a document that ResignedWithKey signs
// again (so that each of the SP's checks can be tested on its own).
func TestEditors(t *testing.T) {
	t.Parallel()
	idp, evilKeys := keys(t, idpKeys), keys(t, attackerKeys)
	at := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	tests := []struct {
		name string
		edit func([]byte) ([]byte, error)
		// want maps etree paths (below the Response) to the value they
		// must have; "-" for absent.
		want map[string]string
		// responseOnly: the edit touches only the Response, so an
		// Assertion's signature survives it.
		responseOnly bool
	}{
		{"SetIdentity", func(d []byte) ([]byte, error) { return samlattack.SetIdentity(d, evil) }, map[string]string{
			"Assertion/Subject/NameID":                              attackerName,
			"Assertion/AttributeStatement/Attribute/AttributeValue": attacker,
		}, false},
		{"SetAssertionTimes", func(d []byte) ([]byte, error) {
			return samlattack.SetAssertionTimes(d, at, at.Add(time.Minute))
		}, map[string]string{
			"Assertion/Conditions/@NotBefore":                                             "2031-02-03T04:05:06Z",
			"Assertion/Conditions/@NotOnOrAfter":                                          "2031-02-03T04:06:06Z",
			"Assertion/Subject/SubjectConfirmation/SubjectConfirmationData/@NotOnOrAfter": "2031-02-03T04:06:06Z",
		}, false},
		{"SetAssertionTimes/zero", func(d []byte) ([]byte, error) {
			return samlattack.SetAssertionTimes(d, time.Time{}, time.Time{})
		}, map[string]string{
			"Assertion/Conditions/@NotBefore":                                             "-",
			"Assertion/Subject/SubjectConfirmation/SubjectConfirmationData/@NotOnOrAfter": "-",
		}, false},
		{"SetIssueInstant", func(d []byte) ([]byte, error) { return samlattack.SetIssueInstant(d, at) }, map[string]string{
			"@IssueInstant":           "2031-02-03T04:05:06Z",
			"Assertion/@IssueInstant": "2031-02-03T04:05:06Z",
		}, false},
		{"SetAudience", func(d []byte) ([]byte, error) { return samlattack.SetAudience(d, "https://other.example") }, map[string]string{
			"Assertion/Conditions/AudienceRestriction/Audience": "https://other.example",
		}, false},
		{"SetAudience/none", func(d []byte) ([]byte, error) { return samlattack.SetAudience(d, "") }, map[string]string{
			"Assertion/Conditions/AudienceRestriction": "-",
		}, false},
		{"SetRecipient", func(d []byte) ([]byte, error) { return samlattack.SetRecipient(d, "https://other.example/acs") }, map[string]string{
			"Assertion/Subject/SubjectConfirmation/SubjectConfirmationData/@Recipient": "https://other.example/acs",
		}, false},
		{"SetDestination", func(d []byte) ([]byte, error) { return samlattack.SetDestination(d, "https://other.example/acs") }, map[string]string{
			"@Destination": "https://other.example/acs",
		}, true},
		{"SetInResponseTo", func(d []byte) ([]byte, error) { return samlattack.SetInResponseTo(d, "_other") }, map[string]string{
			"@InResponseTo": "_other",
			"Assertion/Subject/SubjectConfirmation/SubjectConfirmationData/@InResponseTo": "_other",
		}, false},
		{"SetInResponseTo/unsolicited", func(d []byte) ([]byte, error) { return samlattack.SetInResponseTo(d, "") }, map[string]string{
			"@InResponseTo": "-",
			"Assertion/Subject/SubjectConfirmation/SubjectConfirmationData/@InResponseTo": "-",
		}, false},
		{"SetStatus", func(d []byte) ([]byte, error) {
			return samlattack.SetStatus(d, samlattack.StatusResponder, samlattack.StatusAuthnFailed)
		}, map[string]string{
			"Status/StatusCode/@Value":            samlattack.StatusResponder,
			"Status/StatusCode/StatusCode/@Value": samlattack.StatusAuthnFailed,
		}, true},
	}
	for _, tt := range tests {
		for _, sh := range allShapes {
			for _, mode := range allModes {
				t.Run(fmt.Sprintf("%s/%v/%v", tt.name, sh, mode), func(t *testing.T) {
					t.Parallel()
					doc, err := tt.edit(genuine(t, victim, mode, sh))
					if err != nil {
						t.Fatal(err)
					}
					d := etree.NewDocument()
					if err := d.ReadFromBytes(doc); err != nil {
						t.Fatal(err)
					}
					for path, want := range tt.want {
						if got := valueAt(d.Root(), path); got != want {
							t.Errorf("%s = %q, want %q", path, got, want)
						}
					}

					_, err = strictRead(doc, idp.cert)
					if survives := tt.responseOnly && mode == signAssertion; survives != (err == nil) {
						t.Errorf("signed %v, the edit leaves a verifying signature: %v (err %v)", mode, err == nil, err)
					}

					resigned, err := samlattack.ResignedWithKey(doc, evilKeys.key, evilKeys.cert)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := strictRead(resigned, evilKeys.cert); err != nil {
						t.Errorf("signed again, it does not verify: %v", err)
					}
					d = etree.NewDocument()
					if err := d.ReadFromBytes(resigned); err != nil {
						t.Fatal(err)
					}
					for path, want := range tt.want {
						if got := valueAt(d.Root(), path); got != want {
							t.Errorf("signed again, %s = %q, want %q", path, got, want)
						}
					}
				})
			}
		}
	}
}

// valueAt returns the text of the element at path below root (by local
// names), or the attribute's value when the last step is @name; "-" when
// there is none.
func valueAt(root *etree.Element, path string) string {
	el := root
	steps := splitPath(path)
	for i, step := range steps {
		if step[0] == '@' {
			if i != len(steps)-1 {
				panic(path)
			}
			a := el.SelectAttr(step[1:])
			if a == nil {
				return "-"
			}
			return a.Value
		}
		if el = el.SelectElement(step); el == nil {
			return "-"
		}
	}
	return el.Text()
}

func splitPath(path string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(path); i++ {
		if i == len(path) || path[i] == '/' {
			out = append(out, path[start:i])
			start = i + 1
		}
	}
	return out
}
