package campaign

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/preset"
	"github.com/bulksend/bulksend/sender"
)

// previewRows renders input with the generic preset and counts the rows
// and the duplicates among them.
func previewRows(t *testing.T, in Input, idField string) (rows, dups int) {
	t.Helper()
	pr, err := preset.NewGeneric(preset.GenericConfig{URL: "http://127.0.0.1:1/send", Method: "POST",
		Body: `{"to":{{json .to}}}`, IDField: idField})
	if err != nil {
		t.Fatal(err)
	}
	err = Preview(context.Background(), Options{Input: in, Preset: pr}, func(m *sender.Message) {
		rows++
		if m.Skip == sender.StatusDuplicate {
			dups++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, dups
}

// TestPreviewDuplicates: a file (pre-pass, exact ids for repeats only) and
// the same rows on stdin (every id in memory) find the same duplicates.
func TestPreviewDuplicates(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		idField string
		rows    string
		want    int
	}{
		{name: "csv repeats", file: "rows.csv", want: 2,
			rows: "id,to\na,+1\nb,+2\na,+3\nc,+4\na,+5\n"},
		{name: "csv without id column", file: "rows.csv", want: 0,
			rows: "to,text\n+1,x\n+1,x\n"},
		{name: "invalid rows claim no id", file: "rows.csv", want: 1,
			rows: "id,to\na\na,+1\na,+2\n"},
		{name: "a line number taken as an explicit id", file: "rows.jsonl", want: 1,
			rows: `{"to":"+1"}` + "\n" + `{"id":"1","to":"+2"}` + "\n"},
		{name: "named id field", file: "rows.csv", idField: "to", want: 1,
			rows: "id,to\na,+1\nb,+2\nc,+1\n"},
	}
	for _, tt := range tests {
		for _, input := range []string{"file", "stdin"} {
			t.Run(tt.name+"/"+input, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), tt.file)
				if err := os.WriteFile(path, []byte(tt.rows), 0o600); err != nil {
					t.Fatal(err)
				}
				in := Input{Path: path}
				if input == "stdin" {
					in = Input{Path: "-", Reader: strings.NewReader(tt.rows)}
				}
				if _, dups := previewRows(t, in, tt.idField); dups != tt.want {
					t.Errorf("%d duplicates, want %d", dups, tt.want)
				}
			})
		}
	}
}
