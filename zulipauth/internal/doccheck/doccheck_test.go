package doccheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// module is this module's path, and root its directory from here.
const (
	module = "github.com/zulipauth/zulipauth-go"
	root   = "../../.."
)

// pkg is what a package declares: its top-level names and each type's
// members (fields, methods, interface methods, and those of embedded
// types of the same package).
type pkg struct {
	dir, name, path string
	names           map[string]bool
	members         map[string]map[string]bool
	embeds          map[string][]string
	// external are the names of packages from outside the module that it
	// imports (as their last path element), which its comments may name.
	external map[string]bool
	files    []*ast.File
	fset     *token.FileSet
}

func (p *pkg) hasMember(typ, member string) bool {
	seen := map[string]bool{}
	var has func(t string) bool
	has = func(t string) bool {
		if seen[t] {
			return false
		}
		seen[t] = true
		if p.members[t][member] {
			return true
		}
		for _, e := range p.embeds[t] {
			if has(e) {
				return true
			}
		}
		return false
	}
	return has(typ)
}

// load reads every package of the module but its testdata and node_modules.
func load(t *testing.T) map[string]*pkg {
	t.Helper()
	byPath := map[string]*pkg{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		dir := filepath.Dir(p)
		rel, _ := filepath.Rel(root, dir)
		ip := path.Join(module, filepath.ToSlash(rel))
		pk := byPath[ip]
		if pk == nil {
			pk = &pkg{dir: dir, path: ip, names: map[string]bool{}, members: map[string]map[string]bool{},
				embeds: map[string][]string{}, external: map[string]bool{}, fset: token.NewFileSet()}
			byPath[ip] = pk
		}
		f, err := parser.ParseFile(pk.fset, p, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		pk.name = f.Name.Name
		pk.files = append(pk.files, f)
		declare(pk, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(byPath) < 10 {
		t.Fatalf("found %d packages under %s: the walk went wrong", len(byPath), root)
	}
	return byPath
}

func declare(p *pkg, f *ast.File) {
	member := func(typ, name string) {
		if p.members[typ] == nil {
			p.members[typ] = map[string]bool{}
		}
		p.members[typ][name] = true
	}
	for _, imp := range f.Imports {
		ip := strings.Trim(imp.Path.Value, `"`)
		if !strings.HasPrefix(ip, module) {
			base := path.Base(ip)
			if len(base) > 1 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" {
				base = path.Base(path.Dir(ip))
			}
			p.external[base] = true
			if imp.Name != nil {
				p.external[imp.Name.Name] = true
			}
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				p.names[d.Name.Name] = true
				continue
			}
			member(recvType(d.Recv.List[0].Type), d.Name.Name)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.ValueSpec:
					for _, n := range s.Names {
						p.names[n.Name] = true
					}
				case *ast.TypeSpec:
					p.names[s.Name.Name] = true
					switch tt := s.Type.(type) {
					case *ast.StructType:
						for _, fl := range tt.Fields.List {
							if len(fl.Names) == 0 {
								e := recvType(fl.Type)
								member(s.Name.Name, e)
								p.embeds[s.Name.Name] = append(p.embeds[s.Name.Name], e)
							}
							for _, n := range fl.Names {
								member(s.Name.Name, n.Name)
							}
						}
					case *ast.InterfaceType:
						for _, m := range tt.Methods.List {
							for _, n := range m.Names {
								member(s.Name.Name, n.Name)
							}
						}
					}
				}
			}
		}
	}
}

// recvType is the name of a receiver's or an embedded field's type.
func recvType(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return recvType(t.X)
	case *ast.IndexExpr:
		return recvType(t.X)
	case *ast.IndexListExpr:
		return recvType(t.X)
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.Ident:
		return t.Name
	}
	return ""
}

var (
	// link is a doc link: [Name], [Type.Member], [pkg.Name], [pkg.Type.Member].
	link = regexp.MustCompile(`\[\*?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*){0,2})\]`)
	// qualified is pkg.Name or pkg.Type.Member in running text.
	qualified = regexp.MustCompile(`\b([a-z][a-z0-9]*)\.([A-Z]\w*)(?:\.([A-Z]\w*))?`)
	// selector is Type.Member in running text.
	selector = regexp.MustCompile(`\b([A-Z]\w*)\.([A-Z]\w*)\b`)
)

// Pins drift between the docs and the code: doc comments named a MaxKeys
// that did not exist, and after a rename a comment goes on naming the old
// name with nothing to notice it.
func TestDocCommentsNameWhatExists(t *testing.T) {
	pkgs := load(t)
	byName := map[string][]*pkg{}
	for _, p := range pkgs {
		byName[p.name] = append(byName[p.name], p)
	}
	checked := 0
	for _, p := range pkgs {
		for _, f := range p.files {
			for _, cg := range f.Comments {
				text := cg.Text()
				where := p.fset.Position(cg.Pos())
				report := func(what string) {
					t.Errorf("%s:%d: the comment names %s, which does not exist", where.Filename, where.Line, what)
				}
				for _, m := range link.FindAllStringSubmatch(text, -1) {
					if first := strings.Split(m[1], ".")[0]; !startsUpper(first) && len(byName[first]) == 0 || m[1] == strings.ToUpper(m[1]) {
						continue // [flags], [COMMAND]: usage text, not a link
					}
					checked++
					if !resolves(p, byName, strings.Split(m[1], ".")) {
						report("[" + m[1] + "]")
					}
				}
				for _, m := range qualified.FindAllStringSubmatch(text, -1) {
					targets := byName[m[1]]
					if len(targets) == 0 || p.external[m[1]] {
						continue // the standard library's, or another module's
					}
					checked++
					if !anyHas(targets, m[2], m[3]) {
						report(strings.TrimSuffix(m[1]+"."+m[2]+"."+m[3], "."))
					}
				}
				for _, idx := range selector.FindAllStringSubmatchIndex(text, -1) {
					if idx[0] > 0 && text[idx[0]-1] == '.' {
						continue // part of pkg.Type.Member, checked above
					}
					typ, mem := text[idx[2]:idx[3]], text[idx[4]:idx[5]]
					if p.members[typ] == nil && !p.names[typ] {
						continue // not a type of this package
					}
					if _, isType := p.members[typ]; !isType {
						continue
					}
					checked++
					if !p.hasMember(typ, mem) {
						report(typ + "." + mem)
					}
				}
			}
		}
	}
	if checked < 200 {
		t.Fatalf("checked %d names: the scan went wrong", checked)
	}
	t.Logf("checked %d names in doc comments", checked)
}

// resolves reports whether the doc link's parts name something: in p, or
// in the module package or packages of that name, or outside the module.
func resolves(p *pkg, byName map[string][]*pkg, parts []string) bool {
	switch len(parts) {
	case 1:
		return p.names[parts[0]] || isBuiltin(parts[0])
	case 2:
		if p.members[parts[0]] != nil || p.names[parts[0]] {
			if p.hasMember(parts[0], parts[1]) {
				return true
			}
		}
		if targets := byName[parts[0]]; len(targets) > 0 {
			return anyHas(targets, parts[1], "")
		}
		return !p.names[parts[0]] // another module's or the standard library's package
	}
	if targets := byName[parts[0]]; len(targets) > 0 {
		return anyHas(targets, parts[1], parts[2])
	}
	return true
}

func anyHas(targets []*pkg, name, member string) bool {
	for _, t := range targets {
		if member == "" && t.names[name] {
			return true
		}
		if member != "" && t.hasMember(name, member) {
			return true
		}
	}
	return false
}

func startsUpper(s string) bool { return s != "" && 'A' <= s[0] && s[0] <= 'Z' }

func isBuiltin(s string) bool {
	switch s {
	case "error", "string", "int", "bool", "byte", "rune", "any", "nil":
		return true
	}
	return false
}

func TestMain(m *testing.M) {
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		panic("doccheck: run from its own folder: " + err.Error())
	}
	os.Exit(m.Run())
}
