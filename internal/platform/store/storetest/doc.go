// Package storetest gives tests a fresh, empty database of each dialect: a SQLite
// file in the test's temp dir, and a new PostgreSQL / MariaDB database created on
// the servers named by TENKU_TEST_POSTGRES_URL and TENKU_TEST_MYSQL_URL (default:
// the local servers, trust auth / passwordless root) and dropped when the test ends.
//
// When a server is unreachable the test skips, except under CI=true, where the
// store must be proven on all three engines and the test fails instead.
//
// storetest imports platform/store and the testing package.
package storetest
