package jwt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
)

// keyKind is what kind of key an algorithm verifies with.
type keyKind int

const (
	kindHMAC    keyKind = iota + 1 // a shared secret, the bytes of the key string
	kindRSA                        // an RSA public key
	kindECDSA                      // an ECDSA public key on the algorithm's curve
	kindEd25519                    // an Ed25519 public key
)

func (k keyKind) String() string {
	switch k {
	case kindHMAC:
		return "an HMAC secret"
	case kindRSA:
		return "an RSA public key (PEM)"
	case kindECDSA:
		return "an ECDSA public key (PEM)"
	case kindEd25519:
		return "an Ed25519 public key (PEM)"
	}
	return "an unknown kind of key"
}

// algorithm is one JWS algorithm this package accepts: the key it needs,
// for ECDSA the curve (RFC 7518 ties each ES algorithm to one), and for
// HMAC the shortest secret.
type algorithm struct {
	kind  keyKind
	curve string // crypto/elliptic's name of the curve; ECDSA only
	// minSecret is, for HMAC, the fewest bytes a secret may have: RFC 7518
	// §3.2 requires "a key of the same size as the hash output (for
	// instance, 256 bits for HS256) or larger".
	minSecret int
}

// algorithms are the JWS algorithms golang-jwt verifies, by their "alg"
// names (case matters, as in RFC 7518). "none" is absent on purpose: it
// means an unsigned token.
var algorithms = map[string]algorithm{
	"HS256": {kind: kindHMAC, minSecret: 256 / 8},
	"HS384": {kind: kindHMAC, minSecret: 384 / 8},
	"HS512": {kind: kindHMAC, minSecret: 512 / 8},
	"RS256": {kind: kindRSA},
	"RS384": {kind: kindRSA},
	"RS512": {kind: kindRSA},
	"PS256": {kind: kindRSA},
	"PS384": {kind: kindRSA},
	"PS512": {kind: kindRSA},
	"ES256": {kind: kindECDSA, curve: "P-256"},
	"ES384": {kind: kindECDSA, curve: "P-384"},
	"ES512": {kind: kindECDSA, curve: "P-521"},
	"EdDSA": {kind: kindEd25519},
}

// Algorithms returns the names of the algorithms a realm may list, sorted:
// HMAC (HS256, HS384, HS512), RSA PKCS #1 v1.5 (RS256, RS384, RS512),
// RSA-PSS (PS256, PS384, PS512), ECDSA (ES256 on P-256, ES384 on P-384,
// ES512 on P-521) and EdDSA (Ed25519).
func Algorithms() []string {
	names := make([]string, 0, len(algorithms))
	for name := range algorithms {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// MinRSABits is the smallest RSA modulus accepted: shorter keys can be
// factored by a determined attacker (NIST SP 800-131A disallows them).
const MinRSABits = 2048

// decodedKey is a realm's key ready for golang-jwt: []byte for HMAC,
// *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
type decodedKey struct {
	kind  keyKind
	curve string // for kindECDSA
	key   any
}

// decodeKey turns the key string of a realm into the key its algorithms
// verify with, and checks that every algorithm listed fits it. Errors never
// quote the key.
func decodeKey(key string, algs []string) (decodedKey, error) {
	if len(algs) == 0 {
		return decodedKey{}, fmt.Errorf("lists no algorithms, so no token could verify: list the one the issuer signs with, such as [\"HS256\"]")
	}
	for _, name := range algs {
		if strings.EqualFold(name, "none") {
			return decodedKey{}, fmt.Errorf("lists the algorithm %q: an unsigned token, which anyone can forge, is never accepted", name)
		}
		if _, ok := algorithms[name]; !ok {
			return decodedKey{}, fmt.Errorf("lists the unknown algorithm %q: choose among %s (the case matters)", name, strings.Join(Algorithms(), ", "))
		}
	}
	if key == "" {
		return decodedKey{}, fmt.Errorf("has an empty key")
	}
	asymmetric := looksAsymmetric(key)
	for _, name := range algs {
		switch kind := algorithms[name].kind; {
		case kind == kindHMAC && asymmetric:
			// The algorithm-confusion attack: a public key, which anyone
			// may know, used as an HMAC secret lets anyone sign tokens.
			// PyJWT refuses such a key for HMAC too.
			return decodedKey{}, fmt.Errorf("lists %s, an HMAC algorithm, with a public key (PEM or OpenSSH): a public key must never serve as an HMAC secret, since anyone who has it could sign tokens; list the key's own algorithm, or give the shared secret", name)
		case kind != kindHMAC && !asymmetric:
			return decodedKey{}, fmt.Errorf("lists %s, which needs %s, but the key is a shared secret (not PEM)", name, kind)
		}
	}
	dk := decodedKey{kind: kindHMAC, key: []byte(key)}
	if asymmetric {
		var err error
		if dk, err = decodePublicKey(key); err != nil {
			return decodedKey{}, err
		}
	} else if err := checkSecretLength(key, algs); err != nil {
		return decodedKey{}, err
	}
	for _, name := range algs {
		if err := fits(dk, name); err != nil {
			return decodedKey{}, err
		}
	}
	return dk, nil
}

// checkSecretLength refuses an HMAC secret shorter than RFC 7518 §3.2
// allows: a short secret can be found by brute force from a single token,
// and whoever finds it signs tokens for any user. The length is counted in
// bytes of the UTF-8 string, since those bytes are the HMAC key.
//
// A realm's one secret serves every algorithm it lists, and the token's
// header chooses among them (golang-jwt accepts any listed method), so the
// secret must be long enough for the strongest one listed: checking each
// algorithm only when a token uses it would leave a realm that lists
// HS256 and HS512 with a secret too short for HS512 in force. The error
// names that algorithm and the length it needs, never the secret nor its
// length.
func checkSecretLength(secret string, algs []string) error {
	strongest := ""
	for _, name := range algs {
		if algorithms[name].minSecret > algorithms[strongest].minSecret {
			strongest = name
		}
	}
	if need := algorithms[strongest].minSecret; len(secret) < need {
		return fmt.Errorf("lists %s, whose secret must have at least %d bytes (RFC 7518 §3.2: as many as the hash's output), but the key is shorter: give a random secret of %d bytes or more, such as the output of openssl rand -hex %d", strongest, need, need, need)
	}
	return nil
}

// fits reports why the algorithm name cannot verify with dk, if it cannot.
func fits(dk decodedKey, name string) error {
	alg := algorithms[name]
	switch {
	case alg.kind != dk.kind:
		return fmt.Errorf("lists %s, which needs %s, but the key is %s", name, alg.kind, dk.kind)
	case alg.kind == kindECDSA && alg.curve != dk.curve:
		return fmt.Errorf("lists %s, which needs a key on the curve %s, but the key is on %s", name, alg.curve, dk.curve)
	}
	return nil
}

// looksAsymmetric reports whether key is a PEM block or an OpenSSH public
// key rather than a shared secret, as PyJWT's HMAC key check does.
func looksAsymmetric(key string) bool {
	if strings.Contains(key, "-----BEGIN ") {
		return true
	}
	trimmed := strings.TrimSpace(key)
	for _, prefix := range []string{"ssh-rsa ", "ssh-ed25519 ", "ecdsa-sha2-", "ssh-dss "} {
		if strings.HasPrefix(trimmed, prefix) {
			return true
		}
	}
	return false
}

// privateKeyBlocks are the PEM types of private keys.
var privateKeyBlocks = []string{"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY", "DSA PRIVATE KEY"}

// decodePublicKey reads one PEM block holding a public key: "PUBLIC KEY"
// (PKIX: RSA, ECDSA or Ed25519), "RSA PUBLIC KEY" (PKCS #1) or
// "CERTIFICATE" (its public key; the certificate's dates and chain are not
// checked).
func decodePublicKey(key string) (decodedKey, error) {
	if !strings.Contains(key, "-----BEGIN ") {
		return decodedKey{}, fmt.Errorf("has an OpenSSH public key: give it in PEM (ssh-keygen -e -m PKCS8 -f key.pub)")
	}
	// Leading white space (an indented value) would hide the BEGIN line.
	block, rest := pem.Decode([]byte(strings.TrimSpace(key)))
	if block == nil {
		return decodedKey{}, fmt.Errorf("has a key that looks like PEM but does not decode as a PEM block")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return decodedKey{}, fmt.Errorf("has more than one PEM block in its key: give one public key")
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		if slices.Contains(privateKeyBlocks, block.Type) {
			return decodedKey{}, fmt.Errorf("has a private key (PEM %q): give the issuer's public key; the private key signs tokens and must stay with the issuer", block.Type)
		}
		return decodedKey{}, fmt.Errorf("has a PEM block that is not a public key: want \"PUBLIC KEY\", \"RSA PUBLIC KEY\" or \"CERTIFICATE\"")
	}
	if err != nil {
		// x509's message (an ASN.1 structure dump) would not help, and it
		// is not worth checking that it never quotes the key's bytes.
		return decodedKey{}, fmt.Errorf("has a PEM %q block whose content does not decode (a truncated or damaged key?)", block.Type)
	}
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if bits := pub.N.BitLen(); bits < MinRSABits {
			return decodedKey{}, fmt.Errorf("has an RSA key of %d bits: at least %d are needed", bits, MinRSABits)
		}
		return decodedKey{kind: kindRSA, key: pub}, nil
	case *ecdsa.PublicKey:
		return decodedKey{kind: kindECDSA, curve: pub.Curve.Params().Name, key: pub}, nil
	case ed25519.PublicKey:
		return decodedKey{kind: kindEd25519, key: pub}, nil
	}
	return decodedKey{}, fmt.Errorf("has a public key of type %T, which no JWS algorithm here verifies with", pub)
}
