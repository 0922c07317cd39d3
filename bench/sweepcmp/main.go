// Command sweepcmp compares two tables written by ratelimit's TestSweep
// (BULKSEND_SWEEP=file go test -run TestSweep ./ratelimit/), cell by cell:
//
//	go run ./bench/sweepcmp before.tsv after.tsv
//
// It prints each run whose efficiency moved by at least -eff or whose
// 429s moved by at least -refused (and a fifth), then per mode the runs
// worse and better, the mean efficiency and the 429s on each side, and
// how many pinned runs drew more 429s than their adaptive run (pins over
// the rate).
//
// With -seeds it compares each cell (cell, workers, mode) by its runs
// over its seeds instead, those both tables hold: the mean efficiency and
// the 429s summed (-refused applies to the sums; pins over the rate
// compares a cell's pinned sum with its adaptive one). Two seeds a cell
// make each run a coin toss where a probe may land either side of a
// reset; a table of ten seeds (BULKSEND_SWEEP_SEEDS=10) read so tells a
// change from that noise.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// run is one line of the table.
type run struct {
	key      string // cell, workers, seed, mode
	group    string // cell, workers, mode: the runs -seeds pools
	mode     string
	eff      float64
	refused  int
	requests int
}

// parseLine reads one tab-separated line: cell, workers, seed, mode, eff,
// 429s, requests, then learned and flags (ignored).
func parseLine(line string) (run, error) {
	f := strings.Split(line, "\t")
	if len(f) < 7 {
		return run{}, fmt.Errorf("%d fields, want at least 7", len(f))
	}
	if f[3] != "adaptive" && f[3] != "pinned" {
		return run{}, fmt.Errorf("mode %q, want adaptive or pinned", f[3])
	}
	eff, err := strconv.ParseFloat(f[4], 64)
	if err != nil || !(eff >= 0) || math.IsInf(eff, 1) {
		return run{}, fmt.Errorf("efficiency %q", f[4])
	}
	refused, err := strconv.Atoi(f[5])
	if err != nil || refused < 0 {
		return run{}, fmt.Errorf("429s %q", f[5])
	}
	requests, err := strconv.Atoi(f[6])
	if err != nil || requests < 0 {
		return run{}, fmt.Errorf("requests %q", f[6])
	}
	return run{key: strings.Join(f[:4], " | "), group: strings.Join([]string{f[0], f[1], f[3]}, " | "), mode: f[3], eff: eff, refused: refused, requests: requests}, nil
}

// shared is the runs of a that b holds too.
func shared(a, b map[string]run) map[string]run {
	out := map[string]run{}
	for k, r := range a {
		if _, ok := b[k]; ok {
			out[k] = r
		}
	}
	return out
}

// pool merges each cell's runs over its seeds into one, keyed by group:
// the mean efficiency, the 429s and requests summed.
func pool(runs map[string]run) map[string]run {
	n := map[string]int{}
	out := map[string]run{}
	for _, r := range runs {
		p := out[r.group]
		p.key, p.group, p.mode = r.group, r.group, r.mode
		p.eff += r.eff
		p.refused += r.refused
		p.requests += r.requests
		out[r.group] = p
		n[r.group]++
	}
	for g, p := range out {
		p.eff /= float64(n[g])
		out[g] = p
	}
	return out
}

// read reads a table, its header line skipped.
func read(name string, r io.Reader) (map[string]run, error) {
	runs := map[string]run{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		if n == 1 && strings.HasPrefix(sc.Text(), "cell\t") {
			continue
		}
		r, err := parseLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		runs[r.key] = r
	}
	return runs, sc.Err()
}

func readFile(name string) (map[string]run, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(name, f)
}

// moved reports whether b differs from a by at least dEff in efficiency
// or dRefused (and a fifth of a's) in 429s, and whether it is worse.
func moved(a, b run, dEff float64, dRefused int) (changed, worse bool) {
	de := b.eff - a.eff
	dr := b.refused - a.refused
	effMoved := de >= dEff || -de >= dEff
	refMoved := (dr >= dRefused || -dr >= dRefused) && 5*abs(dr) >= a.refused
	if !effMoved && !refMoved {
		return false, false
	}
	if effMoved {
		return true, de < 0
	}
	return true, dr > 0
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func main() {
	dEff := flag.Float64("eff", 0.03, "least efficiency change shown")
	dRefused := flag.Int("refused", 3, "least change in 429s shown (and a fifth of the first table's)")
	seeds := flag.Bool("seeds", false, "compare each cell's runs over all its seeds (mean efficiency, 429s summed)")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: sweepcmp [-eff 0.03] [-refused 3] [-seeds] before.tsv after.tsv")
		os.Exit(2)
	}
	if err := compare(os.Stdout, flag.Arg(0), flag.Arg(1), *dEff, *dRefused, *seeds); err != nil {
		fmt.Fprintln(os.Stderr, "sweepcmp:", err)
		os.Exit(1)
	}
}

func compare(w io.Writer, before, after string, dEff float64, dRefused int, seeds bool) error {
	a, err := readFile(before)
	if err != nil {
		return err
	}
	b, err := readFile(after)
	if err != nil {
		return err
	}
	what := "runs"
	if seeds {
		// Only the runs both tables hold: a pinned run exists only where
		// the adaptive run learned flags, and two tables may differ there.
		a, b = shared(a, b), shared(b, a)
		a, b, what = pool(a), pool(b), "cells"
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		if _, ok := b[k]; ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return fmt.Errorf("the tables share no %s", strings.TrimSuffix(what, "s"))
	}
	sort.Strings(keys)
	type tally struct {
		n, worse, better, overA, overB int
		effA, effB                     float64
		refA, refB                     int
	}
	t := map[string]*tally{"adaptive": {}, "pinned": {}}
	for _, k := range keys {
		ra, rb := a[k], b[k]
		m := t[ra.mode]
		m.n++
		m.effA += ra.eff
		m.effB += rb.eff
		m.refA += ra.refused
		m.refB += rb.refused
		if ra.mode == "pinned" {
			ad := strings.TrimSuffix(k, "pinned") + "adaptive"
			if x, ok := a[ad]; ok && ra.refused > x.refused {
				m.overA++
			}
			if x, ok := b[ad]; ok && rb.refused > x.refused {
				m.overB++
			}
		}
		changed, worse := moved(ra, rb, dEff, dRefused)
		if !changed {
			continue
		}
		word := "better"
		if worse {
			word = "WORSE"
			m.worse++
		} else {
			m.better++
		}
		fmt.Fprintf(w, "%-6s %s: eff %.3f -> %.3f, 429s %d -> %d\n", word, k, ra.eff, rb.eff, ra.refused, rb.refused)
	}
	for _, mode := range []string{"adaptive", "pinned"} {
		m := t[mode]
		if m.n == 0 {
			continue
		}
		fmt.Fprintf(w, "%s: %d %s, %d worse, %d better; mean eff %.3f -> %.3f; 429s %d -> %d",
			mode, m.n, what, m.worse, m.better, m.effA/float64(m.n), m.effB/float64(m.n), m.refA, m.refB)
		if mode == "pinned" {
			fmt.Fprintf(w, "; pins over the rate %d -> %d", m.overA, m.overB)
		}
		fmt.Fprintln(w)
	}
	if len(keys) < len(a) || len(keys) < len(b) {
		fmt.Fprintf(w, "%d %s in %s only, %d in %s only\n", len(a)-len(keys), what, before, len(b)-len(keys), after)
	}
	return nil
}
