// Package internal pins the modules the services are built on until each is imported
// by real code; it is removed once every module here has a user.
package internal

import (
	_ "github.com/fernet/fernet-go"
	_ "github.com/go-ldap/ldap/v3"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/google/uuid"
	_ "github.com/gophercloud/gophercloud/v2"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/spf13/cobra"
	_ "github.com/vmihailenco/msgpack/v5"
	_ "golang.org/x/crypto/bcrypt"
	_ "gopkg.in/ini.v1"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
