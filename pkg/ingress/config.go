package ingress

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Defaults of a [SourceConfig].
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultMaxEvents     = 1000
	DefaultRatePerSecond = 50
	DefaultBurst         = 100
)

// Config is the ingress configuration file: which sources it serves. Secrets are not in it; each
// source names the files that hold them.
type Config struct {
	// Prefix is the deployment's subject prefix (jobs on <prefix>.jobs.*, ops events on
	// <prefix>.audit.ops.*). Defaults to "genesys" (audit.DefaultPrefix); the command's --prefix
	// sets it when the file does not.
	Prefix string `json:"prefix,omitempty"`
	// Sources are the configured senders, each served at /v1/sources/<name>. At least one.
	Sources []SourceConfig `json:"sources"`
}

// kinds maps each Kind to its constructor. A constructor parses cfg.Settings (refusing unknown
// members) and gets the secrets read from cfg.SecretFiles, in order.
var kinds = []struct {
	kind Kind
	new  func(cfg SourceConfig, secrets []string) (Source, error)
}{
	{KindWebhook, newWebhook},
}

// Kinds returns the kinds this build knows, in table order.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k.kind)
	}
	return out
}

// newSource builds the source of cfg with its secrets.
func newSource(cfg SourceConfig, secrets []string) (Source, error) {
	for _, k := range kinds {
		if k.kind == cfg.Kind {
			return k.new(cfg, secrets)
		}
	}
	return nil, fmt.Errorf("unknown kind %q", cfg.Kind)
}

// LoadConfig reads and validates the JSON configuration file at path. Unknown members are
// refused; errors name the file and the member, never a secret (the file holds none).
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("ingress config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("ingress config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes and validates a configuration, with defaults applied.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Config{}, errors.New("data after the JSON object")
	}
	cfg.setDefaults()
	return cfg, cfg.Validate()
}

// jsonError turns a decoding error into one that names the member.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("member %q: want %s, not JSON %s", te.Field, te.Type, te.Value)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("unknown member %s", msg)
	}
	return fmt.Errorf("not valid JSON: %w", err)
}

func (c *Config) setDefaults() {
	for i := range c.Sources {
		s := &c.Sources[i]
		s.MaxBodyBytes = cmp.Or(s.MaxBodyBytes, DefaultMaxBodyBytes)
		s.MaxEvents = cmp.Or(s.MaxEvents, DefaultMaxEvents)
		s.RatePerSecond = cmp.Or(s.RatePerSecond, DefaultRatePerSecond)
		s.Burst = cmp.Or(s.Burst, DefaultBurst)
		s.Priority = cmp.Or(s.Priority, jobs.PriorityNormal)
	}
}

var nameRE = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// Validate checks the configuration without reading secrets: a valid prefix, at least one
// source, unique names of 1–32 of a–z 0–9 '-', known kinds, at least one secret file, positive
// limits and a valid priority. Errors name the source and member.
func (c Config) Validate() error {
	var errs []error
	if err := (jobs.Names{Prefix: c.Prefix}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("prefix: %w", err))
	}
	if len(c.Sources) == 0 {
		errs = append(errs, errors.New("sources: none configured"))
	}
	seen := map[string]bool{}
	for i, s := range c.Sources {
		at := fmt.Sprintf("sources[%d]", i)
		if !nameRE.MatchString(s.Name) {
			errs = append(errs, fmt.Errorf("%s.name %q: want 1-32 of a-z, 0-9 and '-'", at, audit.Clip(s.Name, 40)))
		} else {
			at = fmt.Sprintf("source %s", s.Name)
			if seen[s.Name] {
				errs = append(errs, fmt.Errorf("%s: name used twice", at))
			}
			seen[s.Name] = true
		}
		if !knownKind(s.Kind) {
			errs = append(errs, fmt.Errorf("%s.kind %q: want one of %v", at, audit.Clip(string(s.Kind), 40), Kinds()))
		}
		if len(s.SecretFiles) == 0 {
			errs = append(errs, fmt.Errorf("%s.secret_files: name at least one file", at))
		}
		for j, f := range s.SecretFiles {
			if strings.TrimSpace(f) == "" {
				errs = append(errs, fmt.Errorf("%s.secret_files[%d]: empty path", at, j))
			}
		}
		if s.MaxBodyBytes < 0 || s.MaxEvents < 0 || s.RatePerSecond < 0 || s.Burst < 0 {
			errs = append(errs, fmt.Errorf("%s: max_body_bytes, max_events, rate_per_second and burst must be positive", at))
		}
		if s.Priority != jobs.PriorityUrgent && s.Priority != jobs.PriorityNormal {
			errs = append(errs, fmt.Errorf("%s.priority %q: want urgent or normal", at, audit.Clip(string(s.Priority), 40)))
		}
	}
	return errors.Join(errs...)
}

func knownKind(k Kind) bool {
	for _, e := range kinds {
		if e.kind == k {
			return true
		}
	}
	return false
}

// ReadSecretFile reads one secret: the file's content without surrounding white space. An
// unreadable or empty file is an error naming the file, never its content.
func ReadSecretFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("secret file %s: %w", path, pe.Err)
		}
		return "", fmt.Errorf("secret file %s: %w", path, err)
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		return "", fmt.Errorf("secret file %s: empty", path)
	}
	return s, nil
}
