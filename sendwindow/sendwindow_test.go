package sendwindow

import (
	"errors"
	"testing"
	"time"
	_ "time/tzdata" // the tests' zones, whatever the machine has
)

func TestParse(t *testing.T) {
	weekdays := [7]bool{false, true, true, true, true, true, false}
	every := [7]bool{true, true, true, true, true, true, true}
	tests := []struct {
		name    string
		in      string
		want    Window
		wantErr bool
	}{
		{name: "weekdays", in: "Mon-Fri 09:00-20:00", want: Window{Days: weekdays, Start: 9 * 60, End: 20 * 60}},
		{name: "whole names, any case", in: "monday-FRIDAY 9:00-20:00", want: Window{Days: weekdays, Start: 9 * 60, End: 20 * 60}},
		{name: "a list", in: "Sat,Sun 10:00-14:30",
			want: Window{Days: [7]bool{true, false, false, false, false, false, true}, Start: 10 * 60, End: 14*60 + 30}},
		{name: "a range past Sunday", in: "Fri-Mon 08:00-21:00",
			want: Window{Days: [7]bool{true, true, false, false, false, true, true}, Start: 8 * 60, End: 21 * 60}},
		{name: "no days is every day", in: "08:00-21:00", want: Window{Days: every, Start: 8 * 60, End: 21 * 60}},
		{name: "a night", in: "22:00-06:00", want: Window{Days: every, Start: 22 * 60, End: 6 * 60}},
		{name: "a whole day", in: "Mon 00:00-24:00",
			want: Window{Days: [7]bool{false, true}, Start: 0, End: 24 * 60}},
		{name: "spaces around", in: "  Mon-Fri   09:00-20:00 ", want: Window{Days: weekdays, Start: 9 * 60, End: 20 * 60}},
		{name: "empty", in: "", wantErr: true},
		{name: "unknown day", in: "Mon-Fry 09:00-20:00", wantErr: true},
		{name: "no range", in: "Mon 09:00", wantErr: true},
		{name: "hour too large", in: "Mon 09:00-25:00", wantErr: true},
		{name: "24:00 only as an end", in: "Mon 24:00-06:00", wantErr: true},
		{name: "minutes", in: "Mon 09:60-10:00", wantErr: true},
		{name: "starts when it ends", in: "Mon 09:00-09:00", wantErr: true},
		{name: "three fields", in: "Mon 09:00 20:00", wantErr: true},
		{name: "signs", in: "Mon +9:00-20:00", wantErr: true},
		{name: "empty day in a list", in: "Mon,,Tue 09:00-20:00", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("Parse(%q) = %+v, %v; want an ErrSyntax", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			again, err := Parse(got.String())
			if err != nil || again != got {
				t.Errorf("String %q parses back as %+v, %v", got.String(), again, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Mon-Fri 09:00-20:00", "22:00-06:00", "Sat,Sun 10:00-14:30", "Mon 00:00-24:00", "Fri-Mon 8:00-21:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := Parse(s)
		if err != nil {
			return
		}
		if w.Start < 0 || w.Start >= 24*60 || w.End < 0 || w.End > 24*60 {
			t.Fatalf("Parse(%q) = %+v: times out of the day", s, w)
		}
		again, err := Parse(w.String())
		if err != nil || again != w {
			t.Fatalf("Parse(%q) = %+v, whose String %q parses as %+v, %v", s, w, w.String(), again, err)
		}
		// A schedule of a window that parses always opens within a week.
		at, closes, ok := Schedule{Windows: []Window{w}}.Next(time.Date(2026, 3, 8, 1, 0, 0, 0, time.UTC), time.UTC)
		if !ok || at.IsZero() || !closes.After(at) {
			t.Fatalf("%q: next opening %v, closing %v, %v", s, at, closes, ok)
		}
	})
}

func mustSchedule(t *testing.T, specs ...string) Schedule {
	t.Helper()
	s, err := ParseSchedule(specs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestNext: when a message may go, with an injected time, across both
// daylight saving changes of New York (8 March and 1 November 2026): a
// window keeps its local hours, so its instants move by an hour.
func TestNext(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	utc := func(y int, m time.Month, d, h, min int) time.Time { return at(time.UTC, y, m, d, h, min) }
	tests := []struct {
		name       string
		specs      []string
		loc        *time.Location
		now        time.Time
		want       time.Time
		wantCloses time.Time
	}{
		{name: "open now", specs: []string{"Mon-Fri 09:00-20:00"}, loc: ny,
			now: at(ny, 2026, 3, 4, 12, 0), want: at(ny, 2026, 3, 4, 12, 0), wantCloses: at(ny, 2026, 3, 4, 20, 0)},
		{name: "before the opening", specs: []string{"Mon-Fri 09:00-20:00"}, loc: ny,
			now: at(ny, 2026, 3, 4, 7, 30), want: at(ny, 2026, 3, 4, 9, 0), wantCloses: at(ny, 2026, 3, 4, 20, 0)},
		{name: "at the closing it is closed", specs: []string{"Mon-Fri 09:00-20:00"}, loc: ny,
			now: at(ny, 2026, 3, 4, 20, 0), want: at(ny, 2026, 3, 5, 9, 0), wantCloses: at(ny, 2026, 3, 5, 20, 0)},
		{name: "Friday evening waits for Monday", specs: []string{"Mon-Fri 09:00-20:00"}, loc: ny,
			now: at(ny, 2026, 2, 27, 21, 0), want: at(ny, 2026, 3, 2, 9, 0), wantCloses: at(ny, 2026, 3, 2, 20, 0)},
		{name: "over the spring change: 09:00 EDT is 13:00 UTC, not 14:00", specs: []string{"09:00-20:00"}, loc: ny,
			now:  utc(2026, 3, 8, 1, 30), // Saturday 20:30 EST
			want: utc(2026, 3, 8, 13, 0), wantCloses: utc(2026, 3, 9, 0, 0)},
		{name: "the day before the spring change, 09:00 EST is 14:00 UTC", specs: []string{"09:00-20:00"}, loc: ny,
			now: utc(2026, 3, 7, 3, 0), want: utc(2026, 3, 7, 14, 0), wantCloses: utc(2026, 3, 8, 1, 0)},
		{name: "over the autumn change: 09:00 EST is 14:00 UTC", specs: []string{"09:00-20:00"}, loc: ny,
			now:  utc(2026, 11, 1, 3, 0), // Saturday 23:00 EDT
			want: utc(2026, 11, 1, 14, 0), wantCloses: utc(2026, 11, 2, 1, 0)},
		{name: "a night open across the spring change", specs: []string{"22:00-06:00"}, loc: ny,
			now:  utc(2026, 3, 8, 8, 0), // 04:00 EDT, opened 22:00 EST
			want: utc(2026, 3, 8, 8, 0), wantCloses: utc(2026, 3, 8, 10, 0)},
		{name: "the earliest of several windows", specs: []string{"Sat 12:00-14:00", "Mon-Fri 09:00-20:00"}, loc: tokyo,
			now: at(tokyo, 2026, 3, 6, 22, 0), want: at(tokyo, 2026, 3, 7, 12, 0), wantCloses: at(tokyo, 2026, 3, 7, 14, 0)},
		{name: "the same instant in another zone", specs: []string{"Mon-Fri 09:00-20:00"}, loc: tokyo,
			now:  at(ny, 2026, 3, 4, 12, 0), // 02:00 Thursday in Tokyo
			want: at(tokyo, 2026, 3, 5, 9, 0), wantCloses: at(tokyo, 2026, 3, 5, 20, 0)},
		{name: "no windows: always open", loc: ny, now: utc(2026, 3, 8, 7, 0), want: utc(2026, 3, 8, 7, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSchedule(t, tt.specs...)
			got, closes, ok := s.Next(tt.now, tt.loc)
			if !ok || !got.Equal(tt.want) || !closes.Equal(tt.wantCloses) {
				t.Errorf("Next(%v) = %v closing %v, %v; want %v closing %v", tt.now, got, closes, ok, tt.want, tt.wantCloses)
			}
			if zg, ok := s.In(tt.loc).Next(tt.now); !ok || !zg.Equal(tt.want) {
				t.Errorf("Zoned.Next = %v, %v; want %v", zg, ok, tt.want)
			}
		})
	}
}
