package relaycmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit/relay"
)

const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretB = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "siem-whsec", secretA+"\n"+secretB+"\n")
	writeFile(t, dir, "hec", " 11111111-2222-3333-4444-555555555555\n")
	path := writeFile(t, dir, "relay.json", `{"endpoints": [
	  {"name": "siem", "url": "https://siem.example.com/hooks", "secret_files": ["`+dir+`/siem-whsec"],
	   "timeout": "10s", "schedule": ["1s", "1m"], "concurrency": 2, "subjects": ["genesys.audit.user.>"]},
	  {"name": "splunk", "url": "https://splunk.example.com:8088/services/collector/event", "mode": "splunk-hec",
	   "hec_token_file": "`+dir+`/hec", "hec_index": "security", "secrets_env": "SPLUNK_WHSEC"},
	  {"name": "elastic", "url": "https://10.1.2.3:8443/genesys", "mode": "hmac-header", "hmac_secret_env": "ES_KEY",
	   "allow_private": true, "start_at": "all"}
	]}`)
	env := map[string]string{"SPLUNK_WHSEC": secretB, "ES_KEY": "es-key"}
	eps, err := loadFile(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := []relay.Endpoint{
		{Name: "siem", URL: "https://siem.example.com/hooks", Secrets: []string{secretA, secretB}, Timeout: 10 * time.Second,
			Schedule: []time.Duration{time.Second, time.Minute}, Concurrency: 2, Subjects: []string{"genesys.audit.user.>"}},
		{Name: "splunk", URL: "https://splunk.example.com:8088/services/collector/event", Mode: relay.ModeSplunkHEC,
			HEC: relay.HECSettings{Token: "11111111-2222-3333-4444-555555555555", Index: "security"}, Secrets: []string{secretB}},
		{Name: "elastic", URL: "https://10.1.2.3:8443/genesys", Mode: relay.ModeHMACHeader, HMAC: relay.HMACSettings{Secret: "es-key"},
			AllowPrivate: true, StartAt: "all"},
	}
	if diff := cmp.Diff(want, eps); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	if err := relay.CheckEndpoints("genesys", eps); err != nil {
		t.Errorf("CheckEndpoints: %v", err)
	}
}

// The nested form of each mode's settings reads to the same endpoints as the older flat form,
// which existing files use (TestLoadFile), with every setting set.
func TestLoadFileNestedEqualsFlat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "hec", "11111111-2222-3333-4444-555555555555\n")
	flat := writeFile(t, dir, "flat.json", `{"endpoints": [
	  {"name": "splunk", "url": "https://splunk.example.com/services/collector/event", "mode": "splunk-hec",
	   "hec_token_file": "`+dir+`/hec", "hec_index": "security", "hec_source": "genesys", "hec_sourcetype": "cloudevents"},
	  {"name": "elastic", "url": "https://agent.example.com/genesys", "mode": "hmac-header", "hmac_secret_env": "ES_KEY",
	   "hmac_header": "X-Sig", "hmac_prefix": "hmac="}
	]}`)
	nested := writeFile(t, dir, "nested.json", `{"endpoints": [
	  {"name": "splunk", "url": "https://splunk.example.com/services/collector/event", "mode": "splunk-hec",
	   "hec": {"token_file": "`+dir+`/hec", "index": "security", "source": "genesys", "sourcetype": "cloudevents"}},
	  {"name": "elastic", "url": "https://agent.example.com/genesys", "mode": "hmac-header",
	   "hmac": {"secret_env": "ES_KEY", "header": "X-Sig", "prefix": "hmac="}}
	]}`)
	getenv := func(k string) string { return map[string]string{"ES_KEY": "es-key"}[k] }
	want := []relay.Endpoint{
		{Name: "splunk", URL: "https://splunk.example.com/services/collector/event", Mode: relay.ModeSplunkHEC,
			HEC: relay.HECSettings{Token: "11111111-2222-3333-4444-555555555555", Index: "security", Source: "genesys", Sourcetype: "cloudevents"}},
		{Name: "elastic", URL: "https://agent.example.com/genesys", Mode: relay.ModeHMACHeader,
			HMAC: relay.HMACSettings{Secret: "es-key", Header: "X-Sig", Prefix: "hmac="}},
	}
	for _, path := range []string{flat, nested} {
		eps, err := loadFile(path, getenv)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		if diff := cmp.Diff(want, eps); diff != "" {
			t.Errorf("%s (-want +got):\n%s", filepath.Base(path), diff)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct{ name, content, want string }{
		{"unknown field", `{"endpoints":[{"name":"a","url":"https://x","allow_privat":true}]}`, `unknown field "allow_privat"`},
		{"inline secret", `{"endpoints":[{"name":"a","url":"https://x","secrets":["` + secretA + `"]}]}`, `unknown field "secrets"`},
		{"no endpoints", `{"endpoints":[]}`, "no endpoints"},
		{"bad duration", `{"endpoints":[{"name":"a","url":"https://x","timeout":"soon"}]}`, `duration "soon"`},
		{"missing secret file", `{"endpoints":[{"name":"a","url":"https://x","secret_files":["/nope/whsec"]}]}`, "cannot read /nope/whsec"},
		{"empty env", `{"endpoints":[{"name":"a","url":"https://x","secrets_env":"UNSET_VAR"}]}`, "$UNSET_VAR is empty"},
		{"both token sources", `{"endpoints":[{"name":"a","url":"https://x","hec_token_file":"f","hec_token_env":"E"}]}`, "not both"},
		{"both token sources nested", `{"endpoints":[{"name":"a","url":"https://x","hec":{"token_file":"f","token_env":"E"}}]}`, "not both"},
		{"nested and flat hec", `{"endpoints":[{"name":"a","url":"https://x","hec":{"index":"i"},"hec_index":"j"}]}`, `set "hec" or the flat hec_* settings, not both`},
		{"nested and flat hmac", `{"endpoints":[{"name":"a","url":"https://x","hmac":{"header":"X-Sig"},"hmac_prefix":"p"}]}`, `set "hmac" or the flat hmac_* settings, not both`},
		{"unknown nested field", `{"endpoints":[{"name":"a","url":"https://x","hmac":{"secret":"inline"}}]}`, `unknown field "secret"`},
	}
	for _, tt := range tests {
		path := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "-")+".json", tt.content)
		_, err := loadFile(path, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "MfKQ9r8G") {
			t.Errorf("%s: error carries a secret", tt.name)
		}
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-11-27T09:00:00Z": time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC),
		"6h":                   now.Add(-6 * time.Hour),
		"":                     {},
	} {
		got, err := parseTime("--since", in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-2h", "2026-11-27"} {
		if _, err := parseTime("--since", bad, now); err == nil {
			t.Errorf("parseTime(%q) succeeded", bad)
		}
	}
}
