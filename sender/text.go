package sender

import (
	"strings"
	"unicode/utf8"
)

// oneLine is the start of b as one line of valid UTF-8, for the report.
func oneLine(b []byte, n int) string {
	if len(b) <= n && plainLine(b) {
		return string(b)
	}
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	s := strings.ToValidUTF8(string(b), "?")
	return strings.Join(strings.Fields(s), " ")
}

// plainLine reports whether oneLine would return b unchanged: printable
// ASCII with single spaces between words.
func plainLine(b []byte) bool {
	if len(b) > 0 && (b[0] == ' ' || b[len(b)-1] == ' ') {
		return false
	}
	for i, c := range b {
		if c < 0x21 || c > 0x7e {
			if c != ' ' || b[i-1] == ' ' {
				return false
			}
		}
	}
	return true
}
