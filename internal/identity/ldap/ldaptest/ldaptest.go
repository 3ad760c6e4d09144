package ldaptest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Suffix is the directory's base DN; AdminDN/AdminPassword its root user.
const (
	Suffix        = "dc=corp,dc=example"
	AdminDN       = "cn=admin," + Suffix
	AdminPassword = "admin-secret"
)

// CorpLDIF is a small company directory: people (one disabled by
// employeeType FALSE, one disabled by an AD-style userAccountControl bit in
// departmentNumber), and groups whose members are DNs.
const CorpLDIF = `dn: dc=corp,dc=example
objectClass: dcObject
objectClass: organization
dc: corp
o: Corp

dn: ou=Users,dc=corp,dc=example
objectClass: organizationalUnit
ou: Users

dn: ou=Groups,dc=corp,dc=example
objectClass: organizationalUnit
ou: Groups

dn: cn=alice,ou=Users,dc=corp,dc=example
objectClass: inetOrgPerson
cn: alice
sn: alice
uid: u1001
mail: alice@corp.example
description: Alice Liddell
employeeType: TRUE
departmentNumber: 512
userPassword: alice-pw

dn: cn=bob,ou=Users,dc=corp,dc=example
objectClass: inetOrgPerson
cn: bob
sn: bob
uid: u1002
mail: bob@corp.example
employeeType: TRUE
departmentNumber: 512
userPassword: bob-pw

dn: cn=carol,ou=Users,dc=corp,dc=example
objectClass: inetOrgPerson
cn: carol
sn: carol
uid: u1003
mail: carol@corp.example
employeeType: FALSE
departmentNumber: 514
userPassword: carol-pw

dn: cn=svc,ou=Users,dc=corp,dc=example
objectClass: inetOrgPerson
cn: svc
sn: svc
uid: u1000
description: the account Keystone binds as
userPassword: svc-pw

dn: cn=developers,ou=Groups,dc=corp,dc=example
objectClass: groupOfNames
cn: developers
ou: developers
description: people who write code
member: cn=alice,ou=Users,dc=corp,dc=example
member: cn=bob,ou=Users,dc=corp,dc=example

dn: cn=admins,ou=Groups,dc=corp,dc=example
objectClass: groupOfNames
cn: admins
ou: admins
member: cn=alice,ou=Users,dc=corp,dc=example
`

// Server is a running slapd.
type Server struct {
	// URL is ldap://127.x.y.z:port.
	URL  string
	Addr string
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  bytes.Buffer
}

// Paths of Debian's slapd and slapadd.
const (
	slapdPath   = "/usr/sbin/slapd"
	slapaddPath = "/usr/sbin/slapadd"
)

// Installed says whether slapd and slapadd are installed, or why not.
func Installed() error {
	for _, p := range []string{slapdPath, slapaddPath} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("OpenLDAP's slapd is not installed (%s; scripts/install-deps installs slapd)", p)
		}
	}
	return nil
}

// Bin returns slapd's and slapadd's paths, or skips the test.
func Bin(t testing.TB) (slapd, slapadd string) {
	t.Helper()
	if err := Installed(); err != nil {
		t.Skip(err)
	}
	return slapdPath, slapaddPath
}

func configLDIF(dir string) string {
	return fmt.Sprintf(`dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: %[1]s/slapd.pid
olcLogLevel: none

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 5000

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: %[2]s
olcDbDirectory: %[1]s/db
olcDbMaxSize: 67108864
olcRootDN: %[3]s
olcRootPW: %[4]s
olcLimits: {0}* size.prtotal=unlimited
olcAccess: {0}to attrs=userPassword by self read by anonymous auth by * none
olcAccess: {1}to * by * read
`, dir, Suffix, AdminDN, AdminPassword)
}

// Start builds a directory holding ldif (CorpLDIF when empty) and starts
// slapd on it; t.Cleanup stops it and removes everything.
func Start(t testing.TB, ldif string) *Server {
	t.Helper()
	Bin(t)
	s, err := Launch(t.TempDir(), ldif)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Launch builds a directory holding ldif (CorpLDIF when empty) under dir,
// which must exist and be empty, and starts slapd on it, outside tests (the
// benchmarks). The caller stops it with Stop and removes dir.
func Launch(dir, ldif string) (*Server, error) {
	if err := Installed(); err != nil {
		return nil, err
	}
	if ldif == "" {
		ldif = CorpLDIF
	}
	for _, d := range []string{"slapd.d", "db"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	run := func(input string, args ...string) error {
		cmd := exec.Command(slapaddPath, args...)
		cmd.Stdin = strings.NewReader(input)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("slapadd %v: %v\n%s", args, err, out)
		}
		return nil
	}
	if err := run(configLDIF(dir), "-n0", "-F", filepath.Join(dir, "slapd.d")); err != nil {
		return nil, err
	}
	if err := run(ldif, "-n1", "-F", filepath.Join(dir, "slapd.d")); err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s.Addr = addr
	s.URL = "ldap://" + s.Addr
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

// freeAddr picks an unused port on 127.42.N.1.
func freeAddr() (string, error) {
	for i := 0; i < 50; i++ {
		host := fmt.Sprintf("127.42.%d.1", 100+rand.IntN(100))
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			continue
		}
		addr := l.Addr().String()
		l.Close()
		return addr, nil
	}
	return "", fmt.Errorf("no free loopback port for slapd")
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log.Reset()
	// -d 0 keeps slapd in the foreground (it is our child: no daemon left behind).
	cmd := exec.Command(slapdPath, "-d", "0", "-F", filepath.Join(s.dir, "slapd.d"), "-h", s.URL+"/")
	cmd.Stdout, cmd.Stderr = &s.log, &s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("slapd: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("slapd exited at start:\n%s", s.log.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd.Process.Kill()
	<-done
	s.cmd = nil
	return fmt.Errorf("slapd did not listen on %s:\n%s", s.Addr, s.log.String())
}

// Pid is the running slapd's process id (0 when it is stopped), for the
// benchmarks' CPU accounting.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Stop kills slapd (the directory stays, for Restart).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts slapd again on the same address and directory.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}
