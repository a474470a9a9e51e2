// Package slapdtest starts real OpenLDAP directories for tests, as
// net/http/httptest starts real HTTP servers: each [Start] runs its own
// slapd (Debian's slapd package), with its own configuration and database
// in the test's temporary directory, on a free loopback port, and stops it
// when the test ends.
//
// A test starts one and points an ldap.Config at its URL (see the example
// of [Start]); the fixture below says who is in it.
//
// # The fixture
//
// Every directory holds the same entries under [Suffix], so a test anywhere
// in the module can log in with a known password without writing LDIF:
//
//   - [ServiceDN], a service account with [ServicePassword], the only
//     account that may read other people's entries (search-then-bind);
//   - hamlet and othello in [People], with mail in zulip.com, different
//     organisation membership (attribute o) and only hamlet with a
//     displayName;
//   - jane, whose RDN is cn=Doe\, Jane: a value that needs DN escaping;
//   - bot, in ou=bots under [People]: the target a DN injection would reach
//     ("uid=%s,ou=people,..." with the username "bot,ou=bots" names bot's
//     entry unless the value is escaped);
//   - nomail, an entry without mail;
//   - twin1 and twin2, two entries with one mail.
//
// Constants name each entry's DN, uid, mail and password: [HamletDN],
// [HamletUID], [HamletMail], [HamletPassword] and so on. With
// [UserDNTemplate] and an append-domain of example.org, the username
// "hamlet" and HamletPassword log in as hamlet@example.org; searching by
// uid as the service account, with mail as the email attribute, they log
// in as HamletMail. [Options.LDIF] adds entries; [Person] writes one.
//
// # What the directory allows
//
// The access rules are those of a directory a careful administrator runs:
// userPassword is never readable, only used to bind; the service account
// reads every entry; a user reads only their own entry; anonymous clients
// and other users read nothing, so an anonymous search, or a search on a
// connection still bound as the previous user, finds nothing or is refused.
//
// slapd is configured with "allow bind_anon_dn": a simple bind with a DN and
// an empty password succeeds, as an unauthenticated (anonymous) bind, as it
// does on Active Directory and many other servers. A client that takes a
// successful bind for a right password must refuse empty passwords itself,
// or it logs anyone in; against this directory, a test shows which it does.
//
// [Options.TLS] adds ldaps:// and StartTLS with a certificate for
// 127.0.0.1 and [TLSServerName], signed by a certificate authority made for
// the test ([Directory.CA]), which no system trusts.
//
// # Faults
//
// [Directory.Stop], [Directory.Restart], [Directory.Pause] and
// [Directory.Resume] make the directory down, back, hung (the kernel still
// accepts connections, nothing answers) and answering again, for tests of
// timeouts and reconnection.
//
// # Requirements
//
// slapd and slapadd (from /usr/sbin when not on PATH), the schema in
// /etc/ldap/schema and the back_mdb module in /usr/lib/ldap, as Debian's
// slapd package installs them; the system's slapd service need not run.
// Where they are missing, Start skips the test with a message saying what to
// install. When the environment variable CI is "true" it fails the test
// instead: in CI an integration test that silently skips proves nothing.
//
// # Programs
//
// [Launch] starts the same directory for a program that is not a test (the
// load harness, examples/loadtest): it returns an error instead of failing
// a test, [ErrNotInstalled] where OpenLDAP is missing, and the program ends
// the directory with [Directory.Close]. [Options.LDIF] gives it the
// program's own people; the fixture and the service account are there too.
//
// Pause needs Unix signals, and Linux's /proc to wait until slapd has
// stopped; elsewhere it fails the test rather than pretend the directory
// hangs.
package slapdtest
