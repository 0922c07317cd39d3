package redact

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Terminal returns s safe to print as one line on a terminal: every control
// character (C0 and C1, DEL, and line breaks), every Unicode bidirectional
// control and every byte that is not UTF-8 is written as a Go escape
// (\x1b, \n, \u202e, \xff), so text a server or a row supplied can neither
// drive the terminal (set its title, clear the screen, move the cursor)
// nor start a line that looks like bulksend's own output.
func Terminal(s string) string { return terminal(s, false) }

// TerminalText is Terminal for text that is meant to span lines, such as a
// request body in dry-run output: it keeps \n and \t and escapes the rest.
func TerminalText(s string) string { return terminal(s, true) }

func terminal(s string, lines bool) string {
	clean := true
	for i := 0; i < len(s) && clean; {
		r, size := utf8.DecodeRuneInString(s[i:])
		clean = !unsafe(r, size, lines)
		i += size
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case unsafe(r, size, lines):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafe reports whether the rune r (size bytes of input) must be escaped.
func unsafe(r rune, size int, lines bool) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		return true
	case r == '\t':
		return false
	case r == '\n':
		return !lines
	case r < 0x20, r >= 0x7f && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidi controls reorder what the reader sees
	}
	return false
}
