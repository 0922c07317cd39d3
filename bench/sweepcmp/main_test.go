package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		line    string
		want    run
		wantErr string
	}{
		{"bucket 15/150ms bare\t8\t1\tadaptive\t0.912\t11\t211\tbucket 98/s b15 w0s\trate 97/s burst 14 fixed false",
			run{key: "bucket 15/150ms bare | 8 | 1 | adaptive", group: "bucket 15/150ms bare | 8 | adaptive", mode: "adaptive", eff: 0.912, refused: 11, requests: 211}, ""},
		{"fixed 3/1s go-limiter\t1\t2\tpinned\t1\t0\t200\t-\t-",
			run{key: "fixed 3/1s go-limiter | 1 | 2 | pinned", group: "fixed 3/1s go-limiter | 1 | pinned", mode: "pinned", eff: 1, refused: 0, requests: 200}, ""},
		{"a\t1\t1\tadaptive\t0.5\t0", run{}, "6 fields"},
		{"a\t1\t1\tboth\t0.5\t0\t1", run{}, "mode"},
		{"a\t1\t1\tadaptive\tNaN%\t0\t1", run{}, "efficiency"},
		{"a\t1\t1\tadaptive\t-1\t0\t1", run{}, "efficiency"},
		{"a\t1\t1\tadaptive\tNaN\t0\t1", run{}, "efficiency"},
		{"a\t1\t1\tadaptive\t+Inf\t0\t1", run{}, "efficiency"},
		{"a\t1\t1\tadaptive\t0.5\t-2\t1", run{}, "429s"},
		{"a\t1\t1\tadaptive\t0.5\t2\tx", run{}, "requests"},
	} {
		got, err := parseLine(tc.line)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseLine(%q) = %v, want an error with %q", tc.line, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseLine(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

func TestCompare(t *testing.T) {
	before := "cell\tworkers\tseed\tmode\teff\t429s\trequests\tlearned\tflags\n" +
		"x\t8\t1\tadaptive\t0.900\t10\t210\t-\t-\n" +
		"x\t8\t1\tpinned\t0.950\t0\t200\t-\t-\n" +
		"y\t8\t1\tadaptive\t0.800\t4\t204\t-\t-\n"
	after := "x\t8\t1\tadaptive\t0.950\t10\t210\t-\t-\n" +
		"x\t8\t1\tpinned\t0.950\t12\t212\t-\t-\n" +
		"y\t8\t1\tadaptive\t0.790\t5\t205\t-\t-\n"
	a, err := read("before", strings.NewReader(before))
	if err != nil {
		t.Fatal(err)
	}
	b, err := read("after", strings.NewReader(after))
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("read %d and %d runs, want 3 and 3", len(a), len(b))
	}
	for k, ra := range a {
		changed, worse := moved(ra, b[k], 0.03, 3)
		switch k {
		case "x | 8 | 1 | adaptive":
			if !changed || worse {
				t.Errorf("%s: changed %v worse %v, want better", k, changed, worse)
			}
		case "x | 8 | 1 | pinned":
			if !changed || !worse {
				t.Errorf("%s: changed %v worse %v, want worse", k, changed, worse)
			}
		default:
			if changed {
				t.Errorf("%s: changed, want within the thresholds", k)
			}
		}
	}
	if _, err := read("bad", strings.NewReader("x\t8\t1\tadaptive\tz\t1\t1\n")); err == nil || !strings.Contains(err.Error(), "bad:1:") {
		t.Errorf("a bad line: %v, want an error naming bad:1", err)
	}
}

func TestPool(t *testing.T) {
	table := "x\t8\t1\tadaptive\t0.900\t10\t210\t-\t-\n" +
		"x\t8\t2\tadaptive\t0.500\t4\t204\t-\t-\n" +
		"x\t8\t1\tpinned\t0.950\t0\t200\t-\t-\n" +
		"x\t16\t1\tadaptive\t0.800\t1\t201\t-\t-\n"
	runs, err := read("t", strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	got := pool(runs)
	want := map[string]run{
		"x | 8 | adaptive":  {key: "x | 8 | adaptive", group: "x | 8 | adaptive", mode: "adaptive", eff: 0.7, refused: 14, requests: 414},
		"x | 8 | pinned":    {key: "x | 8 | pinned", group: "x | 8 | pinned", mode: "pinned", eff: 0.95, refused: 0, requests: 200},
		"x | 16 | adaptive": {key: "x | 16 | adaptive", group: "x | 16 | adaptive", mode: "adaptive", eff: 0.8, refused: 1, requests: 201},
	}
	if len(got) != len(want) {
		t.Fatalf("pool made %d cells, want %d: %+v", len(got), len(want), got)
	}
	for k, w := range want {
		g := got[k]
		if math.Abs(g.eff-w.eff) > 1e-9 {
			t.Errorf("%s: eff %v, want %v", k, g.eff, w.eff)
		}
		g.eff = w.eff
		if g != w {
			t.Errorf("%s: %+v, want %+v", k, g, w)
		}
	}
}

func TestCompareSeeds(t *testing.T) {
	dir := t.TempDir()
	before := "cell\tworkers\tseed\tmode\teff\t429s\trequests\tlearned\tflags\n" +
		"x\t8\t1\tadaptive\t0.900\t0\t200\t-\t-\n" +
		"x\t8\t2\tadaptive\t0.500\t0\t200\t-\t-\n"
	// Seed 1 worse and seed 2 better by more: per run both moved, per
	// cell the mean went up. The pinned run of seed 3 is in one table
	// only: it is left out of the cell's mean.
	after := "x\t8\t1\tadaptive\t0.800\t0\t200\t-\t-\n" +
		"x\t8\t2\tadaptive\t0.800\t0\t200\t-\t-\n" +
		"x\t8\t3\tpinned\t0.100\t50\t250\t-\t-\n"
	a, b := filepath.Join(dir, "a.tsv"), filepath.Join(dir, "b.tsv")
	for name, text := range map[string]string{a: before, b: after} {
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var runs, cells strings.Builder
	if err := compare(&runs, a, b, 0.03, 3, false); err != nil {
		t.Fatal(err)
	}
	if err := compare(&cells, a, b, 0.03, 3, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cells.String(), "pinned:") {
		t.Errorf("per cell: a pinned run in one table only was compared:\n%s", cells.String())
	}
	if !strings.Contains(runs.String(), "adaptive: 2 runs, 1 worse, 1 better; mean eff 0.700 -> 0.800") {
		t.Errorf("per run:\n%s", runs.String())
	}
	if !strings.Contains(cells.String(), "better x | 8 | adaptive: eff 0.700 -> 0.800") ||
		!strings.Contains(cells.String(), "adaptive: 1 cells, 0 worse, 1 better; mean eff 0.700 -> 0.800") {
		t.Errorf("per cell:\n%s", cells.String())
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add("bucket 15/150ms bare\t8\t1\tadaptive\t0.912\t11\t211\tlearned\tflags")
	f.Add("a\t1\t1\tpinned\t1e3\t0\t0")
	f.Fuzz(func(t *testing.T, line string) {
		r, err := parseLine(line)
		if err != nil {
			return
		}
		if r.refused < 0 || r.requests < 0 || !(r.eff >= 0) || (r.mode != "adaptive" && r.mode != "pinned") {
			t.Errorf("parseLine(%q) = %+v: out of range", line, r)
		}
	})
}
