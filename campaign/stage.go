package campaign

import (
	"fmt"
	"time"

	"github.com/bulksend/bulksend/sender"
	"github.com/bulksend/bulksend/sendwindow"
)

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
// rules of which rows go and when: the send window in the row's zone.
type stagedBuilder struct {
	sender.Builder
	windows *Windows
	zones   map[string]*time.Location // loaded zones, and nil for unknown names
}

// stage wraps b with the stages opts asks for; b itself when none.
func stage(b sender.Builder, opts Options) sender.Builder {
	if opts.Windows == nil {
		return b
	}
	return &stagedBuilder{Builder: b, windows: opts.Windows, zones: make(map[string]*time.Location)}
}

// Build renders row and sets its window.
func (s *stagedBuilder) Build(row sender.Row) *sender.Message {
	m := s.Builder.Build(row)
	if m == nil || m.Invalid != nil || m.Skip != "" || s.windows == nil {
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
