package slapdtest

import "strings"

// The directory's layout, the same in every Directory.
const (
	// Suffix is the naming context slapd serves: the base DN of every
	// search over the whole directory. Directory.BaseDN has the same value.
	Suffix = "dc=example,dc=org"
	// People is the organizational unit that holds the fixture's people
	// (bot in a unit below it), and a good parent for entries a test adds.
	People = "ou=people," + Suffix
	// UserDNTemplate finds the fixture's people by uid, with %s standing for
	// the escaped username, as Zulip's AUTH_LDAP_USER_DN_TEMPLATE does. It
	// does not reach bot (in a subtree) or jane (whose RDN is a cn).
	UserDNTemplate = "uid=%s," + People
	// ServiceDN is the service account, the only one allowed to read other
	// people's entries: the BindDN of search-then-bind.
	// Directory.ServiceDN has the same value.
	ServiceDN = "cn=service," + Suffix
	// ServicePassword is ServiceDN's password.
	// Directory.ServicePassword has the same value.
	ServicePassword = "service-secret"
	// TLSServerName is the DNS name in the certificate of a directory
	// started with Options.TLS, besides the IP address 127.0.0.1; nothing
	// resolves it, so use it as a TLS server name, not in a URL.
	TLSServerName = "ldap.test"
)

// hamlet: uid=hamlet in People, cn "King Hamlet", displayName
// "Prince Hamlet", mail hamlet@zulip.com, o "zulip" (a member of the zulip
// organisation only).
const (
	HamletUID         = "hamlet"               // uid, and the RDN
	HamletDN          = "uid=hamlet," + People // the entry's DN
	HamletMail        = "hamlet@zulip.com"     // mail
	HamletPassword    = "hamlet-password"      // the password that binds as HamletDN
	HamletDisplayName = "Prince Hamlet"        // displayName; cn and sn are "King Hamlet"
)

// othello: uid=othello in People, cn "Othello", no displayName, mail
// othello@zulip.com, o "lear" and "WWW" (a member of lear and, by Zulip's
// alias www, of the root organisation).
const (
	OthelloUID      = "othello"               // uid, and the RDN
	OthelloDN       = "uid=othello," + People // the entry's DN
	OthelloMail     = "othello@zulip.com"     // mail
	OthelloPassword = "othello-password"      // the password that binds as OthelloDN
)

// jane: cn "Doe, Jane" in People, her RDN a value with a comma
// (cn=Doe\, Jane), uid jane, mail jane@zulip.com.
const (
	JaneCN       = "Doe, Jane"               // cn, and the RDN's value unescaped
	JaneUID      = "jane"                    // uid
	JaneDN       = `cn=Doe\, Jane,` + People // the entry's DN; slapd writes it cn=Doe\2C Jane,...: the same DN
	JaneMail     = "jane@zulip.com"          // mail
	JanePassword = "jane-password"           // the password that binds as JaneDN
)

// bot: uid=bot in ou=bots under People, cn "Bot", mail bot@zulip.com. A
// search of the whole subtree finds it; UserDNTemplate does not, unless a
// username such as "bot,ou=bots" reaches the DN unescaped.
const (
	BotUID      = "bot"                       // uid, and the RDN
	BotDN       = "uid=bot,ou=bots," + People // the entry's DN
	BotMail     = "bot@zulip.com"             // mail
	BotPassword = "bot-password"              // the password that binds as BotDN
)

// nomail: uid=nomail in People, cn "No Mail", without a mail attribute.
const (
	NoMailUID      = "nomail"               // uid, and the RDN
	NoMailDN       = "uid=nomail," + People // the entry's DN
	NoMailPassword = "nomail-password"      // the password that binds as NoMailDN
)

// twin1 and twin2: uid=twin1 and uid=twin2 in People, one mail for both,
// and one password: an email that names two entries.
const (
	Twin1UID     = "twin1"               // uid, and the RDN, of the first
	Twin1DN      = "uid=twin1," + People // the first entry's DN
	Twin2UID     = "twin2"               // uid, and the RDN, of the second
	Twin2DN      = "uid=twin2," + People // the second entry's DN
	TwinsMail    = "twins@zulip.com"     // mail of both
	TwinPassword = "twin-password"       // the password that binds as either
)

// fixtureLDIF is every directory's content, as the package comment and the
// constants above describe it.
func fixtureLDIF() string {
	entries := []string{
		"dn: " + Suffix + "\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
		"dn: " + People + "\nobjectClass: organizationalUnit\nou: people",
		"dn: ou=bots," + People + "\nobjectClass: organizationalUnit\nou: bots",
		"dn: " + ServiceDN + "\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: service\nuserPassword: " + SSHA(ServicePassword),
		Person(HamletDN, HamletUID, "King Hamlet", HamletMail, HamletPassword, "displayName: "+HamletDisplayName, "o: zulip"),
		Person(OthelloDN, OthelloUID, "Othello", OthelloMail, OthelloPassword, "o: lear", "o: WWW"),
		Person(JaneDN, JaneUID, JaneCN, JaneMail, JanePassword),
		Person(BotDN, BotUID, "Bot", BotMail, BotPassword),
		Person(NoMailDN, NoMailUID, "No Mail", "", NoMailPassword),
		Person(Twin1DN, Twin1UID, "Twin One", TwinsMail, TwinPassword),
		Person(Twin2DN, Twin2UID, "Twin Two", TwinsMail, TwinPassword),
	}
	return strings.Join(entries, "\n\n") + "\n"
}
