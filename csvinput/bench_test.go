package csvinput

import "testing"

// benchmarkRows reads b.N rows of an endless input, so ns/op and allocs/op
// are per row.
func benchmarkRows(b *testing.B, format Format, head, line string) {
	r, err := NewReader(newRepeatReader(head, line), "bench", format)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if row, err := r.Next(); err != nil || row.Err != nil {
			b.Fatalf("Next: %v %v", err, row.Err)
		}
	}
}

func BenchmarkCSV(b *testing.B) {
	benchmarkRows(b, FormatCSV, "id,to,name,text\n", "12345,+15550001234,Zoë,\"Hello, your order 007 has shipped\"\n")
}

func BenchmarkJSONL(b *testing.B) {
	benchmarkRows(b, FormatJSONL, "", `{"id":"12345","to":"+15550001234","name":"Zoë","text":"Hello, your order 007 has shipped","n":5}`+"\n")
}
