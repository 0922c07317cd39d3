package csvinput

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Encoding is an input's character encoding. Rows are read as UTF-8; a
// file written by a tool that still saves Latin-1 or Windows-1252 is
// converted on the way in with Encoding.Reader, rather than having its
// accents sent as U+FFFD.
type Encoding string

// The encodings an input can be in.
const (
	EncodingUTF8        Encoding = "utf-8"
	EncodingLatin1      Encoding = "latin1"
	EncodingWindows1252 Encoding = "windows-1252"
)

// ParseEncoding reads an encoding name: "" or utf-8 (the default),
// latin1 (also iso-8859-1), windows-1252 (also cp1252), in any case.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "utf-8", "utf8":
		return EncodingUTF8, nil
	case "latin1", "latin-1", "iso-8859-1", "iso8859-1":
		return EncodingLatin1, nil
	case "windows-1252", "cp1252":
		return EncodingWindows1252, nil
	}
	return "", fmt.Errorf("unknown encoding %q: use utf-8, latin1 or windows-1252", s)
}

// Reader returns r converted to UTF-8 (r itself for UTF-8).
func (e Encoding) Reader(r io.Reader) io.Reader {
	switch e {
	case EncodingLatin1:
		return charmap.ISO8859_1.NewDecoder().Reader(r)
	case EncodingWindows1252:
		return charmap.Windows1252.NewDecoder().Reader(r)
	}
	return r
}

// invalidUTF8 returns the offset of the first byte of s that is not part of
// valid UTF-8, or -1.
func invalidUTF8(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// errNotUTF8 explains a row with a byte that is not UTF-8: sent as is, it
// would reach the recipient as U+FFFD.
func errNotUTF8(where string, off int, b byte) error {
	return fmt.Errorf("%s byte %d (0x%02x) is not UTF-8; if the file is Latin-1 or Windows-1252, give --input-encoding", where, off, b)
}
