package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/csvinput"
	"github.com/bulksend/bulksend/preset"
	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// BenchmarkResumeCompare measures what comparing the input with the report
// adds to a resumed run over an unchanged file of 100,000 rows, every one
// sent: "pre-pass" is the duplicate pre-pass a run over a file makes
// anyway, "pre-pass+compare" the same pass rendering and hashing each row
// and checking it against the report (report.Check). Loading the report
// (report.Load) is paid by --resume either way and is left out. The
// difference per row (ns/row) is the price of the compare.
func BenchmarkResumeCompare(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("id,to,text\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "r%06d,+1555%07d,\"Hi, friend number %d, your code is %d\"\n", i, i, i, i*7)
	}
	input := filepath.Join(dir, "rows.csv")
	if err := os.WriteFile(input, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	pr, err := preset.NewGeneric(preset.GenericConfig{URL: "http://127.0.0.1/send",
		Headers: []string{"Authorization: Bearer t"}, Body: `{"id": {{json .id}}, "to": {{json .to}}, "text": {{json .text}}}`})
	if err != nil {
		b.Fatal(err)
	}
	rep := filepath.Join(dir, "rows.report.csv")
	writeSentReport(b, input, rep, pr.Builder)
	in := Input{Path: input}.withDefaults()

	pass := func(b *testing.B, compare bool) {
		for range b.N {
			b.StopTimer()
			var check *report.Check
			if compare {
				state, err := report.Load(rep)
				if err != nil {
					b.Fatal(err)
				}
				defer state.Close()
				if check, err = state.Check(); err != nil {
					b.Fatal(err)
				}
			}
			_, f, err := in.open()
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			_, done, err := in.findRepeats(context.Background(), f, pr.Builder, check, pr.Builder)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			done()
			f.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
	}
	b.Run("pre-pass", func(b *testing.B) { pass(b, false) })
	b.Run("pre-pass+compare", func(b *testing.B) { pass(b, true) })
}

// writeSentReport writes the compacted report of a run that sent every row
// of input, as built by builder.
func writeSentReport(b *testing.B, input, rep string, builder sender.Builder) {
	b.Helper()
	f, err := os.Open(input)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rows, err := csvinput.NewReader(f, input, csvinput.FormatCSV)
	if err != nil {
		b.Fatal(err)
	}
	w, err := report.Create(rep, report.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for {
		row, err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		m := builder.Build(row)
		if err := w.Record(&sender.Result{Line: m.Line, ID: m.ID, Status: sender.StatusSent, HTTPStatus: 200, Attempts: 1, Fingerprint: m.Fingerprint}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}
