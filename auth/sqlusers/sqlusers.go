// Package sqlusers is an auth.UserProvider over PostgreSQL or
// MySQL/MariaDB: one query maps a username to the user's id, username,
// stored password hash and, optionally, roles.
//
// By default it reads Oro's own tables:
//
//	oro_user              (id, username, password, ...)
//	oro_user_access_role  (user_id, role_id)
//	oro_access_role       (id, role, ...)
//
// Any other schema works with a query of one's own (see [New]).
package sqlusers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/heraldws/herald/auth"
)

// Dialects.
const (
	Postgres = "postgres"
	MySQL    = "mysql" // MySQL and MariaDB
)

// DefaultPostgresQuery reads a user of Oro's oro_user table with its roles
// (oro_access_role.role, such as ROLE_ADMINISTRATOR) joined in as one
// comma-separated column. It matches the username exactly, as Oro's
// UserLoader does.
const DefaultPostgresQuery = `SELECT u.id, u.username, u.password,
  COALESCE(string_agg(r.role, ',' ORDER BY r.role), '') AS roles
FROM oro_user u
LEFT JOIN oro_user_access_role ur ON ur.user_id = u.id
LEFT JOIN oro_access_role r ON r.id = ur.role_id
WHERE u.username = $1
GROUP BY u.id, u.username, u.password`

// DefaultMySQLQuery is DefaultPostgresQuery for MySQL and MariaDB. With
// MySQL's usual case-insensitive collations the username match is
// case-insensitive, as it is for Oro on MySQL.
const DefaultMySQLQuery = `SELECT u.id, u.username, u.password,
  COALESCE(GROUP_CONCAT(r.role ORDER BY r.role SEPARATOR ','), '') AS roles
FROM oro_user u
LEFT JOIN oro_user_access_role ur ON ur.user_id = u.id
LEFT JOIN oro_access_role r ON r.id = ur.role_id
WHERE u.username = ?
GROUP BY u.id, u.username, u.password`

// Pool settings that Open, OpenPostgres and OpenMySQL apply.
const (
	DefaultMaxOpenConns    = 10
	DefaultMaxIdleConns    = 5
	DefaultConnMaxLifetime = 30 * time.Minute
	DefaultConnMaxIdleTime = 5 * time.Minute
)

// DefaultTimeout bounds one lookup when Provider.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Provider looks users up with one SQL query. It is safe for concurrent
// use; put an auth.CachedUsers in front of it to spare the database.
type Provider struct {
	// Timeout bounds one lookup. Zero means DefaultTimeout. Set it
	// before first use.
	Timeout time.Duration

	db      *sql.DB
	dialect string
	query   string
}

// New returns a provider running query on db, which the caller keeps
// owning (Close does not close it).
//
// dialect is Postgres or MySQL. query "" means the dialect's default query
// for Oro's tables. Otherwise query takes the username as its one
// parameter ($1 for PostgreSQL, ? for MySQL) and returns at most one row of
// three or four columns, in this order:
//
//	id, username, password hash [, roles]
//
// id may be any type that converts to text; a NULL or empty username
// column means the username asked for; roles is text with roles separated
// by commas (a PostgreSQL text[] also works). For example, roles kept
// elsewhere:
//
//	SELECT u.id, u.email, u.pw_hash, (SELECT string_agg(name, ',')
//	  FROM user_roles WHERE user_id = u.id) FROM users u WHERE u.email = $1
func New(db *sql.DB, dialect, query string) (*Provider, error) {
	if db == nil {
		return nil, errors.New("sqlusers: nil *sql.DB")
	}
	switch dialect {
	case Postgres:
		if query == "" {
			query = DefaultPostgresQuery
		}
	case MySQL:
		if query == "" {
			query = DefaultMySQLQuery
		}
	default:
		return nil, fmt.Errorf("sqlusers: dialect %q: want %q or %q", dialect, Postgres, MySQL)
	}
	return &Provider{db: db, dialect: dialect, query: query}, nil
}

// Dialect returns the provider's dialect.
func (p *Provider) Dialect() string { return p.dialect }

// Query returns the query the provider runs.
func (p *Provider) Query() string { return p.query }

// LookupUser implements auth.UserProvider.
func (p *Provider) LookupUser(ctx context.Context, username string) (*auth.User, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	rows, err := p.db.QueryContext(ctx, p.query, username)
	if err != nil {
		return nil, fmt.Errorf("sqlusers: look up %q: %w", username, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("sqlusers: look up %q: columns: %w", username, err)
	}
	if len(cols) != 3 && len(cols) != 4 {
		return nil, fmt.Errorf("sqlusers: look up %q: query returns %d columns, want 3 (id, username, password) or 4 (and roles)", username, len(cols))
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlusers: look up %q: %w", username, err)
		}
		return nil, fmt.Errorf("sqlusers: look up %q: %w", username, auth.ErrUserNotFound)
	}
	var id, name, hash, roles sql.NullString
	dest := []any{&id, &name, &hash, &roles}[:len(cols)]
	if err := rows.Scan(dest...); err != nil {
		return nil, fmt.Errorf("sqlusers: look up %q: scan: %w", username, err)
	}
	if rows.Next() {
		return nil, fmt.Errorf("sqlusers: look up %q: query returned more than one row", username)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlusers: look up %q: %w", username, err)
	}
	u := &auth.User{ID: id.String, Username: name.String, PasswordHash: hash.String, Roles: splitRoles(roles.String)}
	if u.Username == "" {
		u.Username = username
	}
	return u, nil
}

// splitRoles splits "A,B" (or a PostgreSQL array literal "{A,B}").
func splitRoles(s string) []string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '{' && s[len(s)-1] == '}' {
		s = s[1 : len(s)-1]
	}
	var roles []string
	for r := range strings.SplitSeq(s, ",") {
		if r = strings.Trim(strings.TrimSpace(r), `"`); r != "" && r != "NULL" {
			roles = append(roles, r)
		}
	}
	return roles
}

// Open opens a pooled database for dsn and tells its dialect:
// "postgres://" and "postgresql://" URLs are PostgreSQL (see OpenPostgres);
// "mysql://user:pass@host:port/db?params" URLs and go-sql-driver DSNs such
// as "user:pass@tcp(host:3306)/db" are MySQL (see OpenMySQL).
func Open(dsn string) (db *sql.DB, dialect string, err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err = OpenPostgres(dsn)
		return db, Postgres, err
	case strings.HasPrefix(dsn, "mysql://"), strings.Contains(dsn, "@tcp("), strings.Contains(dsn, "@unix("):
		db, err = OpenMySQL(dsn)
		return db, MySQL, err
	}
	return nil, "", errors.New("sqlusers: open: DSN is neither postgres:// nor mysql:// (nor a go-sql-driver DSN)")
}

// OpenPostgres opens a pooled PostgreSQL database through pgx's
// database/sql driver. dsn is anything pgx accepts: a URL or
// "host=… user=…" keywords.
func OpenPostgres(dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlusers: open postgres: %w", err)
	}
	configurePool(db)
	return db, nil
}

// OpenMySQL opens a pooled MySQL or MariaDB database. dsn is a
// go-sql-driver DSN ("user:pass@tcp(host:3306)/db?params") or a
// "mysql://user:pass@host:port/db?params" URL (port 3306 by default).
func OpenMySQL(dsn string) (*sql.DB, error) {
	if strings.HasPrefix(dsn, "mysql://") {
		native, err := mysqlURLToDSN(dsn)
		if err != nil {
			return nil, err
		}
		dsn = native
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlusers: open mysql: %w", err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlusers: open mysql: %w", err)
	}
	db := sql.OpenDB(conn)
	configurePool(db)
	return db, nil
}

func mysqlURLToDSN(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("sqlusers: open mysql: %w", err)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = u.Host + ":3306"
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	dsn := cfg.FormatDSN()
	if u.RawQuery != "" {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + u.RawQuery
	}
	return dsn, nil
}

func configurePool(db *sql.DB) {
	db.SetMaxOpenConns(DefaultMaxOpenConns)
	db.SetMaxIdleConns(DefaultMaxIdleConns)
	db.SetConnMaxLifetime(DefaultConnMaxLifetime)
	db.SetConnMaxIdleTime(DefaultConnMaxIdleTime)
}

var _ auth.UserProvider = (*Provider)(nil)
