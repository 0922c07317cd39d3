package campaign

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/bulksend/bulksend/sender"
	"github.com/bulksend/bulksend/sendwindow"
	"github.com/bulksend/bulksend/suppress"
)

// Suppress is an opt-out list: rows to its recipients are skipped with the
// error "suppressed (FILE:LINE)" and never sent.
type Suppress struct {
	List *suppress.List
	// Update appends to the list the recipients whose send failed with a
	// vendor's opt-out or invalid-number code (optOutCodes), so the next
	// campaign skips them.
	Update bool
}

// optOutCodes match a failed row's error when the vendor said the
// recipient opted out or the number cannot receive messages: Twilio 21610
// (unsubscribed), 21211 (invalid To) and 21614 (not a mobile number).
// Genesys Cloud publishes no such code for agentless messages.
var optOutCodes = regexp.MustCompile(`^HTTP 4\d\d: (21610|21211|21614)\b`)

// optOutJournal records the recipients whose send failed with one of
// optOutCodes, for Suppress.Update, on the way to the journal.
type optOutJournal struct {
	sender.Journal
	mu       sync.Mutex
	inFlight map[int]string // line -> recipient of the rows begun
	optedOut map[int]string // line -> recipient, of the rows that opted out
}

func newOptOutJournal(j sender.Journal) *optOutJournal {
	return &optOutJournal{Journal: j, inFlight: make(map[int]string), optedOut: make(map[int]string)}
}

func (j *optOutJournal) Begin(m *sender.Message) error {
	if m.Recipient != "" {
		j.mu.Lock()
		j.inFlight[m.Line] = m.Recipient
		j.mu.Unlock()
	}
	return j.Journal.Begin(m)
}

func (j *optOutJournal) Record(r *sender.Result) error {
	j.mu.Lock()
	if to, ok := j.inFlight[r.Line]; ok && r.Status.Final() {
		delete(j.inFlight, r.Line)
		if r.Status == sender.StatusFailed && optOutCodes.MatchString(r.Error) {
			j.optedOut[r.Line] = to
		}
	}
	j.mu.Unlock()
	return j.Journal.Record(r)
}

// recipients are the recipients that opted out, so far, in input order.
func (j *optOutJournal) recipients() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	lines := slices.Sorted(maps.Keys(j.optedOut))
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = j.optedOut[l]
	}
	return out
}

// Windows hold each message until its send window is open in the
// recipient's time zone (sender.Message.Window).
type Windows struct {
	Schedule sendwindow.Schedule
	// Zone is the zone of every row, or of a row whose ZoneField is empty;
	// nil means the local zone.
	Zone *time.Location
	// ZoneField names the column with each row's IANA zone
	// ("Europe/Paris"); a row with an unknown zone is invalid.
	ZoneField string
}

// stagedBuilder renders rows with the preset's builder, then applies the
// rules of which rows go and when: the opt-out list, then the send window
// in the row's zone.
type stagedBuilder struct {
	sender.Builder
	suppress *Suppress
	windows  *Windows
	zones    map[string]*time.Location // loaded zones, and nil for unknown names
}

// stage wraps b with the stages opts asks for; b itself when none.
func stage(b sender.Builder, opts Options) sender.Builder {
	if opts.Windows == nil && opts.Suppress == nil {
		return b
	}
	return &stagedBuilder{Builder: b, suppress: opts.Suppress, windows: opts.Windows, zones: make(map[string]*time.Location)}
}

// Build renders row, skips it if its recipient opted out, and sets its
// window.
func (s *stagedBuilder) Build(row sender.Row) *sender.Message {
	m := s.Builder.Build(row)
	if m == nil || m.Invalid != nil || m.Skip != "" {
		return m
	}
	if s.suppress != nil && m.Recipient != "" {
		if line, ok := s.suppress.List.Lookup(m.Recipient); ok {
			m.Skip, m.Reason = sender.StatusSkipped, fmt.Sprintf("suppressed (%s:%d)", s.suppress.List.Path, line)
			return m
		}
	}
	if s.windows == nil {
		return m
	}
	loc, err := s.zone(row)
	if err != nil {
		m.Invalid = err
		return m
	}
	m.Window = s.windows.Schedule.In(loc)
	return m
}

// zone is row's time zone.
func (s *stagedBuilder) zone(row sender.Row) (*time.Location, error) {
	w := s.windows
	name := ""
	if w.ZoneField != "" {
		name = row.Fields[w.ZoneField]
	}
	if name == "" {
		if w.Zone == nil {
			return time.Local, nil
		}
		return w.Zone, nil
	}
	loc, seen := s.zones[name]
	if !seen {
		// Zone names repeat from row to row; loading one reads the zone
		// database, so each is loaded once (a few hundred exist).
		loc, _ = time.LoadLocation(name)
		if len(s.zones) < 1024 {
			s.zones[name] = loc
		}
	}
	if loc == nil {
		return nil, fmt.Errorf("column %q: %q is not a time zone (an IANA name like America/New_York)", w.ZoneField, name)
	}
	return loc, nil
}
