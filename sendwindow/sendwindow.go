// Package sendwindow reads send windows ("Mon-Fri 09:00-20:00") and says
// when a message may go: quiet hours in the recipient's time zone, as US
// rules require for marketing texts (8:00 to 21:00 local time).
//
// A window's times are wall-clock times in a time zone, so a window keeps
// its local hours across a daylight saving change: 09:00 is 09:00 on both
// sides. A time that does not exist on a day (02:30 on the morning clocks
// spring forward) is read as Go's time.Date reads it.
//
// The package imports no other bulksend package. Import time/tzdata in the
// program (package cmd does) so that zones load on systems without a zone
// database.
package sendwindow

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is one weekly window: on each of Days, from Start to End (minutes
// after midnight). An End not after Start runs past midnight into the next
// day, so "22:00-06:00" is a night.
type Window struct {
	Days       [7]bool // indexed by time.Weekday
	Start, End int     // minutes after midnight; End may be 24*60
}

// Schedule is a set of windows: a message may go while any of them is open.
// The zero Schedule is always open.
type Schedule struct {
	Windows []Window
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// ErrSyntax is wrapped by every error of Parse.
var ErrSyntax = errors.New("invalid send window")

// Parse reads one window: days then a time range, "Mon-Fri 09:00-20:00",
// "Sat,Sun 10:00-14:00", "Fri-Mon 08:00-21:00" (a range may wrap past
// Sunday), "22:00-06:00" (no days: every day), "Mon 00:00-24:00". Day
// names are English, three letters or whole, in any case. Times are 24-hour
// HH:MM; a range ending at or before its start runs past midnight.
func Parse(s string) (Window, error) {
	fail := func(format string, a ...any) (Window, error) {
		return Window{}, fmt.Errorf("%w %q: %s", ErrSyntax, s, fmt.Sprintf(format, a...))
	}
	fields := strings.Fields(s)
	var w Window
	var times string
	switch len(fields) {
	case 1:
		times = fields[0]
		for i := range w.Days {
			w.Days[i] = true
		}
	case 2:
		times = fields[1]
		for _, part := range strings.Split(fields[0], ",") {
			from, to, isRange := strings.Cut(part, "-")
			a, ok := dayNames[strings.ToLower(from)]
			if !ok {
				return fail("%q is not a day (Mon, Tue, ... Sun)", from)
			}
			b := a
			if isRange {
				if b, ok = dayNames[strings.ToLower(to)]; !ok {
					return fail("%q is not a day (Mon, Tue, ... Sun)", to)
				}
			}
			for d := a; ; d = (d + 1) % 7 {
				w.Days[d] = true
				if d == b {
					break
				}
			}
		}
	default:
		return fail("want days and times, like Mon-Fri 09:00-20:00")
	}
	from, to, ok := strings.Cut(times, "-")
	if !ok {
		return fail("%q is not a time range like 09:00-20:00", times)
	}
	var err error
	if w.Start, err = clock(from, false); err != nil {
		return fail("%v", err)
	}
	if w.End, err = clock(to, true); err != nil {
		return fail("%v", err)
	}
	if w.Start == w.End%(24*60) && w.End != 24*60 {
		return fail("the window is empty (it starts when it ends)")
	}
	return w, nil
}

// clock reads HH:MM as minutes after midnight; 24:00 only as an end.
func clock(s string, end bool) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) < 1 || len(hh) > 2 || len(mm) != 2 {
		return 0, fmt.Errorf("%q is not a time like 09:00", s)
	}
	h, err1 := strconv.ParseUint(hh, 10, 8)
	m, err2 := strconv.ParseUint(mm, 10, 8)
	switch {
	case err1 != nil || err2 != nil || m > 59:
		return 0, fmt.Errorf("%q is not a time like 09:00", s)
	case h == 24 && m == 0 && end:
		return 24 * 60, nil
	case h > 23:
		return 0, fmt.Errorf("%q is past the end of the day (24:00 only as an end)", s)
	}
	return int(h)*60 + int(m), nil
}

// ParseSchedule reads each of specs with Parse into one Schedule.
func ParseSchedule(specs []string) (Schedule, error) {
	var s Schedule
	for _, spec := range specs {
		w, err := Parse(spec)
		if err != nil {
			return Schedule{}, err
		}
		s.Windows = append(s.Windows, w)
	}
	return s, nil
}

// String is the window as Parse reads it.
func (w Window) String() string {
	var days []string
	all := true
	for d := time.Sunday; d <= time.Saturday; d++ {
		if w.Days[d] {
			days = append(days, d.String()[:3])
		} else {
			all = false
		}
	}
	times := fmt.Sprintf("%02d:%02d-%02d:%02d", w.Start/60, w.Start%60, w.End/60, w.End%60)
	if all {
		return times
	}
	return strings.Join(days, ",") + " " + times
}

// span is one opening of a window: the instants it opens and closes.
type span struct{ open, close time.Time }

// spans are w's openings that start on the local day of date (in its
// location).
func (w Window) span(date time.Time) (span, bool) {
	if !w.Days[date.Weekday()] {
		return span{}, false
	}
	y, m, d := date.Date()
	loc := date.Location()
	open := time.Date(y, m, d, w.Start/60, w.Start%60, 0, 0, loc)
	endDay := d
	if w.End <= w.Start {
		endDay++
	}
	close := time.Date(y, m, endDay, 0, w.End, 0, 0, loc)
	return span{open, close}, true
}

// Next reports when a message may go, at t or later, in loc: t itself while
// a window is open, else the next opening, and the time the window it goes
// in closes. ok is false only for a Schedule with windows on no day. The
// zero Schedule is always open (close is the zero time).
func (s Schedule) Next(t time.Time, loc *time.Location) (at, closes time.Time, ok bool) {
	if len(s.Windows) == 0 {
		return t, time.Time{}, true
	}
	local := t.In(loc)
	y, m, d := local.Date()
	// A window that opened yesterday may still be open (a night); one
	// opening within the week is the latest a weekly window can be.
	for off := -1; off <= 7; off++ {
		date := time.Date(y, m, d+off, 12, 0, 0, 0, loc)
		for _, w := range s.Windows {
			sp, on := w.span(date)
			if !on || !sp.close.After(local) {
				continue
			}
			if !sp.open.After(local) {
				return local, sp.close, true
			}
			if !ok || sp.open.Before(at) {
				at, closes, ok = sp.open, sp.close, true
			}
		}
		if ok && off >= 0 && at.Before(time.Date(y, m, d+off+1, 0, 0, 0, 0, loc)) {
			// Later days open later still.
			return at, closes, true
		}
	}
	return at, closes, ok
}

// In is s in the time zone loc: the sender.Window of a message to a
// recipient there.
func (s Schedule) In(loc *time.Location) Zoned { return Zoned{s, loc} }

// Zoned is a Schedule in a time zone.
type Zoned struct {
	Schedule Schedule
	Loc      *time.Location
}

// Next reports when a message may go, at t or later: t while a window is
// open, else the next opening, in the zone's local time. ok is false when
// no window ever opens.
func (z Zoned) Next(t time.Time) (time.Time, bool) {
	at, _, ok := z.Schedule.Next(t, z.Loc)
	return at, ok
}
