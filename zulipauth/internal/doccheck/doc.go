// Package doccheck holds a test and nothing else: that every identifier the
// module's doc comments name exists. A doc comment that names a removed or
// renamed function, type, field or method misleads a reader of pkg.go.dev
// and no compiler sees it; this test does.
package doccheck
