package password_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Regression test: MaxParams was a mutable exported variable, so any
// importer could widen the bounds on stored hashes for the whole process and
// let a tampered row ask for gigabytes. It is now a copy: widening it
// changes neither the bounds nor what a login or CheckHash accepts.
func TestMaxParamsCannotBeWidened(t *testing.T) {
	t.Parallel()
	before := password.MaxParams()
	wide := password.MaxParams()
	wide.Memory *= 16
	wide.Iterations *= 100
	if password.MaxParams() != before {
		t.Fatal("changing MaxParams' result changed MaxParams")
	}
	tooMany := "$argon2id$v=19$m=64,t=1000,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWtleXNvbWVrZXlzb21la2V5c29tZWtleTEy"
	if err := password.CheckHash(tooMany); !errors.Is(err, password.ErrInvalidHash) {
		t.Fatalf("CheckHash after widening the copy: %v, want ErrInvalidHash", err)
	}
	store := memstore.New()
	if _, err := password.New(store, password.WithParams(wide)); err == nil {
		t.Fatal("New accepted parameters beyond the bounds")
	}
	a, err := password.New(store, password.WithParams(cheap), password.WithInsecureFastFailures())
	if err != nil {
		t.Fatal(err)
	}
	store.CreateUser(ctx, zulipauth.NewUser{Email: "Iago@zulip.com", PasswordHash: tooMany})
	if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "x")); !errors.Is(err, zulipauth.ErrBadCredentials) {
		t.Fatalf("login against t=1000: %v, want ErrBadCredentials", err)
	}
}

// The package's only exported variables are its sentinel errors. A bound or
// a default declared as a variable again would let any importer change it
// for the whole process; this test fails first.
func TestNoMutableBounds(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var vars, funcs []string
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					funcs = append(funcs, d.Name.Name)
				}
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, s := range d.Specs {
					for _, n := range s.(*ast.ValueSpec).Names {
						if n.IsExported() && !strings.HasPrefix(n.Name, "Err") {
							vars = append(vars, n.Name)
						}
					}
				}
			}
		}
	}
	if len(vars) > 0 {
		t.Errorf("exported variables other than errors: %v, want none", vars)
	}
	for _, f := range []string{"MaxParams", "DefaultParams"} {
		if !slices.Contains(funcs, f) {
			t.Errorf("%s is not a function (exported functions: %v)", f, funcs)
		}
	}
}

// DefaultParams stays usable where the package's users take its address.
func TestDefaultParamsUsable(t *testing.T) {
	t.Parallel()
	a, err := password.New(memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	h, err := a.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	want := "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(h, want) {
		t.Fatalf("default hash begins %.31q, want %q", h, want)
	}
	if err := password.CheckHash(h); err != nil {
		t.Fatal(err)
	}
}
