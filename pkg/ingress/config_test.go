package ingress

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig([]byte(`{"sources":[{"name":"soar","kind":"standard_webhooks","secret_files":["/s"],"settings":{"tolerance":"2m"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Sources[0]
	if s.MaxBodyBytes != DefaultMaxBodyBytes || s.MaxEvents != DefaultMaxEvents || s.RatePerSecond != DefaultRatePerSecond || s.Burst != DefaultBurst || s.Priority != "normal" {
		t.Errorf("defaults: %+v", s)
	}
	for _, tc := range []struct{ json, want string }{
		{`{"sources":[]}`, "sources: none configured"},
		{`{"sources":[{"name":"soar","kind":"standard_webhooks","secret_files":["/s"],"colour":1}]}`, `unknown member "colour"`},
		{`{"sources":[{"name":"Soar!","kind":"standard_webhooks","secret_files":["/s"]}]}`, `sources[0].name "Soar!"`},
		{`{"sources":[{"name":"a","kind":"standard_webhooks","secret_files":["/s"]},{"name":"a","kind":"standard_webhooks","secret_files":["/t"]}]}`, "source a: name used twice"},
		{`{"sources":[{"name":"a","kind":"carrier_pigeon","secret_files":["/s"]}]}`, `source a.kind "carrier_pigeon"`},
		{`{"sources":[{"name":"a","kind":"standard_webhooks"}]}`, "source a.secret_files: name at least one file"},
		{`{"sources":[{"name":"a","kind":"standard_webhooks","secret_files":["/s"],"priority":"high"}]}`, `source a.priority "high"`},
		{`{"sources":[{"name":"a","kind":"standard_webhooks","secret_files":["/s"],"max_events":-1}]}`, "must be positive"},
		{`{"sources":[{"name":"a","kind":"standard_webhooks","secret_files":"/s"}]}`, `member "sources.secret_files"`},
		{`{"prefix":"a..b","sources":[{"name":"a","kind":"standard_webhooks","secret_files":["/s"]}]}`, "prefix"},
		{`{"sources":[]} {}`, "data after"},
	} {
		if _, err := ParseConfig([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.json, err, tc.want)
		}
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty, bad := filepath.Join(dir, "empty"), filepath.Join(dir, "bad")
	_ = os.WriteFile(empty, []byte(" \n"), 0o600)
	_ = os.WriteFile(bad, []byte("whsec_not-base64-topsecret\n"), 0o600)
	if _, err := ReadSecretFile(empty); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := ReadSecretFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
	sec, err := ReadSecretFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newWebhook(SourceConfig{Name: "a", Kind: KindWebhook}, []string{sec})
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Errorf("a bad secret: %v", err)
	}
	for _, st := range []string{`{"tolerance":"forever"}`, `{"tolerance":"24h"}`, `{"skew":"1m"}`} {
		if _, err := newWebhook(SourceConfig{Name: "a", Kind: KindWebhook, Settings: []byte(st)}, []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}); err == nil {
			t.Errorf("settings %s accepted", st)
		}
	}
}
