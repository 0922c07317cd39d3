// Package suppress reads and extends an opt-out list: recipients who must
// never get a message (they unsubscribed, or their number does not exist).
//
// A list is a text file with one recipient a line (blank lines and lines
// starting with # are skipped), or a CSV file whose header names a
// recipient column (recipient, to, phone, number, msisdn, email or
// address). Phone numbers are compared in E.164 form, so "+1 (555)
// 000-0001", "+15550000001" and "0015550000001" are one recipient, and a
// number written without its + ("15550000001") matches it too; e-mail
// addresses are compared without regard to case.
//
// Its lock is package report's (report.Lock), so a list is never updated
// by two runs at once.
package suppress

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bulksend/bulksend/report"
)

// List is a loaded opt-out list.
type List struct {
	// Path is the file the list was read from.
	Path string
	line map[string]int // recipient key -> the line it is on
	// column is the recipient's column in a CSV list, and width the
	// header's; column < 0 for a plain list.
	column, width int
}

// recipientColumns are the header names that mark a CSV list's column.
var recipientColumns = []string{"recipient", "to", "phone", "number", "msisdn", "email", "address"}

// Load reads the list at path. A missing file is an empty list, so that
// the first --suppress-update can create it.
func Load(path string) (*List, error) {
	l := &List{Path: path, line: make(map[string]int), column: -1}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open suppress list: %w", err)
	}
	defer f.Close()
	if err := l.read(f); err != nil {
		return nil, fmt.Errorf("read suppress list %s: %w", path, err)
	}
	return l, nil
}

// read fills l from r: a CSV list when the first line is a header naming a
// recipient column, else one recipient a line.
func (l *List) read(r io.Reader) error {
	br := bufio.NewReader(r)
	first, err := br.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	head, _, _ := strings.Cut(string(first), "\n")
	head = strings.TrimPrefix(strings.TrimSpace(head), "\ufeff")
	if strings.Contains(head, ",") || slices.Contains(recipientColumns, strings.ToLower(head)) {
		header, err := csv.NewReader(strings.NewReader(head)).Read()
		if err == nil {
			for i, h := range header {
				if slices.Contains(recipientColumns, strings.ToLower(strings.TrimSpace(h))) {
					l.column, l.width = i, len(header)
					return l.readCSV(br)
				}
			}
		}
		if strings.Contains(head, ",") {
			return fmt.Errorf("line 1: a CSV list needs a column named one of %s", strings.Join(recipientColumns, ", "))
		}
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		v := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if v == "" || strings.HasPrefix(v, "#") {
			continue
		}
		l.add(report.UnguardCell(v), n)
	}
	return sc.Err()
}

func (l *List) readCSV(r io.Reader) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	if _, err := cr.Read(); err != nil { // the header, read already
		return err
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		n, _ := cr.FieldPos(0)
		if l.column < len(rec) {
			l.add(report.UnguardCell(rec[l.column]), n)
		}
	}
}

func (l *List) add(v string, n int) {
	if k := Key(v); k != "" {
		if _, seen := l.line[k]; !seen {
			l.line[k] = n
		}
	}
}

// Len is how many recipients the list holds.
func (l *List) Len() int { return len(l.line) }

// Lookup reports whether recipient is on the list, and the line it is on.
func (l *List) Lookup(recipient string) (line int, ok bool) {
	k := Key(recipient)
	if k == "" {
		return 0, false
	}
	line, ok = l.line[k]
	return line, ok
}

// Key is the form recipients are compared in: a phone number in E.164
// (an international prefix 00 read as +, and a number without either read
// as if it had the +, so that it still matches), an address in lower case,
// anything else trimmed. Key(Key(v)) is Key(v).
func Key(v string) string {
	v = strings.TrimSpace(v)
	for again := true; again; {
		again = false
		for _, p := range []string{"whatsapp:", "tel:"} {
			if rest, ok := strings.CutPrefix(v, p); ok {
				v, again = strings.TrimSpace(rest), true
			}
		}
	}
	if e, ok := E164(v); ok {
		return e
	}
	if strings.Contains(v, "@") {
		return strings.ToLower(v)
	}
	return v
}

// E164 reads v as a phone number: a + (or 00) and 7 to 15 digits, or 7 to
// 15 digits alone, with spaces, dots, dashes and parentheses between them.
// It returns "+" and the digits.
func E164(v string) (string, bool) {
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(v, "+"):
		v = v[1:]
	case strings.HasPrefix(v, "00"):
		v = v[2:]
	}
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	if n := b.Len() - 1; n < 7 || n > 15 {
		return "", false
	}
	return b.String(), true
}

// lockWait is how often Append tries again for a lock another run holds.
const lockWait = 50 * time.Millisecond

// lock takes the list's lock, waiting while another run holds it (its
// update is short) until ctx ends.
func lock(ctx context.Context, path string) (release func() error, err error) {
	t := time.NewTicker(lockWait)
	defer t.Stop()
	for {
		release, err := report.Lock(path)
		if !errors.Is(err, report.ErrLocked) {
			return release, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock suppress list: %w", err)
		case <-t.C:
		}
	}
}

// Append adds recipients not yet on the list at path to its end, creating
// it if missing. The file is locked against another run's Append for the
// whole update, and replaced atomically (a temp file synced, then renamed),
// so a crash leaves the old list or the new one, never half of it. It
// returns how many recipients it added.
func Append(ctx context.Context, path string, recipients []string) (added int, err error) {
	release, err := lock(ctx, path)
	if err != nil {
		return 0, err
	}
	defer func() {
		if rerr := release(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	l, err := Load(path)
	if err != nil {
		return 0, err
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("read suppress list: %w", err)
	}
	var b strings.Builder
	b.Write(old)
	if len(old) > 0 && old[len(old)-1] != '\n' {
		b.WriteByte('\n')
	}
	for _, r := range recipients {
		if _, on := l.Lookup(r); on || Key(r) == "" {
			continue
		}
		l.add(r, -1)
		added++
		// A list is opened in spreadsheets like a report: a recipient
		// that could start a formula is written as text.
		cell := report.GuardCell(strings.TrimSpace(r))
		if l.column < 0 {
			b.WriteString(cell + "\n")
			continue
		}
		rec := make([]string, l.width)
		rec[l.column] = cell
		w := csv.NewWriter(&b)
		_ = w.Write(rec)
		w.Flush()
	}
	if added == 0 {
		return 0, nil
	}
	if err := writeAtomic(path, []byte(b.String())); err != nil {
		return 0, err
	}
	return added, nil
}

// tmpSuffix names writeAtomic's temp files: the list's name, this, and
// os.CreateTemp's random digits. report.Lock removes those a killed run
// left behind when it takes the list's lock.
const tmpSuffix = ".tmp-"

// writeAtomic replaces path with data: a temp file beside it, synced,
// renamed over it and the directory synced, keeping the old file's
// permissions, so a crash leaves the old list or the new one.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+tmpSuffix)
	if err != nil {
		return fmt.Errorf("update suppress list: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("update suppress list: %w", err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("update suppress list: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("update suppress list: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("update suppress list: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("update suppress list: %w", err)
	}
	if err := report.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("update suppress list: %w", err)
	}
	return nil
}
