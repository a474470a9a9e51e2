package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
)

// defaultDB is the SQLite database the commands use without -db.
const defaultDB = "zulipauth.db"

// storeFlags are the flags every command takes to find its database.
type storeFlags struct {
	db       string
	postgres string
	dbSet    bool // -db was given on the command line
	// log, when set (serve), receives pgx's own log (see pgxLogger).
	log *slog.Logger
	// registered is the name openPostgres registered its connection
	// settings under, which closeStore forgets.
	registered string
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

// A command may create a database only where there is none: a SQLite file
// that does not exist or is empty, a PostgreSQL schema without tables. Any
// other database must be zulipauth's already, and is migrated to the current
// schema when it is opened (even by a command that then fails, as serve
// would migrate it). One that is not (another application's file, a file
// that is not SQLite, a device) is refused before anything writes to it, so
// a command given the wrong -db never changes it.

// sqliteFile is what -db names, as found before SQLite opens it.
type sqliteFile int

const (
	sqliteDatabase sqliteFile = iota // a SQLite database, zulipauth's or not
	sqliteMissing                    // no file yet
	sqliteEmpty                      // an empty file
)

// open opens the store the flags name, in place, for serve. A SQLite file
// that does not exist yet, or is empty, is created only where create is true;
// elsewhere the missing database is an error, not a new empty one.
func (s *storeFlags) open(ctx context.Context, create bool) (*sqlstore.Store, error) {
	if s.postgres != "" {
		return s.openPostgres(ctx, create)
	}
	kind, err := s.checkSQLitePath(create)
	if err != nil {
		return nil, err
	}
	creation := sqlstore.CreateSchemaNever
	if kind != sqliteDatabase {
		creation = sqlstore.CreateSchemaInEmpty // create is true: checkSQLitePath said so
	}
	return s.openSQLite(ctx, s.db, creation)
}

// withStore opens the store the flags name for one admin command, runs f on
// it and closes it. A command that creates (create is true) may create the
// database, but only where there is none, and only if it succeeds: on
// SQLite it builds the new database in a file of its own beside -db, and puts
// it in place once f has succeeded, so a command that fails leaves no
// database behind. What f prints on stdout is held until then.
func (s *storeFlags) withStore(ctx context.Context, create bool, stdout io.Writer, f func(st *sqlstore.Store, stdout io.Writer) error) error {
	if s.postgres != "" {
		// PostgreSQL has no file to build beside: a command that creates
		// works in the schema, and one that fails after creating it leaves
		// zulipauth's empty tables there.
		st, err := s.openPostgres(ctx, create)
		if err != nil {
			return err
		}
		defer s.closeStore(st)
		return f(st, stdout)
	}
	kind, err := s.checkSQLitePath(create)
	if err != nil {
		return err
	}
	if kind == sqliteDatabase {
		st, err := s.openSQLite(ctx, s.db, sqlstore.CreateSchemaNever)
		if err != nil {
			return err
		}
		defer st.Close()
		return f(st, stdout)
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	tmp := filepath.Join(filepath.Dir(s.db), "."+filepath.Base(s.db)+".new-"+hex.EncodeToString(suffix[:]))
	defer removeSQLite(tmp)
	st, err := s.openSQLite(ctx, tmp, sqlstore.CreateSchemaInEmpty)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	err = f(st, &out)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("-db %s: finishing the new database: %w", s.db, cerr)
	}
	if err != nil {
		return err
	}
	if err := s.putInPlace(tmp, kind); err != nil {
		return err
	}
	_, err = stdout.Write(out.Bytes())
	return err
}

// putInPlace makes the complete SQLite database at tmp the file -db names,
// which was missing or empty, and refuses if another process has made it
// something else since.
func (s *storeFlags) putInPlace(tmp string, was sqliteFile) error {
	if _, err := os.Stat(tmp + "-wal"); err == nil {
		// Closing the last connection folds the WAL into the file; without
		// that the file alone would miss the command's changes.
		return fmt.Errorf("-db %s: the new database was not finished (its -wal file is left); nothing was changed", s.db)
	}
	meanwhile := fmt.Errorf("-db %s: another process made a database there while this command ran; nothing was changed: run the command again", s.db)
	if was == sqliteMissing {
		// A hard link is atomic and never replaces a file.
		switch err := os.Link(tmp, s.db); {
		case err == nil:
			return nil
		case errors.Is(err, fs.ErrExist):
			return meanwhile
		}
	}
	// An empty file keeps its permissions and owner: the database is
	// copied into it. (Also where the file system cannot link.)
	flags := os.O_WRONLY
	if was == sqliteMissing {
		flags |= os.O_CREATE | os.O_EXCL
	}
	dst, err := os.OpenFile(s.db, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return meanwhile
	}
	if err != nil {
		return fmt.Errorf("-db %s: %w", s.db, err)
	}
	defer dst.Close()
	if info, err := dst.Stat(); err != nil || info.Size() != 0 {
		return meanwhile
	}
	src, err := os.Open(tmp)
	if err != nil {
		return fmt.Errorf("-db %s: %w", s.db, err)
	}
	defer src.Close()
	if _, err := io.Copy(dst, src); err != nil {
		dst.Truncate(0)
		return fmt.Errorf("-db %s: writing the new database: %w; nothing was changed", s.db, err)
	}
	if err := dst.Sync(); err != nil {
		dst.Truncate(0)
		return fmt.Errorf("-db %s: writing the new database: %w; nothing was changed", s.db, err)
	}
	return dst.Close()
}

// removeSQLite removes a SQLite database file and the files beside it.
func removeSQLite(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(path + suffix)
	}
}

// openSQLite opens the SQLite database at path (-db, or the new file a
// command builds beside it), putting sqlstore's refusal in the words of -db.
func (s *storeFlags) openSQLite(ctx context.Context, path string, creation sqlstore.SchemaCreation) (*sqlstore.Store, error) {
	st, err := sqlstore.Open(ctx, "sqlite", path, sqlstore.WithSchemaCreation(creation))
	var refused *sqlstore.SchemaError
	switch {
	case errors.As(err, &refused) && len(refused.Tables) > 0:
		return nil, fmt.Errorf("-db %s is not a zulipauth database (it has tables of its own: %s); %s", s.db, tableList(refused.Tables), giveSQLite)
	case errors.As(err, &refused):
		return nil, fmt.Errorf("-db %s is not a zulipauth database (it is a SQLite database without tables, which another program made); %s", s.db, giveSQLite)
	case err != nil:
		return nil, fmt.Errorf("opening %s: %w", s.db, err)
	}
	return st, nil
}

// giveSQLite says what to do about a -db that is not zulipauth's.
const giveSQLite = "give -db a zulipauth database, or a new file with create-realm"

// defaultConnectTimeout bounds each connection to PostgreSQL when the DSN
// sets no connect_timeout: pgx's default is none, so a black-holed address
// would hold serve at start for the system's TCP timeout (two minutes on
// Linux), silently.
const defaultConnectTimeout = 10 * time.Second

// openPostgres opens the database -postgres names. The DSN is parsed here
// and its settings registered with pgx's database/sql driver, so that the
// connections have a bound (defaultConnectTimeout) and, for serve, pgx's
// log goes to the server's; an error names what is wrong in plain words
// (postgresFault), never the DSN, which may hold the password.
func (s *storeFlags) openPostgres(ctx context.Context, create bool) (*sqlstore.Store, error) {
	creation := sqlstore.CreateSchemaNever
	if create {
		creation = sqlstore.CreateSchemaInEmpty
	}
	cfg, err := pgx.ParseConfig(s.postgres)
	if err != nil {
		// pgx's message quotes the DSN, its password replaced as well as
		// pgx can tell which part is one; what follows the quote is enough.
		why := err.Error()
		if i := strings.LastIndex(why, "`: "); i >= 0 {
			why = why[i+3:]
		}
		return nil, fmt.Errorf("%w: -postgres is not a PostgreSQL DSN (%s): give postgres://USER:PASSWORD@HOST:5432/DATABASE", errUsage, why)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	var tracer *pgxTracer
	if s.log != nil {
		tracer = newPgxTracer(s.log)
		cfg.Tracer = tracer
	}
	s.registered = stdlib.RegisterConnConfig(cfg)
	st, err := sqlstore.Open(ctx, "postgres", s.registered, sqlstore.WithSchemaCreation(creation))
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		stdlib.UnregisterConnConfig(s.registered)
		f, todo := postgresFault(err, cfg.Host, cfg.Port, cfg.User, cfg.Database)
		return nil, fmt.Errorf("-postgres: %s: %s", f.what, todo)
	}
	if err != nil {
		stdlib.UnregisterConnConfig(s.registered)
	}
	if err == nil && tracer != nil {
		tracer.armed.Store(true) // a failure at start is the error above, not a log line
	}
	var refused *sqlstore.SchemaError
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &refused) && len(refused.Tables) > 0:
		return nil, fmt.Errorf("-postgres: the database is not zulipauth's (its schema has tables of its own: %s); give -postgres zulipauth's database (its search_path parameter names the schema), or an empty schema with create-realm", tableList(refused.Tables))
	case errors.As(err, &refused):
		return nil, errors.New("-postgres: there is no zulipauth database there (its schema is empty): create-realm or create-user creates one, or give -postgres the existing database (its search_path parameter names the schema)")
	case errors.As(err, &pgErr) && pgErr.Code == "3F000": // invalid_schema_name
		sp := cfg.RuntimeParams["search_path"]
		return nil, fmt.Errorf("-postgres: the database %q has no schema %q (the DSN's search_path): create it first (CREATE SCHEMA %s AUTHORIZATION %s), or correct search_path", cfg.Database, sp, sp, cfg.User)
	case err != nil:
		return nil, fmt.Errorf("opening PostgreSQL: %w", err)
	}
	return st, nil
}

// closeStore closes st, which open made, and forgets the connection
// settings openPostgres registered for it.
func (s *storeFlags) closeStore(st *sqlstore.Store) error {
	err := st.Close()
	if s.registered != "" {
		stdlib.UnregisterConnConfig(s.registered)
		s.registered = ""
	}
	return err
}

// tableList names the first few tables.
func tableList(tables []string) string {
	const max = 5
	if len(tables) > max {
		return fmt.Sprintf("%s and %d more", strings.Join(tables[:max], ", "), len(tables)-max)
	}
	return strings.Join(tables, ", ")
}

// sqliteHeader is how every SQLite database file begins.
const sqliteHeader = "SQLite format 3\x00"

// checkSQLitePath looks at -db before SQLite opens it, refuses what no
// command should open (a folder, a device, a fifo, a file that is not
// SQLite, and, where create is false, a missing or empty file), and says so
// in plain words instead of SQLite's "unable to open database file" or
// "disk I/O error".
func (s *storeFlags) checkSQLitePath(create bool) (sqliteFile, error) {
	info, err := os.Stat(s.db)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		dir := filepath.Dir(s.db)
		if d, err := os.Stat(dir); err != nil || !d.IsDir() {
			return 0, fmt.Errorf("-db %s: the folder %s does not exist: create it, or give a -db path in an existing folder", s.db, dir)
		}
		if !create {
			return 0, fmt.Errorf("-db %s: there is no database there: create-realm or create-user creates one, or give -db the path of the existing database", s.db)
		}
		return sqliteMissing, nil
	case err != nil:
		return 0, fmt.Errorf("-db %s: %w", s.db, err)
	case info.IsDir():
		return 0, fmt.Errorf("-db %s is a folder: give the path of a database file, e.g. %s", s.db, filepath.Join(s.db, defaultDB))
	case !info.Mode().IsRegular():
		// SQLite would open it: /dev/null reads as an empty database and
		// its journal, /dev/null-journal, would be created beside it.
		return 0, fmt.Errorf("-db %s is not a regular file (it is %s); give -db the path of a zulipauth database file, or of a new file with create-realm", s.db, fileKind(info.Mode()))
	case info.Size() == 0 && !create:
		return 0, fmt.Errorf("-db %s is an empty file, not a zulipauth database: create-realm or create-user creates one in it, or give -db the path of the existing database", s.db)
	case info.Size() == 0:
		return sqliteEmpty, nil
	}
	f, err := os.Open(s.db)
	if err != nil {
		return 0, fmt.Errorf("-db %s: %w", s.db, err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != sqliteHeader {
		return 0, fmt.Errorf("-db %s is not a zulipauth database (it is not a SQLite database at all); %s", s.db, giveSQLite)
	}
	return sqliteDatabase, nil
}

// fileKind names a file type that is not a regular file's.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a fifo"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}
