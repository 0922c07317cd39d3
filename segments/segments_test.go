package segments

import (
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func TestOf(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		want      Count
		culpritAt int
	}{
		{name: "empty", text: "", want: Count{Encoding: GSM7}},
		{name: "short", text: "Hello, world!", want: Count{Encoding: GSM7, Units: 13, Segments: 1}},
		{name: "160 fits one", text: strings.Repeat("a", 160), want: Count{Encoding: GSM7, Units: 160, Segments: 1}},
		{name: "161 is two", text: strings.Repeat("a", 161), want: Count{Encoding: GSM7, Units: 161, Segments: 2}},
		{name: "306 is two parts of 153", text: strings.Repeat("a", 306), want: Count{Encoding: GSM7, Units: 306, Segments: 2}},
		{name: "307 is three", text: strings.Repeat("a", 307), want: Count{Encoding: GSM7, Units: 307, Segments: 3}},
		{name: "two-unit characters", text: "^{}\\[]~|€", want: Count{Encoding: GSM7, Units: 18, Segments: 1}},
		{name: "80 euros fill one", text: strings.Repeat("€", 80), want: Count{Encoding: GSM7, Units: 160, Segments: 1}},
		{name: "81 euros are two", text: strings.Repeat("€", 81), want: Count{Encoding: GSM7, Units: 162, Segments: 2}},
		{name: "escape not split across parts", text: strings.Repeat("a", 152) + "€" + strings.Repeat("a", 10),
			want: Count{Encoding: GSM7, Units: 164, Segments: 2}},
		{name: "escape at a part boundary moves", text: strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152),
			want: Count{Encoding: GSM7, Units: 306, Segments: 3}},
		{name: "basic-table accents and greek", text: "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà",
			want: Count{Encoding: GSM7, Units: 42, Segments: 1}},
		{name: "newlines", text: "a\r\nb", want: Count{Encoding: GSM7, Units: 4, Segments: 1}},
		{name: "form feed is an extension", text: "\f", want: Count{Encoding: GSM7, Units: 2, Segments: 1}},
		{name: "curly quote", text: "It’s here", want: Count{Encoding: UCS2, Units: 9, Segments: 1, Culprit: '’', CulpritAt: 2}},
		{name: "backtick", text: "a`b", want: Count{Encoding: UCS2, Units: 3, Segments: 1, Culprit: '`', CulpritAt: 1}},
		{name: "lower c cedilla", text: "ç", want: Count{Encoding: UCS2, Units: 1, Segments: 1, Culprit: 'ç'}},
		{name: "tab", text: "a\tb", want: Count{Encoding: UCS2, Units: 3, Segments: 1, Culprit: '\t', CulpritAt: 1}},
		{name: "emoji is two units", text: "Hi 👍", want: Count{Encoding: UCS2, Units: 5, Segments: 1, Culprit: '👍', CulpritAt: 3}},
		{name: "70 fits one", text: strings.Repeat("é", 69) + "’", want: Count{Encoding: UCS2, Units: 70, Segments: 1, Culprit: '’', CulpritAt: 69}},
		{name: "71 is two", text: "’" + strings.Repeat("a", 70), want: Count{Encoding: UCS2, Units: 71, Segments: 2, Culprit: '’'}},
		{name: "134 is two parts of 67", text: "’" + strings.Repeat("a", 133), want: Count{Encoding: UCS2, Units: 134, Segments: 2, Culprit: '’'}},
		{name: "surrogate pair not split", text: "’" + strings.Repeat("a", 65) + "👍" + strings.Repeat("a", 10),
			want: Count{Encoding: UCS2, Units: 78, Segments: 2, Culprit: '’'}},
		{name: "pair at a part boundary moves", text: "’" + strings.Repeat("a", 65) + "👍" + strings.Repeat("a", 66),
			want: Count{Encoding: UCS2, Units: 134, Segments: 3, Culprit: '’'}},
		{name: "a GSM emoji-free text tripled by one emoji", text: strings.Repeat("a", 160) + "👍",
			want: Count{Encoding: UCS2, Units: 162, Segments: 3, Culprit: '👍', CulpritAt: 160}},
		{name: "invalid utf8", text: "a\xffb", want: Count{Encoding: UCS2, Units: 3, Segments: 1, Culprit: utf8.RuneError, CulpritAt: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.text); got != tt.want {
				t.Errorf("Of(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
}

// FuzzOf checks Of against what any count must satisfy: the encoding
// follows the alphabet, the units are the encoding's length, and the parts
// are the fewest that hold whole characters.
func FuzzOf(f *testing.F) {
	for _, s := range []string{"", "Hello", "€€€", "It’s", "👍", strings.Repeat("a", 152) + "€b", "\xff\xfe", "a\u2028b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c := Of(text)
		gsm := true
		septets := 0
		for _, r := range text {
			w := gsmWidth(r)
			gsm = gsm && w > 0
			septets += w
		}
		single, part, units := GSM7Single, GSM7Part, septets
		if !gsm {
			single, part, units = UCS2Single, UCS2Part, len(utf16.Encode([]rune(text)))
		}
		switch {
		case gsm != (c.Encoding == GSM7):
			t.Fatalf("%q: encoding %s, GSM alphabet %v", text, c.Encoding, gsm)
		case c.Units != units:
			t.Fatalf("%q: %d units, want %d", text, c.Units, units)
		case units == 0 && c.Segments != 0, units > 0 && units <= single && c.Segments != 1:
			t.Fatalf("%q: %d units in %d segments", text, units, c.Segments)
		case units > single && (c.Segments < (units+part-1)/part || c.Segments > (units+part-1)/part+units/part):
			t.Fatalf("%q: %d units in %d segments of %d", text, units, c.Segments, part)
		case gsm && c.Culprit != 0, !gsm && []rune(text)[c.CulpritAt] != c.Culprit:
			t.Fatalf("%q: culprit %q at %d", text, c.Culprit, c.CulpritAt)
		}
	})
}
