package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// csvField is f as encoding/csv writes it, without the line end.
func csvField(t testing.TB, f string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write([]string{f}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// TestAppendField: the writer's hand-made CSV fields are byte for byte what
// encoding/csv writes, so every CSV reader reads the report the same way.
func TestAppendField(t *testing.T) {
	for _, f := range []string{"", "plain", "a,b", `say "hi"`, "two\nlines", "cr\rx", " lead", "\tlead",
		"trail ", `\.`, `\.x`, "Zoë, ★", "\u00a0nbsp", "\u2028"} {
		if got, want := string(appendField(nil, f)), csvField(t, f); got != want {
			t.Errorf("appendField(%q) = %q, encoding/csv writes %q", f, got, want)
		}
	}
}

func FuzzAppendField(f *testing.F) {
	f.Add("a,\"b\"\n")
	f.Add(" x")
	f.Fuzz(func(t *testing.T, s string) {
		// A NUL is stored as U+FFFD (readers end a journal at a NUL).
		if got, want := string(appendField(nil, s)), csvField(t, strings.ReplaceAll(s, "\x00", "\uFFFD")); got != want {
			t.Fatalf("appendField(%q) = %q, encoding/csv writes %q", s, got, want)
		}
	})
}
