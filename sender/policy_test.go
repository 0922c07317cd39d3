package sender

import (
	"strings"
	"testing"
)

// TestErrorPolicyMaxErrors feeds the policy a run's final results, one
// letter each (s sent, f failed, u unknown, i invalid, d duplicate, k
// skipped), and checks at which result it first says the run failed too
// often.
func TestErrorPolicyMaxErrors(t *testing.T) {
	status := map[rune]Status{'s': StatusSent, 'f': StatusFailed, 'u': StatusUnknown,
		'i': StatusInvalid, 'd': StatusDuplicate, 'k': StatusSkipped}
	tests := []struct {
		name      string
		maxErrors int
		maxShare  float64
		results   string
		wantStop  int // 1-based result at which it stops; 0: never
	}{
		{name: "off", results: strings.Repeat("f", 500)},
		{name: "count reached", maxErrors: 3, results: "fsfsf" + "sss", wantStop: 5},
		{name: "unknown counts as failed", maxErrors: 2, results: "uf", wantStop: 2},
		{name: "invalid, duplicate and skipped do not count", maxErrors: 1, results: "idkidks"},
		{name: "once over, stays over", maxErrors: 1, results: "fs", wantStop: 1},
		{name: "share needs minErrorSample results", maxShare: 0.5,
			results: strings.Repeat("f", minErrorSample-1) + "s", wantStop: minErrorSample},
		{name: "share just under", maxShare: 0.5, results: strings.Repeat("fss", 40)},
		{name: "share reached", maxShare: 0.5, results: strings.Repeat("fs", 20), wantStop: minErrorSample},
		{name: "share of the last window only", maxShare: 0.5,
			results: strings.Repeat("s", 80) + strings.Repeat("f", 50), wantStop: 80 + 50},
		{name: "old failures leave the window", maxShare: 0.5,
			results: strings.Repeat("s", 10) + strings.Repeat("fs", 5) + strings.Repeat("s", 300)},
		{name: "rows not sent are not in the share", maxShare: 0.5,
			results: strings.Repeat("fsi", minErrorSample), wantStop: 3*minErrorSample/2 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newErrorPolicy(tt.maxErrors, tt.maxShare, DefaultRetryBudget)
			stopped := 0
			for i, c := range tt.results {
				if p.settled(status[c]) && stopped == 0 {
					stopped = i + 1
				}
			}
			if stopped != tt.wantStop {
				t.Errorf("stopped at result %d, want %d", stopped, tt.wantStop)
			}
		})
	}
}

// TestErrorPolicyRetryBudget: r spends a retry, s is a success that earns
// RetryBudgetRefill back (up to five times the budget).
func TestErrorPolicyRetryBudget(t *testing.T) {
	tests := []struct {
		name     string
		budget   float64
		events   string
		wantDeny int // 1-based event at which a retry is first refused; 0: never
	}{
		{name: "budget spent", budget: 3, events: "rrrr", wantDeny: 4},
		{name: "unbudgeted", budget: -1, events: strings.Repeat("r", 1000)},
		{name: "two successes earn one retry", budget: 2, events: "ss" + "rrrr", wantDeny: 6},
		{name: "one success earns half", budget: 2, events: "s" + "rrrr", wantDeny: 4},
		{name: "refill capped at five times the budget", budget: 2,
			events: strings.Repeat("s", 100) + strings.Repeat("r", 11), wantDeny: 100 + 11},
		{name: "refill between retries", budget: 1, events: "r" + "ss" + "r" + "r", wantDeny: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newErrorPolicy(0, 0, tt.budget)
			denied := 0
			for i, c := range tt.events {
				switch c {
				case 's':
					p.settled(StatusSent)
				case 'r':
					if !p.retry() && denied == 0 {
						denied = i + 1
					}
				}
			}
			if denied != tt.wantDeny {
				t.Errorf("retry first refused at event %d, want %d", denied, tt.wantDeny)
			}
		})
	}
}
