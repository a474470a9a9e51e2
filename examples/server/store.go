package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
)

// defaultDB is the SQLite database the commands use without -db.
const defaultDB = "zulipauth.db"

// storeFlags are the flags every command takes to find its database.
type storeFlags struct {
	db       string
	postgres string
	dbSet    bool // -db was given on the command line
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.db, "db", defaultDB, "SQLite database file")
	fs.StringVar(&s.postgres, "postgres", "", "PostgreSQL DSN, e.g. postgres://USER:PASS@HOST:5432/DB (instead of -db)")
}

// check reads which of the flags fs parsed were given, and refuses both
// databases at once.
func (s *storeFlags) check(fs *flag.FlagSet) error {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "db" {
			s.dbSet = true
		}
	})
	if s.dbSet && s.postgres != "" {
		return fmt.Errorf("%w: give -db (SQLite) or -postgres (PostgreSQL), not both", errUsage)
	}
	return nil
}

// open opens the store the flags name, applying migrations. A SQLite file
// that does not exist yet is created only where create is true (the server
// itself, and the commands that create realms and users); elsewhere the
// missing database is an error, not a new empty one.
func (s *storeFlags) open(ctx context.Context, create bool) (*sqlstore.Store, error) {
	if s.postgres != "" {
		st, err := sqlstore.Open(ctx, "postgres", s.postgres)
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL: %w", err)
		}
		return st, nil
	}
	if err := s.checkSQLitePath(create); err != nil {
		return nil, err
	}
	st, err := sqlstore.Open(ctx, "sqlite", s.db)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", s.db, err)
	}
	return st, nil
}

// checkSQLitePath says in plain words what SQLite would report as "unable
// to open database file".
func (s *storeFlags) checkSQLitePath(create bool) error {
	info, err := os.Stat(s.db)
	switch {
	case err == nil && info.IsDir():
		return fmt.Errorf("-db %s is a folder: give the path of a database file, e.g. %s", s.db, filepath.Join(s.db, defaultDB))
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("-db %s: %w", s.db, err)
	}
	dir := filepath.Dir(s.db)
	if d, err := os.Stat(dir); err != nil || !d.IsDir() {
		return fmt.Errorf("-db %s: the folder %s does not exist: create it, or give a -db path in an existing folder", s.db, dir)
	}
	if !create {
		return fmt.Errorf("-db %s: there is no database there: create-realm or create-user creates one, or give -db the path of the existing database", s.db)
	}
	return nil
}
