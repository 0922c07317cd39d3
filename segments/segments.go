// Package segments counts the SMS parts a text is billed as. A text that
// fits the GSM-7 alphabet (GSM 03.38's basic table, and its extension table
// at two units a character) travels in 7-bit units: 160 in one message,
// 153 per part once it is split, the rest of each part being the
// concatenation header. Any other character turns the whole text into UCS-2:
// 70 UTF-16 code units in one message, 67 per part, an emoji (a surrogate
// pair) counting two.
//
// A character is never split across parts: an extension character's escape
// and its code, or a surrogate pair, go in one part, as handsets and
// carriers require, so a long text can need one part more than its length
// divided by the part size suggests.
package segments

// Encoding is the character set a text is sent in.
type Encoding string

// The encodings an SMS text is sent in.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Limits of one SMS and of each part of a concatenated one, in the
// encoding's units (7-bit septets or UTF-16 code units).
const (
	GSM7Single = 160
	GSM7Part   = 153
	UCS2Single = 70
	UCS2Part   = 67
)

// Count is what a text costs as SMS.
type Count struct {
	Encoding Encoding
	// Units is the text's length in the encoding's units: septets for
	// GSM-7 (an extension character is two), UTF-16 code units for UCS-2.
	Units int
	// Segments is the number of messages the text is billed as; 0 for an
	// empty text.
	Segments int
	// Culprit is the first character outside GSM-7, the one that made the
	// text UCS-2; utf8.RuneError for invalid UTF-8. Zero for GSM-7.
	Culprit rune
	// CulpritAt is the culprit's position in characters (runes), from 0.
	CulpritAt int
}

// Of counts text's encoding and segments.
func Of(text string) Count {
	c := Count{Encoding: GSM7}
	i := 0
	for _, r := range text {
		w := gsmWidth(r)
		if w == 0 {
			c.Culprit, c.CulpritAt = r, i
			return ucs2(text, c)
		}
		c.Units += w
		i++
	}
	c.Segments = pack(text, c.Units, GSM7Single, GSM7Part, gsmWidth)
	return c
}

// ucs2 finishes c for a text that is not GSM-7.
func ucs2(text string, c Count) Count {
	c.Encoding, c.Units = UCS2, UTF16Len(text)
	c.Segments = pack(text, c.Units, UCS2Single, UCS2Part, utf16Width)
	return c
}

// pack returns how many parts text needs, each holding whole characters.
func pack(text string, units, single, part int, width func(rune) int) int {
	switch {
	case units == 0:
		return 0
	case units <= single:
		return 1
	}
	n, used := 1, 0
	for _, r := range text {
		w := width(r)
		if used+w > part {
			n, used = n+1, 0
		}
		used += w
	}
	return n
}

// UTF16Len is the length of s in UTF-16 code units, the "characters" that
// Java and JavaScript count and that vendors' length limits are stated in:
// a character outside the Basic Multilingual Plane (most emoji) is two.
// Invalid UTF-8 counts one per bad byte, as each becomes U+FFFD.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16Width(r)
	}
	return n
}

func utf16Width(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}

// gsmWidth is r's length in GSM-7 septets: 1 in the basic table, 2 in the
// extension table (escape and code), 0 when GSM-7 cannot carry it.
func gsmWidth(r rune) int {
	if r < 0x80 {
		return int(asciiWidth[r])
	}
	switch r {
	case '£', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', 'Ø', 'ø', 'Å', 'å',
		'Δ', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ',
		'Æ', 'æ', 'ß', 'É', '¤', '¡', 'Ä', 'Ö', 'Ñ', 'Ü', '§', '¿',
		'ä', 'ö', 'ñ', 'ü', 'à':
		return 1
	case '€':
		return 2
	}
	return 0
}

// asciiWidth is gsmWidth for ASCII: every printable character but the
// backtick is in GSM-7, nine of them in the extension table; of the control
// characters only LF and CR are in the basic table, form feed is an
// extension.
var asciiWidth = func() (w [0x80]uint8) {
	for c := ' '; c <= '~'; c++ {
		w[c] = 1
	}
	w['\n'], w['\r'] = 1, 1
	w['`'] = 0
	for _, c := range "^{}\\[~]|\f" {
		w[c] = 2
	}
	return w
}()
