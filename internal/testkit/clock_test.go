package testkit

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fired reports whether ch has a value, without waiting.
func fired(ch <-chan time.Time) (time.Time, bool) {
	select {
	case at := <-ch:
		return at, true
	default:
		return time.Time{}, false
	}
}

func TestClockTimers(t *testing.T) {
	tests := []struct {
		name    string
		timers  []time.Duration
		advance func(c *Clock)
		want    []bool // which timers fired
		now     time.Duration
	}{
		{"nothing due", []time.Duration{time.Second}, func(c *Clock) { c.Advance(999 * time.Millisecond) }, []bool{false}, 999 * time.Millisecond},
		{"due exactly", []time.Duration{time.Second}, func(c *Clock) { c.Advance(time.Second) }, []bool{true}, time.Second},
		{"zero fires at once", []time.Duration{0, -time.Second}, func(*Clock) {}, []bool{true, true}, 0},
		{"to the next only", []time.Duration{3 * time.Second, time.Second, time.Second}, (*Clock).AdvanceToNext, []bool{false, true, true}, time.Second},
		{"to next with none", nil, (*Clock).AdvanceToNext, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock(t0)
			var chs []<-chan time.Time
			for _, d := range tt.timers {
				ch, _ := c.NewTimer(d)
				chs = append(chs, ch)
			}
			tt.advance(c)
			for i, ch := range chs {
				at, ok := fired(ch)
				if ok != tt.want[i] {
					t.Errorf("timer %d (%v) fired %v, want %v", i, tt.timers[i], ok, tt.want[i])
				}
				if ok && !at.Equal(c.Now()) {
					t.Errorf("timer %d fired with %v, want the clock's %v", i, at, c.Now())
				}
			}
			if got := c.Now().Sub(t0); got != tt.now {
				t.Errorf("clock moved %v, want %v", got, tt.now)
			}
			if c.Created() != len(tt.timers) {
				t.Errorf("Created = %d, want %d", c.Created(), len(tt.timers))
			}
		})
	}
}

func TestClockStop(t *testing.T) {
	c := NewClock(t0)
	ch, stop := c.NewTimer(time.Second)
	if c.Pending() != 1 {
		t.Fatalf("Pending = %d, want 1", c.Pending())
	}
	if !stop() || stop() {
		t.Error("stop: want true once, then false")
	}
	c.Advance(time.Hour)
	if _, ok := fired(ch); ok || c.Pending() != 0 {
		t.Errorf("a stopped timer fired, or is still pending (%d)", c.Pending())
	}
}

func TestJumpClock(t *testing.T) {
	c := NewJumpClock(t0)
	var moved []time.Time
	c.OnMove(func(at time.Time) { moved = append(moved, at) })
	ch, stop := c.NewTimer(2 * time.Second)
	at, ok := fired(ch)
	if !ok || !at.Equal(t0.Add(2*time.Second)) || !c.Now().Equal(at) {
		t.Fatalf("timer fired %v at %v, clock at %v; want at once at t0+2s", ok, at, c.Now())
	}
	if stop() || c.Pending() != 0 {
		t.Error("a jump timer is never pending")
	}
	if len(moved) != 1 || !moved[0].Equal(at) {
		t.Errorf("OnMove saw %v, want [%v]", moved, at)
	}
}
