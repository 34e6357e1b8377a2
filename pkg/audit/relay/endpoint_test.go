package relay

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultScheduleSpansADay(t *testing.T) {
	t.Parallel()
	s := DefaultSchedule()
	var total time.Duration
	for _, d := range s {
		total += d
	}
	if s[0] != 5*time.Second || s[len(s)-1] != time.Hour || total < 24*time.Hour {
		t.Errorf("schedule %v totals %v; want 5s first, 1h last, at least 24h", s, total)
	}
}

func TestEndpointValidate(t *testing.T) {
	t.Parallel()
	ok := Endpoint{Name: "siem", URL: "https://siem.example.com/hook", Secrets: []string{vectorSecret}}
	tests := []struct {
		name string
		edit func(*Endpoint)
		want string // "" = valid
	}{
		{"valid", func(*Endpoint) {}, ""},
		{"http to loopback", func(e *Endpoint) { e.URL = "http://127.0.0.1:9000/x"; e.AllowPrivate = true }, ""},
		{"http to localhost", func(e *Endpoint) { e.URL = "http://localhost:9000/x"; e.AllowPrivate = true }, ""},
		{"http elsewhere", func(e *Endpoint) { e.URL = "http://siem.example.com/x?token=abc" }, "plain http only to a loopback host"},
		{"http allowed", func(e *Endpoint) { e.URL = "http://siem.example.com/x"; e.AllowHTTP = true }, ""},
		{"bad name", func(e *Endpoint) { e.Name = "a.b" }, "endpoint name"},
		{"user info", func(e *Endpoint) { e.URL = "https://user:pw@siem.example.com/" }, "user info"},
		{"private literal", func(e *Endpoint) { e.URL = "https://10.1.2.3/" }, "10.1.2.3 is a private address"},
		{"metadata literal", func(e *Endpoint) { e.URL = "https://169.254.169.254/" }, "link-local"},
		{"private allowed", func(e *Endpoint) { e.URL = "https://10.1.2.3/"; e.AllowPrivate = true }, ""},
		{"no secret", func(e *Endpoint) { e.Secrets = nil }, "needs at least one whsec_ secret"},
		{"bad secret", func(e *Endpoint) { e.Secrets = []string{"whsec_!!"} }, "invalid webhook secret"},
		{"hec without token", func(e *Endpoint) { e.Mode = ModeSplunkHEC; e.Secrets = nil }, "HEC token"},
		{"hmac without secret", func(e *Endpoint) { e.Mode = ModeHMACHeader }, "HMAC secret"},
		{"unknown mode", func(e *Endpoint) { e.Mode = "carrier-pigeon" }, "want standard, splunk-hec or hmac-header"},
		{"zero delay", func(e *Endpoint) { e.Schedule = []time.Duration{time.Second, 0} }, "positive"},
		{"start at", func(e *Endpoint) { e.StartAt = "yesterday" }, "start_at"},
		{"concurrency", func(e *Endpoint) { e.Concurrency = 1000 }, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := ok
			tt.edit(&e)
			err := e.withDefaults([]string{"genesys.audit.>"}).validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("validate = %v, want it to mention %q", err, tt.want)
			}
			if err != nil && (strings.Contains(err.Error(), "token=abc") || strings.Contains(err.Error(), "MfKQ9r8G")) {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestPrepareDelivery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, wantBody, wantID, wantErr string
	}{
		{"adds sequence first", `{"specversion":"1.0","id":"e-1","data":{"a":1}}`, `{"sequence":"00000000000000000042","specversion":"1.0","id":"e-1","data":{"a":1}}`, "e-1", ""},
		{"keeps a stored sequence", `{"id":"e-1","sequence":"7"}`, `{"id":"e-1","sequence":"7"}`, "e-1", ""},
		{"keeps odd spacing", "{ \"id\" : \"e-1\" }", `{"sequence":"00000000000000000042", "id" : "e-1" }`, "e-1", ""},
		{"id with a dot", `{"id":"a.b"}`, `{"sequence":"00000000000000000042","id":"a.b"}`, "seq_42", ""},
		{"not JSON", `hello`, "", "", "not a JSON object"},
		{"array", `[1]`, "", "", "not a JSON object"},
		{"broken", `{"id":`, "", "", "not a CloudEvent"},
		{"no id", `{"type":"x"}`, "", "", "no id"},
	}
	for _, tt := range tests {
		d, err := prepareDelivery([]byte(tt.in), 42, "genesys.audit.x")
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if string(d.Body) != tt.wantBody || d.ID != tt.wantID {
			t.Errorf("%s: body %s id %s, want %s id %s", tt.name, d.Body, d.ID, tt.wantBody, tt.wantID)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "7": 7 * time.Second, " 120 ": 2 * time.Minute, "-1": 0, "soon": 0,
		"Fri, 27 Nov 2026 12:00:30 GMT": 30 * time.Second, "Fri, 27 Nov 2026 11:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
