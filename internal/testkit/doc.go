// Package testkit is the scaffolding the project's tests share, so that a
// test reads as what it checks rather than as how it sets up: a clock that
// moves only when told, a poll that guards against a deadlock, the error
// half of a table-test case, a loopback HTTP server that records what it
// was sent, a real redis-server on a free port, and a runner that builds
// the bulksend binary once and runs it with a timeout, collecting its exit
// code and output.
//
// It imports no project package, so every package's own tests can use it.
// Production code must not: only _test.go files and the harnesses under
// bench/ import it. Two parts live in subpackages: sandboxtest serves a
// sandbox on a loopback port (it imports sandbox, which testkit must not),
// and golden compares output with files under testdata (it adds the
// -update flag, which only its users should get).
package testkit
