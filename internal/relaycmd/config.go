package relaycmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit/relay"
)

// File is the relay's endpoint file (--config), JSON. Secrets are never inline: each comes from
// a file (a Docker or Kubernetes secret) or an environment variable, so that the file can be
// kept in version control. Unknown fields are errors, so that a misspelt "allow_private" cannot
// silently loosen or tighten anything.
//
//	{
//	  "endpoints": [
//	    {"name": "siem", "url": "https://siem.example.com/hooks/genesys",
//	     "secret_files": ["/run/secrets/siem-whsec"]},
//	    {"name": "splunk", "url": "https://splunk.example.com:8088/services/collector/event",
//	     "mode": "splunk-hec", "hec": {"token_file": "/run/secrets/hec-token", "index": "security"}},
//	    {"name": "elastic", "url": "https://agent.example.com:8443/genesys", "mode": "hmac-header",
//	     "hmac": {"secret_env": "ELASTIC_HMAC_KEY"}, "subjects": ["genesys.audit.user.>"]}
//	  ]
//	}
//
// Each mode's settings sit in an object named like the relay.Endpoint field ("hec", "hmac").
// The older flat form ("hec_token_file", "hec_index", "hmac_secret_env", "hmac_header", ...)
// still works; an endpoint may use one form or the other, not both.
type File struct {
	Endpoints []EndpointFile `json:"endpoints"`
}

// EndpointFile is one endpoint in the file; relay.Endpoint documents each setting and default.
type EndpointFile struct {
	Name          string     `json:"name"`
	URL           string     `json:"url"`
	Mode          string     `json:"mode,omitempty"`            // standard (default), splunk-hec, hmac-header
	SecretFiles   []string   `json:"secret_files,omitempty"`    // files of whsec_ secrets, one or more per file (whitespace separated)
	SecretsEnv    string     `json:"secrets_env,omitempty"`     // an environment variable holding whsec_ secrets, whitespace separated
	HEC           *HECFile   `json:"hec,omitempty"`             // mode splunk-hec
	HMAC          *HMACFile  `json:"hmac,omitempty"`            // mode hmac-header
	Subjects      []string   `json:"subjects,omitempty"`        // default: <prefix>.audit.>
	Concurrency   int        `json:"concurrency,omitempty"`     // default 1: in order
	Timeout       Duration   `json:"timeout,omitempty"`         // default 15s
	Schedule      []Duration `json:"schedule,omitempty"`        // default 5s doubling to 1h, ≥ 24 h in all
	RetryAfterCap Duration   `json:"retry_after_cap,omitempty"` // default 1h
	AllowPrivate  bool       `json:"allow_private,omitempty"`   // deliver to private/loopback/link-local addresses
	AllowHTTP     bool       `json:"allow_http,omitempty"`      // plain http to a non-loopback host
	StartAt       string     `json:"start_at,omitempty"`        // new (default), all, or an RFC 3339 time

	// The older flat form of HEC and HMAC.
	HECTokenFile   string `json:"hec_token_file,omitempty"`
	HECTokenEnv    string `json:"hec_token_env,omitempty"`
	HECIndex       string `json:"hec_index,omitempty"`
	HECSource      string `json:"hec_source,omitempty"`
	HECSourcetype  string `json:"hec_sourcetype,omitempty"`
	HMACSecretFile string `json:"hmac_secret_file,omitempty"`
	HMACSecretEnv  string `json:"hmac_secret_env,omitempty"`
	HMACHeader     string `json:"hmac_header,omitempty"`
	HMACPrefix     string `json:"hmac_prefix,omitempty"`
}

// HECFile is the settings of mode splunk-hec (relay.HECSettings), with the token from a file or
// an environment variable.
type HECFile struct {
	TokenFile  string `json:"token_file,omitempty"` // file holding the Splunk HEC token
	TokenEnv   string `json:"token_env,omitempty"`  // or the environment variable holding it
	Index      string `json:"index,omitempty"`      // Splunk index; default: the token's
	Source     string `json:"source,omitempty"`     // Splunk source; default: the CloudEvents source
	Sourcetype string `json:"sourcetype,omitempty"` // Splunk sourcetype; default _json
}

// HMACFile is the settings of mode hmac-header (relay.HMACSettings), with the key from a file or
// an environment variable.
type HMACFile struct {
	SecretFile string `json:"secret_file,omitempty"` // file holding the key
	SecretEnv  string `json:"secret_env,omitempty"`  // or the environment variable holding it
	Header     string `json:"header,omitempty"`      // default X-Hub-Signature-256
	Prefix     string `json:"prefix,omitempty"`      // default "sha256="
}

// hec returns the endpoint's HEC settings, nested or flat; nil when it has none.
func (ef EndpointFile) hec() (*HECFile, error) {
	flat := HECFile{TokenFile: ef.HECTokenFile, TokenEnv: ef.HECTokenEnv, Index: ef.HECIndex, Source: ef.HECSource, Sourcetype: ef.HECSourcetype}
	switch {
	case ef.HEC != nil && flat != HECFile{}:
		return nil, errors.New(`set "hec" or the flat hec_* settings, not both`)
	case ef.HEC != nil:
		return ef.HEC, nil
	case flat != HECFile{}:
		return &flat, nil
	}
	return nil, nil
}

// hmac returns the endpoint's HMAC settings, nested or flat; nil when it has none.
func (ef EndpointFile) hmac() (*HMACFile, error) {
	flat := HMACFile{SecretFile: ef.HMACSecretFile, SecretEnv: ef.HMACSecretEnv, Header: ef.HMACHeader, Prefix: ef.HMACPrefix}
	switch {
	case ef.HMAC != nil && flat != HMACFile{}:
		return nil, errors.New(`set "hmac" or the flat hmac_* settings, not both`)
	case ef.HMAC != nil:
		return ef.HMAC, nil
	case flat != HMACFile{}:
		return &flat, nil
	}
	return nil, nil
}

// Duration is a time.Duration written as a Go duration string ("15s", "1h30m").
type Duration time.Duration

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want a duration string such as "15s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// loadFile reads and decodes the endpoint file and resolves every secret. Errors name files,
// variables and endpoints, never a secret.
func loadFile(path string, getenv func(string) string) ([]relay.Endpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: cannot read %s: %v", path, errors.Unwrap(err))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("--config %s: %v", path, err)
	}
	if len(f.Endpoints) == 0 {
		return nil, fmt.Errorf("--config %s: no endpoints", path)
	}
	var eps []relay.Endpoint
	var errs []error
	for _, ef := range f.Endpoints {
		ep, err := ef.endpoint(getenv)
		if err != nil {
			errs = append(errs, fmt.Errorf("endpoint %s: %w", ef.Name, err))
		}
		eps = append(eps, ep)
	}
	return eps, errors.Join(errs...)
}

// endpoint turns the file's entry into a relay.Endpoint, reading its secrets.
func (ef EndpointFile) endpoint(getenv func(string) string) (relay.Endpoint, error) {
	ep := relay.Endpoint{
		Name: ef.Name, URL: ef.URL, Mode: relay.Mode(ef.Mode), Subjects: ef.Subjects,
		Concurrency: ef.Concurrency, Timeout: time.Duration(ef.Timeout), RetryAfterCap: time.Duration(ef.RetryAfterCap),
		AllowPrivate: ef.AllowPrivate, AllowHTTP: ef.AllowHTTP, StartAt: ef.StartAt,
	}
	for _, d := range ef.Schedule {
		ep.Schedule = append(ep.Schedule, time.Duration(d))
	}
	var errs []error
	var err error
	if ep.Secrets, err = readSecrets("secret_files", ef.SecretFiles, "secrets_env", ef.SecretsEnv, getenv); err != nil {
		errs = append(errs, err)
	}
	if ep.HEC, err = ef.hecSettings(getenv); err != nil {
		errs = append(errs, err)
	}
	if ep.HMAC, err = ef.hmacSettings(getenv); err != nil {
		errs = append(errs, err)
	}
	return ep, errors.Join(errs...)
}

// hecSettings reads the HEC settings and their token.
func (ef EndpointFile) hecSettings(getenv func(string) string) (relay.HECSettings, error) {
	f, err := ef.hec()
	if err != nil || f == nil {
		return relay.HECSettings{}, err
	}
	s := relay.HECSettings{Index: f.Index, Source: f.Source, Sourcetype: f.Sourcetype}
	s.Token, err = oneSecret("hec_token", f.TokenFile, f.TokenEnv, getenv)
	return s, err
}

// hmacSettings reads the HMAC settings and their key.
func (ef EndpointFile) hmacSettings(getenv func(string) string) (relay.HMACSettings, error) {
	f, err := ef.hmac()
	if err != nil || f == nil {
		return relay.HMACSettings{}, err
	}
	s := relay.HMACSettings{Header: f.Header, Prefix: f.Prefix}
	s.Secret, err = oneSecret("hmac_secret", f.SecretFile, f.SecretEnv, getenv)
	return s, err
}

// readSecrets reads whitespace-separated secrets from each file and from the environment variable
// env (when set). Errors name the setting and the file or variable, never a secret.
func readSecrets(filesSetting string, files []string, envSetting, env string, getenv func(string) string) ([]string, error) {
	var out []string
	var errs []error
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: cannot read %s: %v", filesSetting, path, errors.Unwrap(err)))
			continue
		}
		out = append(out, strings.Fields(string(data))...)
	}
	if env != "" {
		v := strings.Fields(getenv(env))
		if len(v) == 0 {
			errs = append(errs, fmt.Errorf("%s: $%s is empty", envSetting, env))
		}
		out = append(out, v...)
	}
	return out, errors.Join(errs...)
}

// oneSecret reads a secret from a file or an environment variable, at most one of them.
func oneSecret(what, file, env string, getenv func(string) string) (string, error) {
	switch {
	case file != "" && env != "":
		return "", fmt.Errorf("set %s_file or %s_env, not both", what, what)
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_file: cannot read %s: %v", what, file, errors.Unwrap(err))
		}
		return strings.TrimSpace(string(data)), nil
	case env != "":
		v := strings.TrimSpace(getenv(env))
		if v == "" {
			return "", fmt.Errorf("%s_env: $%s is empty", what, env)
		}
		return v, nil
	}
	return "", nil
}
