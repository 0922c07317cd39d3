package sender

import (
	"fmt"
	"testing"
	"time"
)

func TestRecipientSpacing(t *testing.T) {
	const iv = 2 * time.Second
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	// A step claims or releases one recipient; an empty claim is a release.
	type step struct {
		claim     bool
		recipient string
		at        time.Duration // now for a claim, sentAt for a release (-1: never sent)
		wantOK    bool
		wantAgain time.Duration // when not ok
	}
	tests := []struct {
		name     string
		interval time.Duration
		steps    []step
	}{
		{name: "off: every message goes", interval: 0, steps: []step{
			{claim: true, recipient: "a", at: 0, wantOK: true},
			{claim: true, recipient: "a", at: 0, wantOK: true},
		}},
		{name: "no recipient: never held", interval: iv, steps: []step{
			{claim: true, recipient: "", at: 0, wantOK: true},
			{claim: true, recipient: "", at: 0, wantOK: true},
		}},
		{name: "busy while on the wire: look again an interval later", interval: iv, steps: []step{
			{claim: true, recipient: "a", at: 0, wantOK: true},
			{claim: true, recipient: "a", at: time.Second, wantAgain: time.Second + iv},
			{claim: true, recipient: "b", at: time.Second, wantOK: true},
		}},
		{name: "the interval runs from when the message went out", interval: iv, steps: []step{
			{claim: true, recipient: "a", at: 0, wantOK: true},
			{recipient: "a", at: 500 * time.Millisecond},
			{claim: true, recipient: "a", at: time.Second, wantAgain: 500*time.Millisecond + iv},
			{claim: true, recipient: "a", at: 500*time.Millisecond + iv - 1, wantAgain: 500*time.Millisecond + iv},
			{claim: true, recipient: "a", at: 500*time.Millisecond + iv, wantOK: true},
		}},
		{name: "a message never sent releases from now", interval: iv, steps: []step{
			{claim: true, recipient: "a", at: 0, wantOK: true},
			{recipient: "a", at: -1}, // now is 3s
			{claim: true, recipient: "a", at: 4 * time.Second, wantAgain: 3*time.Second + iv},
			{claim: true, recipient: "a", at: 3*time.Second + iv, wantOK: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRecipientSpacing(tt.interval)
			for i, st := range tt.steps {
				if !st.claim {
					sent := time.Time{}
					if st.at >= 0 {
						sent = at(st.at)
					}
					s.release(st.recipient, sent, func() time.Time { return at(3 * time.Second) })
					continue
				}
				again, ok := s.claim(st.recipient, at(st.at))
				if ok != st.wantOK || (!ok && !again.Equal(at(st.wantAgain))) {
					t.Errorf("step %d: claim %q at %v = %v, %v; want %v, again at %v",
						i, st.recipient, st.at, again.Sub(t0), ok, st.wantOK, st.wantAgain)
				}
			}
		})
	}
}

// TestRecipientSpacingPurge: every spacingPurgeEvery messages the
// recipients whose interval is over are forgotten, so the map holds only
// recent ones; recipients on the wire or inside their interval stay.
func TestRecipientSpacingPurge(t *testing.T) {
	const iv = time.Second
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		claims   int           // distinct recipients claimed and released at t0
		onWire   bool          // the last one is still on the wire
		now      time.Duration // when the purging claim comes
		wantKept int           // entries left after it
	}{
		{"before the sweep nothing is forgotten", spacingPurgeEvery - 2, false, time.Hour, spacingPurgeEvery - 1},
		{"expired recipients are forgotten", spacingPurgeEvery - 1, false, time.Hour, 1},
		{"recipients inside their interval stay", spacingPurgeEvery - 1, false, iv / 2, spacingPurgeEvery},
		{"a recipient on the wire stays", spacingPurgeEvery - 1, true, time.Hour, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRecipientSpacing(iv)
			for i := range tt.claims {
				r := fmt.Sprint("r", i)
				if _, ok := s.claim(r, t0); !ok {
					t.Fatalf("claim %s refused", r)
				}
				if !tt.onWire || i < tt.claims-1 {
					s.release(r, t0, nil)
				}
			}
			if _, ok := s.claim("last", t0.Add(tt.now)); !ok {
				t.Fatal("the purging claim was refused")
			}
			if len(s.next) != tt.wantKept {
				t.Errorf("%d recipients kept, want %d", len(s.next), tt.wantKept)
			}
		})
	}
}
