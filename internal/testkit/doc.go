// Package testkit is the scaffolding the project's tests share, so that a
// test reads as what it checks rather than as how it sets up: a clock that
// moves only when told, and a poll that guards against a deadlock.
//
// It imports no project package, so every package's own tests can use it.
// Production code must not: only _test.go files and the harnesses under
// bench/ import it.
package testkit
