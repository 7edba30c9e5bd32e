package cli

import (
	"database/sql"

	"github.com/heraldws/herald/auth"
	"github.com/heraldws/herald/auth/httpusers"
	"github.com/heraldws/herald/auth/sqlusers"
	"github.com/heraldws/herald/internal/config"
)

// buildUsers returns the user provider of auth.users (nil for none) and a
// function that releases it (the database pool of an sql provider).
func buildUsers(cfg *config.Config) (auth.UserProvider, func(), error) {
	c := cfg.Auth.Users
	none := func() {}
	switch c.Type {
	case "", "none":
		return nil, none, nil
	case "http":
		p, err := httpusers.New(c.URL, []byte(c.Secret))
		if err != nil {
			return nil, none, cfg.Errorf("auth.users", "%w", err)
		}
		p.Timeout = c.Timeout.D()
		return p, none, nil
	case "sql":
		var db *sql.DB
		var err error
		dialect := sqlusers.Postgres
		if c.Driver == "mysql" {
			dialect = sqlusers.MySQL
			db, err = sqlusers.OpenMySQL(c.DSN)
		} else {
			db, err = sqlusers.OpenPostgres(c.DSN)
		}
		if err != nil {
			return nil, none, cfg.Errorf("auth.users", "%w", err)
		}
		p, err := sqlusers.New(db, dialect, c.Query)
		if err != nil {
			db.Close()
			return nil, none, cfg.Errorf("auth.users", "%w", err)
		}
		p.Timeout = c.Timeout.D()
		return p, func() { db.Close() }, nil
	}
	return nil, none, cfg.Errorf("auth.users.type", "%q is not one of none, sql, http", c.Type)
}
