package sqlusers

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/heraldws/herald/auth"
	"github.com/heraldws/herald/internal/testpeer"
)

// The machine's services (scripts/test starts them): PostgreSQL with trust
// auth and MariaDB with a password-less root, each with a database "test".
const (
	pgDSN    = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	mysqlDSN = "root@tcp(127.0.0.1:3306)/test"
)

// need fails the test, naming the database's start command, when it does
// not answer.
func need(t *testing.T, db *sql.DB, service testpeer.Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		testpeer.ServiceFailed(t, service, err)
	}
}

func uniqueName(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "herald_test_" + hex.EncodeToString(b[:])
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// oroSchema creates Oro's three tables (the columns the query reads, plus
// a few others) in the current schema/database and fills them.
func oroSchema(t *testing.T, db *sql.DB, serial string) {
	exec(t, db,
		`CREATE TABLE oro_user (id `+serial+` PRIMARY KEY, username VARCHAR(255) NOT NULL UNIQUE,
		  email VARCHAR(255) NOT NULL, enabled BOOLEAN NOT NULL, salt VARCHAR(255) NOT NULL, password VARCHAR(255) NOT NULL)`,
		`CREATE TABLE oro_access_role (id `+serial+` PRIMARY KEY, role VARCHAR(30) NOT NULL UNIQUE, label VARCHAR(30) NOT NULL)`,
		`CREATE TABLE oro_user_access_role (user_id INTEGER NOT NULL, role_id INTEGER NOT NULL, PRIMARY KEY (user_id, role_id))`,
		`INSERT INTO oro_user (id, username, email, enabled, salt, password) VALUES
		  (1, 'admin', 'admin@example.com', TRUE, '', '$2y$13$adminhashadminhashadminhashadminhashadminhashadminhas'),
		  (42, 'jöhn', 'john@example.com', TRUE, '', 'hash-of-john'),
		  (43, 'nobody', 'nobody@example.com', FALSE, '', 'hash-of-nobody')`,
		`INSERT INTO oro_access_role (id, role, label) VALUES (1, 'ROLE_ADMINISTRATOR', 'Administrator'), (2, 'ROLE_USER', 'User'), (3, 'ROLE_MANAGER', 'Manager')`,
		`INSERT INTO oro_user_access_role (user_id, role_id) VALUES (1, 1), (1, 2), (42, 2)`,
	)
}

// checkOroLookups runs the default-query lookups both dialects share.
func checkOroLookups(t *testing.T, p *Provider) {
	ctx := context.Background()
	u, err := p.LookupUser(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	want := &auth.User{ID: "1", Username: "admin", PasswordHash: "$2y$13$adminhashadminhashadminhashadminhashadminhashadminhas", Roles: []string{"ROLE_ADMINISTRATOR", "ROLE_USER"}}
	if !sameUser(u, want) {
		t.Fatalf("admin: %+v, want %+v", u, want)
	}
	u, err = p.LookupUser(ctx, "jöhn")
	if err != nil || !sameUser(u, &auth.User{ID: "42", Username: "jöhn", PasswordHash: "hash-of-john", Roles: []string{"ROLE_USER"}}) {
		t.Fatalf("jöhn: %+v, %v", u, err)
	}
	u, err = p.LookupUser(ctx, "nobody")
	if err != nil || u.ID != "43" || len(u.Roles) != 0 {
		t.Fatalf("user without roles: %+v, %v", u, err)
	}
	if _, err := p.LookupUser(ctx, "ghost"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Fatalf("ghost: %v, want ErrUserNotFound", err)
	}
	if _, err := p.LookupUser(ctx, "admin' OR '1'='1"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Fatalf("injection attempt: %v, want ErrUserNotFound", err)
	}

	// End to end: a ticket signed with the stored hash verifies.
	now := time.Now()
	v := &auth.TicketVerifier{Secret: "s3cret", Users: auth.NewCachedUsers(p, 0)}
	got, err := v.Verify(ctx, auth.MintTicket("s3cret", "jöhn", "hash-of-john", now))
	if err != nil || got == nil || got.ID != "42" {
		t.Fatalf("ticket for jöhn: %+v, %v", got, err)
	}
	_, err = v.Verify(ctx, auth.MintTicket("s3cret", "jöhn", "plain password", now))
	var te *auth.TicketError
	if !errors.As(err, &te) || te.Reason != auth.ReasonInvalidDigest {
		t.Fatalf("ticket with wrong password: %v", err)
	}
}

func sameUser(a, b *auth.User) bool {
	return a != nil && a.ID == b.ID && a.Username == b.Username && a.PasswordHash == b.PasswordHash && slices.Equal(a.Roles, b.Roles)
}

func TestPostgresDefaultQuery(t *testing.T) {
	admin, err := OpenPostgres(pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	need(t, admin, testpeer.PostgreSQL)
	t.Cleanup(func() { admin.Close() })
	schema := uniqueName(t)
	exec(t, admin, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { exec(t, admin, "DROP SCHEMA "+schema+" CASCADE") })

	db, dialect, err := Open(pgDSN + "&search_path=" + schema)
	if err != nil || dialect != Postgres {
		t.Fatalf("Open: %v %q", err, dialect)
	}
	t.Cleanup(func() { db.Close() })
	if got := db.Stats().MaxOpenConnections; got != DefaultMaxOpenConns {
		t.Fatalf("pool max open %d", got)
	}
	oroSchema(t, db, "SERIAL")
	p, err := New(db, Postgres, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Query() != DefaultPostgresQuery {
		t.Fatal("default query not used")
	}
	checkOroLookups(t, p)
}

func TestPostgresCustomQuery(t *testing.T) {
	db, err := OpenPostgres(pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	need(t, db, testpeer.PostgreSQL)
	t.Cleanup(func() { db.Close() })
	table := uniqueName(t)
	exec(t, db,
		`CREATE TABLE `+table+` (uid BIGINT PRIMARY KEY, email TEXT NOT NULL UNIQUE, pw TEXT NOT NULL, roles TEXT[] NOT NULL DEFAULT '{}')`,
		`INSERT INTO `+table+` VALUES (9000000000, 'a@example.com', 'h1', '{ROLE_A,ROLE_B}'), (2, 'b@example.com', 'h2', '{}')`)
	t.Cleanup(func() { exec(t, db, "DROP TABLE "+table) })
	ctx := context.Background()

	// Three columns, no roles; a bigint id.
	p, err := New(db, Postgres, `SELECT uid, email, pw FROM `+table+` WHERE email = $1`)
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.LookupUser(ctx, "a@example.com")
	if err != nil || !sameUser(u, &auth.User{ID: "9000000000", Username: "a@example.com", PasswordHash: "h1"}) {
		t.Fatalf("3 columns: %+v %v", u, err)
	}
	// Four columns, roles as a text[]; a NULL username means the one asked.
	p, _ = New(db, Postgres, `SELECT uid, NULL, pw, roles FROM `+table+` WHERE email = $1`)
	u, err = p.LookupUser(ctx, "a@example.com")
	if err != nil || !sameUser(u, &auth.User{ID: "9000000000", Username: "a@example.com", PasswordHash: "h1", Roles: []string{"ROLE_A", "ROLE_B"}}) {
		t.Fatalf("4 columns: %+v %v", u, err)
	}
	if _, err := p.LookupUser(ctx, "c@example.com"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Fatalf("not found: %v", err)
	}
	// Bad queries are errors, not "not found".
	for _, q := range []string{
		`SELECT uid, email FROM ` + table + ` WHERE email = $1`,
		`SELECT uid, email, pw FROM ` + table + ` WHERE email <> $1`, // two rows
		`SELECT uid, email, pw FROM no_such_table_` + table + ` WHERE email = $1`,
	} {
		p, _ := New(db, Postgres, q)
		if _, err := p.LookupUser(ctx, "zzz"); err == nil || errors.Is(err, auth.ErrUserNotFound) {
			t.Errorf("%s: %v, want an error", q, err)
		}
	}
	// Timeout.
	p, _ = New(db, Postgres, `SELECT uid, email, pw FROM `+table+`, pg_sleep(2) WHERE email = $1`)
	p.Timeout = 100 * time.Millisecond
	start := time.Now()
	if _, err := p.LookupUser(ctx, "a@example.com"); err == nil || errors.Is(err, auth.ErrUserNotFound) || time.Since(start) > time.Second {
		t.Fatalf("slow query: %v after %v", err, time.Since(start))
	}
}

func TestMySQLDefaultQuery(t *testing.T) {
	admin, err := OpenMySQL(mysqlDSN)
	if err != nil {
		t.Fatal(err)
	}
	need(t, admin, testpeer.MariaDB)
	t.Cleanup(func() { admin.Close() })
	dbName := uniqueName(t)
	exec(t, admin, "CREATE DATABASE "+dbName+" CHARACTER SET utf8mb4")
	t.Cleanup(func() { exec(t, admin, "DROP DATABASE "+dbName) })

	db, dialect, err := Open("mysql://root@127.0.0.1/" + dbName + "?timeout=5s")
	if err != nil || dialect != MySQL {
		t.Fatalf("Open: %v %q", err, dialect)
	}
	t.Cleanup(func() { db.Close() })
	oroSchema(t, db, "INTEGER AUTO_INCREMENT")
	p, err := New(db, MySQL, "")
	if err != nil {
		t.Fatal(err)
	}
	checkOroLookups(t, p)
}

func TestMySQLCustomQuery(t *testing.T) {
	db, dialect, err := Open(mysqlDSN)
	if err != nil || dialect != MySQL {
		t.Fatalf("Open: %v %q", err, dialect)
	}
	need(t, db, testpeer.MariaDB)
	t.Cleanup(func() { db.Close() })
	table := uniqueName(t)
	exec(t, db,
		`CREATE TABLE `+table+` (uid INT PRIMARY KEY, login VARCHAR(100) NOT NULL UNIQUE, pw VARCHAR(255) NOT NULL, roles VARCHAR(255)) CHARACTER SET utf8mb4`,
		`INSERT INTO `+table+` VALUES (5, 'carol', 'h5', 'ROLE_X, ROLE_Y'), (6, 'dave', 'h6', NULL)`)
	t.Cleanup(func() { exec(t, db, "DROP TABLE "+table) })
	ctx := context.Background()
	p, err := New(db, MySQL, `SELECT uid, login, pw, roles FROM `+table+` WHERE login = ?`)
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.LookupUser(ctx, "carol")
	if err != nil || !sameUser(u, &auth.User{ID: "5", Username: "carol", PasswordHash: "h5", Roles: []string{"ROLE_X", "ROLE_Y"}}) {
		t.Fatalf("carol: %+v %v", u, err)
	}
	u, err = p.LookupUser(ctx, "dave")
	if err != nil || u.ID != "6" || u.Roles != nil {
		t.Fatalf("dave: %+v %v", u, err)
	}
	if _, err := p.LookupUser(ctx, "erin"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Fatalf("erin: %v", err)
	}
}

func TestNewAndOpenErrors(t *testing.T) {
	if _, err := New(nil, Postgres, ""); err == nil {
		t.Error("nil db accepted")
	}
	db, _ := OpenPostgres(pgDSN) // sql.Open does not connect
	t.Cleanup(func() { db.Close() })
	if _, err := New(db, "sqlite", ""); err == nil {
		t.Error("unknown dialect accepted")
	}
	if p, err := New(db, MySQL, ""); err != nil || p.Query() != DefaultMySQLQuery || p.Dialect() != MySQL {
		t.Errorf("mysql default: %v", err)
	}
	for _, dsn := range []string{"sqlite:///x.db", "host=localhost user=x", ""} {
		if _, _, err := Open(dsn); err == nil {
			t.Errorf("Open(%q) accepted", dsn)
		}
	}
	if _, err := OpenMySQL("mysql://%zz"); err == nil {
		t.Error("bad mysql URL accepted")
	}
}

func TestMySQLURLToDSN(t *testing.T) {
	for in, want := range map[string]string{
		"mysql://root@127.0.0.1/test":                       "root@tcp(127.0.0.1:3306)/test",
		"mysql://u:p%40ss@db:3307/app?timeout=5s&tls=false": "u:p@ss@tcp(db:3307)/app?timeout=5s&tls=false",
	} {
		got, err := mysqlURLToDSN(in)
		if err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
}

func TestSplitRoles(t *testing.T) {
	for in, want := range map[string][]string{
		"":                  nil,
		"A":                 {"A"},
		"A,B":               {"A", "B"},
		" A , ,B ":          {"A", "B"},
		"{}":                nil,
		`{ROLE_A,"ROLE B"}`: {"ROLE_A", "ROLE B"},
	} {
		if got := splitRoles(in); !slices.Equal(got, want) {
			t.Errorf("splitRoles(%q) = %q, want %q", in, got, want)
		}
	}
}
