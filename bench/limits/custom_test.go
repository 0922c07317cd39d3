package main

import (
	"io"
	"slices"
	"testing"

	"github.com/bulksend/bulksend/internal/testkit"
)

func TestParseCustom(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []realScenario
		wantErr string
	}{
		{"nginx burst defaults to the limit", "nginx:20/1s", []realScenario{
			{Name: "nginx:20/1s", Kind: "nginx", Algorithm: algoLeaky, Limit: 20, WindowSeconds: 1, Burst: 20}}, ""},
		{"several with options", " nginx:20/1s:burst=3:status=503, haproxy:50/500ms,express:5/1s:style=retry-after:rows=60,httprate:300/1s", []realScenario{
			{Name: "nginx:20/1s:burst=3:status=503", Kind: "nginx", Algorithm: algoLeaky, Limit: 20, WindowSeconds: 1, Burst: 3, Status: 503},
			{Name: "haproxy:50/500ms", Kind: "haproxy", Algorithm: algoSliding, Limit: 50, WindowSeconds: 0.5},
			{Name: "express:5/1s:style=retry-after:rows=60", Kind: "express", Algorithm: algoFixed, Limit: 5, WindowSeconds: 1, Style: "retry-after", Rows: 60},
			{Name: "httprate:300/1s", Kind: "httprate", Algorithm: algoSliding, Limit: 300, WindowSeconds: 1},
		}, ""},
		{"nginx without a burst", "nginx:50/1s:noburst", []realScenario{
			{Name: "nginx:50/1s:noburst", Kind: "nginx", Algorithm: algoLeaky, Limit: 50, WindowSeconds: 1, NoBurst: true}}, ""},
		{"a Go bucket's burst is its limit", "throttled:100/1s,flexible:15/150ms:style=date", []realScenario{
			{Name: "throttled:100/1s", Kind: "throttled", Algorithm: algoBucket, Limit: 100, WindowSeconds: 1, Burst: 100},
			{Name: "flexible:15/150ms:style=date", Kind: "flexible", Algorithm: algoFixed, Limit: 15, WindowSeconds: 0.15, Style: "date"}}, ""},
		{"a sliding log with a style", "rolling:10/1s:style=info,rolling:15/150ms", []realScenario{
			{Name: "rolling:10/1s:style=info", Kind: "rolling", Algorithm: algoSliding, Limit: 10, WindowSeconds: 1, Style: "info"},
			{Name: "rolling:15/150ms", Kind: "rolling", Algorithm: algoSliding, Limit: 15, WindowSeconds: 0.15}}, ""},
		{"another concurrency", "haproxy:100/1s:conc=32,ulule:15/150ms:conc=1", []realScenario{
			{Name: "haproxy:100/1s:conc=32", Kind: "haproxy", Algorithm: algoSliding, Limit: 100, WindowSeconds: 1, Concurrency: 32},
			{Name: "ulule:15/150ms:conc=1", Kind: "ulule", Algorithm: algoFixed, Limit: 15, WindowSeconds: 0.15, Concurrency: 1}}, ""},
		{"a slow backend", "nginx:5/1s:noburst:latency=150ms", []realScenario{
			{Name: "nginx:5/1s:noburst:latency=150ms", Kind: "nginx", Algorithm: algoLeaky, Limit: 5, WindowSeconds: 1, NoBurst: true, LatencySeconds: 0.15}}, ""},
		{"latency not a duration", "nginx:5/1s:latency=150", nil, "want a duration above 0"},
		{"a long network path", "haproxy:100/1s:wire=50ms,express:100/1s:style=none:wire=20ms", []realScenario{
			{Name: "haproxy:100/1s:wire=50ms", Kind: "haproxy", Algorithm: algoSliding, Limit: 100, WindowSeconds: 1, WireSeconds: 0.05},
			{Name: "express:100/1s:style=none:wire=20ms", Kind: "express", Algorithm: algoFixed, Limit: 100, WindowSeconds: 1, Style: "none", WireSeconds: 0.02}}, ""},
		{"wire not a duration", "haproxy:5/1s:wire=50", nil, "want a duration above 0"},
		{"wire zero", "haproxy:5/1s:wire=0s", nil, "want a duration above 0"},
		{"a phase into httprate's window", "httprate:15/150ms:after=380ms", []realScenario{
			{Name: "httprate:15/150ms:after=380ms", Kind: "httprate", Algorithm: algoSliding, Limit: 15, WindowSeconds: 0.15, AfterSeconds: 0.38}}, ""},
		{"after not a duration", "httprate:15/150ms:after=70", nil, "want a duration above 0"},
		{"empty", " , ", nil, "name at least one"},
		{"unknown limiter", "envoy:5/1s", nil, `unknown limiter "envoy"`},
		{"nginx queueing its burst", "nginx:10/1s:burst=10:queue", []realScenario{
			{Name: "nginx:10/1s:burst=10:queue", Kind: "nginx", Algorithm: algoLeaky, Limit: 10, WindowSeconds: 1, Burst: 10, Queue: true}}, ""},
		{"nginx two-stage", "nginx:10/1s:delay=4", []realScenario{
			{Name: "nginx:10/1s:delay=4", Kind: "nginx", Algorithm: algoLeaky, Limit: 10, WindowSeconds: 1, Burst: 10, Delay: 4}}, ""},
		{"queue without a burst", "nginx:5/1s:noburst:queue", nil, "a queue needs a burst"},
		{"delay at the burst", "nginx:5/1s:burst=3:delay=3", nil, "delay 3: want it under the burst 3"},
		{"queue with a value", "nginx:5/1s:queue=1", nil, "takes no value"},
		{"queue on haproxy", "haproxy:5/1s:queue", nil, `"queue": not for haproxy`},
		{"no window", "nginx:5", nil, "want LIMIT/WINDOW"},
		{"no limit part", "nginx", nil, "want KIND:LIMIT/WINDOW"},
		{"zero limit", "haproxy:0/1s", nil, "whole number above 0"},
		{"bad window", "haproxy:5/soon", nil, `window "soon"`},
		{"window too short", "haproxy:5/1us", nil, "1ms or more"},
		{"burst on a window", "express:5/1s:burst=3", nil, `"burst": not for express`},
		{"style on nginx", "nginx:5/1s:style=draft-8", nil, `"style": not for nginx`},
		{"unknown style", "express:5/1s:style=draft-9", nil, "unknown style"},
		{"flexible's style on rolling", "rolling:5/1s:style=iso", nil, "unknown style (readme, info)"},
		{"status out of range", "haproxy:5/1s:status=200", nil, "4xx or 5xx"},
		{"burst and noburst", "nginx:5/1s:burst=2:noburst", nil, "together"},
		{"noburst with a value", "nginx:5/1s:noburst=1", nil, "takes no value"},
		{"zero rows", "httprate:5/1s:rows=0", nil, "whole number above 0"},
		{"zero concurrency", "httprate:5/1s:conc=0", nil, "whole number above 0"},
		{"unknown option", "httprate:5/1s:fast", nil, `unknown option "fast"`},
		{"twice", "httprate:5/1s,httprate:5/1s", nil, "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCustom(tt.in)
			if testkit.WantError(t, "parseCustom", err, tt.wantErr) {
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("parseCustom = %d scenarios, want %d", len(got), len(tt.want))
			}
			for i := range got {
				got[i].Notes = ""
				if got[i] != tt.want[i] {
					t.Errorf("scenario %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestCustomIdeal: a custom configuration's ideal and description follow
// its own rows.
func TestCustomIdeal(t *testing.T) {
	scs, err := parseCustom("nginx:5/1s:burst=5:rows=60,express:10/100ms,nginx:50/1s:noburst,httprate:100/1s:conc=32,nginx:10/1s:queue:rows=60,nginx:10/1s:delay=4:rows=60")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ideal float64
		desc  string
	}{
		{11, "nginx:5/1s:burst=5:rows=60: burst 5, 5/s, 60 rows"},                   // (60-5)/5
		{3.9, "express:10/100ms: 10 per 100ms"},                                     // (40-1) x 0.1
		{7.98, "nginx:50/1s:noburst: no burst, 50/s"},                               // (400-1)/50
		{3, "httprate:100/1s:conc=32: 100 per 1s, --concurrency 32"},                // (400-100)/100
		{5.9, "nginx:10/1s:queue:rows=60: burst 10 queued, 10/s, 60 rows"},          // (60-1)/10: one at once, the queue at the rate
		{5.5, "nginx:10/1s:delay=4:rows=60: burst 10 queued past 4, 10/s, 60 rows"}, // (60-5)/10
	}
	for i, tt := range tests {
		sc := scs[i]
		if got := round(sc.idealSeconds(sc.rows(400)), 3); got != tt.ideal {
			t.Errorf("%s: ideal %v, want %v", sc.Name, got, tt.ideal)
		}
		if got := describeReal(sc); got != tt.desc {
			t.Errorf("describeReal = %q, want %q", got, tt.desc)
		}
	}
}

func FuzzParseCustom(f *testing.F) {
	for _, s := range []string{"nginx:20/1s:burst=5", "haproxy:50/500ms,express:5/1s:style=none:rows=9", "nginx:5/1s:noburst", ":/:", "httprate:1/1ms:status=429"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scs, err := parseCustom(s)
		if err != nil {
			return
		}
		for _, sc := range scs {
			if sc.Limit < 1 || sc.WindowSeconds <= 0 || sc.Algorithm == "" || (sc.Burst > 0 && sc.NoBurst) {
				t.Errorf("parseCustom(%q) accepted %+v", s, sc)
			}
		}
	})
}

// TestParseOptionsCustom: -custom runs instead of issue 11's table, after
// the table rows -limiters names.
func TestParseOptionsCustom(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"custom only", []string{"-real", "-custom", "haproxy:5/1s,nginx:20/1s"}, []string{"haproxy:5/1s", "nginx:20/1s"}},
		{"with table rows", []string{"-real", "-limiters", "nginx", "-custom", "nginx:20/1s"}, []string{"nginx", "nginx:20/1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := realScenarioNames(o.real); !slices.Equal(got, tt.want) {
				t.Errorf("scenarios %v, want %v", got, tt.want)
			}
		})
	}
}
