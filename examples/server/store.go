package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
)

// storeFlags are the flags every command takes to find its database.
type storeFlags struct {
	db       string
	postgres string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.db, "db", "zulipauth.db", "SQLite database file")
	fs.StringVar(&s.postgres, "postgres", "", "PostgreSQL DSN (instead of -db)")
}

// open opens the store the flags name, applying migrations.
func (s *storeFlags) open(ctx context.Context) (*sqlstore.Store, error) {
	if s.postgres != "" {
		st, err := sqlstore.Open(ctx, "postgres", s.postgres)
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL: %w", err)
		}
		return st, nil
	}
	st, err := sqlstore.Open(ctx, "sqlite", s.db)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", s.db, err)
	}
	return st, nil
}
