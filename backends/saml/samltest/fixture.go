package samltest

// iago: an email and a first name.
const (
	IagoUsername = "iago"           // the username of the IdP's login form
	IagoPassword = "iago-password"  // the password it accepts
	IagoEmail    = "iago@zulip.com" // the email: the NameID and the email attribute
	IagoName     = "Iago"           // first_name; last_name is empty
)

// hamlet: an email, a first and a last name.
const (
	HamletUsername = "hamlet"
	HamletPassword = "hamlet-password"
	HamletEmail    = "hamlet@zulip.com"
	HamletName     = "King Hamlet" // first_name "King", last_name "Hamlet"
)

// othello: no email, so the NameID is transient (and empty), and the
// email attribute is empty.
const (
	OthelloUsername = "othello"
	OthelloPassword = "othello-password"
	OthelloName     = "Othello"
)

// polonius: the IdP checks his password, then refuses the login with the
// status Responder/RequestDenied.
const (
	PoloniusUsername = "polonius"
	PoloniusPassword = "polonius-password"
	PoloniusEmail    = "polonius@zulip.com"
)

// fixture is every IdP's people, as the constants above describe them.
func fixture() []User {
	return []User{
		{Username: IagoUsername, Password: IagoPassword, Email: IagoEmail, FirstName: "Iago"},
		{Username: HamletUsername, Password: HamletPassword, Email: HamletEmail, FirstName: "King", LastName: "Hamlet"},
		{Username: OthelloUsername, Password: OthelloPassword, FirstName: "Othello"},
		{Username: PoloniusUsername, Password: PoloniusPassword, Email: PoloniusEmail, FirstName: "Polonius", Denied: true},
	}
}
