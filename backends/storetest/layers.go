package storetest

import (
	"context"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// RealmAdmin is implemented by stores whose realms can be created and
// changed (backends/memstore and backends/sqlstore): the layer of the same
// name checks it, and other layers use it to make a second realm.
type RealmAdmin interface {
	// CreateRealm adds a realm with every field of r. A subdomain that
	// already exists (the root realm "" included) is
	// zulipauth.ErrRealmExists; one that no request can reach (see
	// zulipauth.ValidSubdomain) is zulipauth.ErrInvalidSubdomain. Neither
	// creates or changes a realm.
	CreateRealm(ctx context.Context, r zulipauth.Realm) error
	// UpdateRealm replaces every field of the realm with r's subdomain. An
	// unknown subdomain is zulipauth.ErrRealmNotFound; no realm is created.
	UpdateRealm(ctx context.Context, r zulipauth.Realm) error
}

// UserDeactivator is implemented by stores that can deactivate a user, so
// that zulipauth refuses the user's logins and API requests.
type UserDeactivator interface {
	// SetUserDeactivated deactivates (true) or reactivates (false) a user.
	// An unknown id is zulipauth.ErrUserNotFound.
	SetUserDeactivated(ctx context.Context, userID int64, deactivated bool) error
}

// PasswordResetRequirer is implemented by stores that can flag a user's
// password for a reset (zulipauth.ErrPasswordResetRequired at login).
type PasswordResetRequirer interface {
	// SetPasswordResetRequired sets (true) or clears (false) the user's
	// required password reset. An unknown id is zulipauth.ErrUserNotFound.
	SetPasswordResetRequired(ctx context.Context, userID int64, required bool) error
}

// capability is one interface a store may implement.
type capability struct {
	name string // as a skipped sub-test names it
	in   func(s zulipauth.UserStore) bool
}

func implements[I any](name string) capability {
	return capability{name, func(s zulipauth.UserStore) bool { _, ok := s.(I); return ok }}
}

var (
	capUserStore             = implements[zulipauth.UserStore]("zulipauth.UserStore")
	capUserCreator           = implements[zulipauth.UserCreator]("zulipauth.UserCreator")
	capAPIKeyRegenerator     = implements[zulipauth.APIKeyRegenerator]("zulipauth.APIKeyRegenerator")
	capPasswordHashUpdater   = implements[zulipauth.PasswordHashUpdater]("zulipauth.PasswordHashUpdater")
	capRealmStore            = implements[zulipauth.RealmStore]("zulipauth.RealmStore")
	capRealmAdmin            = implements[RealmAdmin]("storetest.RealmAdmin (CreateRealm, UpdateRealm)")
	capUserDeactivator       = implements[UserDeactivator]("storetest.UserDeactivator (SetUserDeactivated)")
	capPasswordResetRequirer = implements[PasswordResetRequirer]("storetest.PasswordResetRequirer (SetPasswordResetRequired)")
	capUserWithRealmFinder   = implements[zulipauth.UserWithRealmFinder]("zulipauth.UserWithRealmFinder")
	capOtherRealmFinder      = implements[zulipauth.OtherRealmFinder]("zulipauth.OtherRealmFinder")
	capChangeFeed            = implements[zulipauth.ChangeFeed]("zulipauth.ChangeFeed")
	capFlowStore             = implements[zulipauth.FlowStore]("zulipauth.FlowStore")
)

// lacks returns the name of the first capability in needs that s lacks.
func lacks(s zulipauth.UserStore, needs []capability) (string, bool) {
	for _, c := range needs {
		if !c.in(s) {
			return c.name, true
		}
	}
	return "", false
}

// layer is the sub-test of one capability. It runs when the store has every
// capability in needs (the first is the layer's own); a test of the layer
// may need more, and is skipped alone when the store lacks them.
type layer struct {
	name  string
	needs []capability
	tests []test
}

type test struct {
	name  string
	needs []capability
	run   func(t *testing.T, f *fixture)
}

// layers is the suite, in the order it runs. A new optional capability of
// the core (a change feed, say) is one more entry here and a file of its
// tests.
var layers = []layer{
	{"Core", []capability{capUserStore}, coreTests},
	{"UserCreator", []capability{capUserCreator}, creatorTests},
	{"APIKeyRegenerator", []capability{capAPIKeyRegenerator}, regeneratorTests},
	{"PasswordHashUpdater", []capability{capPasswordHashUpdater}, hashUpdaterTests},
	{"RealmStore", []capability{capRealmStore}, realmStoreTests},
	{"RealmAdmin", []capability{capRealmAdmin, capRealmStore}, realmAdminTests},
	{"UserDeactivator", []capability{capUserDeactivator}, deactivatorTests},
	{"PasswordResetRequirer", []capability{capPasswordResetRequirer}, resetRequirerTests},
	{"UserWithRealmFinder", []capability{capUserWithRealmFinder, capRealmStore}, userWithRealmTests},
	{"OtherRealmFinder", []capability{capOtherRealmFinder}, otherRealmTests},
	{"ChangeFeed", []capability{capChangeFeed}, changeFeedTests},
	{"FlowStore", []capability{capFlowStore}, flowStoreTests},
}
