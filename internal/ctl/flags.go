package ctl

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Output formats of --output.
const (
	OutputText = "text"
	OutputJSON = "json"
)

// DefaultTimeout bounds one command when --timeout is not given.
const DefaultTimeout = 30 * time.Second

// opts is everything one command line says. Each command registers the fields it uses.
type opts struct {
	Prefix   string           // --prefix; defaults to $GENESYS_PREFIX, then "genesys"
	Output   string           // --output: text or json; defaults to text
	Timeout  time.Duration    // --timeout; defaults to DefaultTimeout
	NATS     natsconn.Options // --nats-*
	Operator string           // --operator: who runs a changing command; required there
	Outcome  string           // --outcome
	Since    string           // --since: a duration back from now, or a time
	Limit    int              // --limit
	All      bool             // --all
	Yes      bool             // --yes
	since    time.Time        // Since, parsed; zero means from the beginning
	nowFunc  func() time.Time // for tests; defaults to time.Now

	// Reactivations: the guard commands act on the reactivation guard (--reactivations).
	Reactivations bool
	// Deletes: the guard commands act on the delete guard (--deletes).
	Deletes bool

	// Report: the report command's flags (report.go).
	Report reportOpts

	Chain chainOpts // genesysctl audit verify (auditverify.go)
}

// newFlagSet returns cmd's flag set with the common flags and cmd's own, bound to o.
func newFlagSet(cmd *command, o *opts, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("genesysctl "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // Main prints usage itself, hiding secret defaults
	fs.StringVar(&o.Prefix, "prefix", cmp.Or(os.Getenv("GENESYS_PREFIX"), audit.DefaultPrefix), "subject prefix of the deployment (env GENESYS_PREFIX)")
	fs.StringVar(&o.Output, "output", OutputText, "text, or json: one JSON object per line on stdout")
	fs.DurationVar(&o.Timeout, "timeout", DefaultTimeout, "how long the whole command may take")
	if cmd.changes {
		fs.StringVar(&o.Operator, "operator", "", "who runs this command (a person), recorded in the replayed jobs and the audit ops events; required")
	}
	if cmd.flags != nil {
		cmd.flags(fs, o)
	}
	o.NATS.RegisterFlags(fs)
	return fs
}

// parseInterspersed parses flags that may come before, between or after positional arguments
// (the flag package stops at the first argument), and returns the positional ones. "--" ends
// the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// The flag package drops a "--" it stops at: then everything after it is positional.
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

var (
	jobIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	// textRE is the job schema's text rule: no control characters, no U+FFFD.
	textRE = regexp.MustCompile("^[^\\x00-\\x1f\\x7f-\\x9f\uFFFD]*$")
)

// validJobID reports whether id is a valid job id: letters, digits, '-' and '_' with single
// dots between them, at most jobs.MaxIDLength.
func validJobID(id string) bool { return len(id) <= jobs.MaxIDLength && jobIDRE.MatchString(id) }

// validate checks what the flags and arguments say together, after parsing, and parses --since.
func (o *opts) validate(cmd *command, args []string) error {
	var errs []error
	if o.Output != OutputText && o.Output != OutputJSON {
		errs = append(errs, fmt.Errorf("--output %q: want text or json", o.Output))
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--timeout %s: must be positive", o.Timeout))
	}
	if err := (jobs.Names{Prefix: o.Prefix}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--prefix: %w", err))
	}
	if cmd.changes && (o.Operator == "" || len(o.Operator) > 64 || !textRE.MatchString(o.Operator)) {
		errs = append(errs, errors.New("--operator NAME is required: who runs this (1–64 characters, no control characters)"))
	} else if cmd.changes {
		if p := jobs.TextProblem(o.Operator); p != "" {
			errs = append(errs, fmt.Errorf("--operator: %s", p))
		}
	}
	if o.Limit < 0 {
		errs = append(errs, fmt.Errorf("--limit %d: must not be negative", o.Limit))
	}
	if o.Reactivations && o.Deletes {
		errs = append(errs, errors.New("--reactivations and --deletes name two guards: choose one"))
	}
	if o.Since != "" {
		now := time.Now
		if o.nowFunc != nil {
			now = o.nowFunc
		}
		t, err := parseSince(o.Since, now())
		if err != nil {
			errs = append(errs, err)
		}
		o.since = t
	}
	if err := o.NATS.Validate(); err != nil { // never contains a secret
		errs = append(errs, err)
	}
	if cmd.check != nil {
		if err := cmd.check(o, args); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// parseSince reads --since: a positive duration back from now ("90m", "48h"), an RFC 3339 time
// or a date (UTC midnight).
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--since %s: a duration must be positive", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration such as 24h or a time such as 2026-11-27T08:00:00Z or 2026-11-27", s)
}

// checkOutcome checks an --outcome value: one of the outcomes, or (deadOnly) one of those that
// are dead-lettered. Empty is allowed unless required.
func checkOutcome(o string, required, deadOnly bool) error {
	var want []string
	for _, oc := range audit.Outcomes {
		if !deadOnly || oc.DeadLetter() {
			want = append(want, string(oc))
		}
	}
	switch {
	case o == "" && required:
		return fmt.Errorf("--outcome is required: one of %s", strings.Join(want, ", "))
	case o == "":
		return nil
	case !audit.Outcome(o).Valid() || deadOnly && !audit.Outcome(o).DeadLetter():
		return fmt.Errorf("--outcome %q: want one of %s", o, strings.Join(want, ", "))
	}
	return nil
}

// checkJobIDs checks positional job ids; min is how many are required.
func checkJobIDs(args []string, min int) error {
	if len(args) < min {
		return errors.New("give a job id")
	}
	var errs []error
	for _, id := range args {
		if !validJobID(id) {
			errs = append(errs, fmt.Errorf("%q is not a job id (letters, digits, '-' and '_' with single dots, at most %d)", clip(id, 64), jobs.MaxIDLength))
		}
	}
	return errors.Join(errs...)
}

// secretFlags hold secrets inline; their defaults (from the environment) are never printed.
var secretFlags = map[string]bool{"nats-password": true, "nats-token": true}

// printUsage writes cmd's usage to w, like flag.PrintDefaults without secret defaults.
func printUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: genesysctl %s [flags] %s\n\n%s\n\nFlags:\n", cmd.name, cmd.args, cmd.summary)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		line += "\n    \t" + usage
		switch {
		case secretFlags[f.Name] && f.DefValue != "":
			line += " (set from the environment)"
		case f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0":
			line += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintln(w, line)
	})
}

// clip shortens s to at most n bytes for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
