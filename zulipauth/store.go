package zulipauth

import "context"

// UserStore is where a host application's users live. It is the one seam every
// deployment fills: backends/memstore and backends/sqlstore implement it, and
// an application can adapt its own users table by implementing these two
// methods and running backends/storetest against it.
//
// The contract, which backends/storetest checks:
//   - UserByEmail finds the user of realm whose delivery email equals email
//     ignoring letter case and surrounding white space (compare [FoldEmail]
//     forms). Users of other realms are never returned.
//   - UserByAPIKey finds the user whose API key equals key exactly (keys are
//     case-sensitive).
//   - "Not found" is [ErrUserNotFound] (possibly wrapped); any other error is
//     a fault of the store and becomes a 500 without detail.
//   - Every method honours ctx and is safe for concurrent use.
//
// Further capabilities are optional interfaces ([PasswordHashUpdater],
// [UserCreator], [APIKeyRegenerator], [RealmStore]) discovered by type
// assertion, so that a custom store keeps compiling as this package grows.
type UserStore interface {
	UserByEmail(ctx context.Context, realm, email string) (User, error)
	UserByAPIKey(ctx context.Context, key string) (User, error)
}

// PasswordHashUpdater is implemented by stores that can replace a user's
// password hash. backends/password uses it to upgrade a hash made with older
// parameters on the next correct login. An unknown id is [ErrUserNotFound].
type PasswordHashUpdater interface {
	UpdatePasswordHash(ctx context.Context, userID int64, hash string) error
}

// NewUser is what [UserCreator.CreateUser] needs to create an account.
type NewUser struct {
	Realm        string // subdomain; "" is the root realm
	Email        string // delivery email, stored as given (lookups fold case)
	FullName     string
	PasswordHash string // "" for an account without a usable password
}

// UserCreator is implemented by stores that can create users. The store
// assigns the id, a fresh API key ([GenerateAPIKey]) and the creation time.
// A duplicate email in the realm (ignoring case) is [ErrUserExists]; a realm
// the store does not know is [ErrRealmNotFound].
type UserCreator interface {
	CreateUser(ctx context.Context, u NewUser) (User, error)
}

// APIKeyRegenerator is implemented by stores that can replace a user's API
// key, as Zulip's POST /api/v1/users/me/api_key/regenerate does. The old key
// stops working at once. An unknown id is [ErrUserNotFound].
type APIKeyRegenerator interface {
	RegenerateAPIKey(ctx context.Context, userID int64) (newKey string, err error)
}

// RealmStore is implemented by stores that keep realms. When Config.Realms is
// nil and the UserStore is also a RealmStore, [New] resolves realms from it,
// so deactivating a realm in the store takes effect. An unknown subdomain is
// [ErrRealmNotFound].
type RealmStore interface {
	RealmBySubdomain(ctx context.Context, subdomain string) (Realm, error)
}

// UserWithRealmFinder is implemented by stores that can return a user and
// the user's realm in one lookup (a join). The API-key middleware uses it so
// that an authenticated request costs one store lookup; without it, the
// realm comes from Config.Realms. An unknown key is [ErrUserNotFound].
type UserWithRealmFinder interface {
	UserWithRealmByAPIKey(ctx context.Context, key string) (User, Realm, error)
}

// OtherRealmFinder is implemented by stores that can tell whether a realm
// other than realm has a user with the email (compared as [FoldEmail] does).
// backends/password then reports an unknown user whose address another realm
// has as [ErrWrongRealm]: the client still gets the generic 401 (newer Zulip
// reveals no other organization's accounts), and the server's audit
// (Event.Cause) sees why. The development login answers such an address
// with Zulip's 404 "Invalid subdomain", as Zulip's dev login does.
type OtherRealmFinder interface {
	EmailInOtherRealm(ctx context.Context, realm, email string) (bool, error)
}
