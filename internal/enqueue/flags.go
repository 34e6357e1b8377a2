package enqueue

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
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

// Input formats of --format.
const (
	FormatAuto  = "auto"
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// DefaultTimeout bounds --wait when --timeout is not given.
const DefaultTimeout = 10 * time.Minute

// Config is everything the command line says. The zero value is not complete: build it with
// [NewFlagSet], which fills in the defaults below, and parse the arguments.
type Config struct {
	// UserID, ExternalID and UserName (or its alias Email) name the one user of single-user mode.
	// Defaults to none: then File must be set.
	UserID, ExternalID, UserName, Email string
	// Reason is the reason of the single job, or of every row that leaves it empty. Defaults to "".
	Reason string
	// Ticket is the ticket of the single job, or of every row that leaves it empty. Defaults to "".
	Ticket string
	// RequestedBy is who asks, for every job whose row does not say. Defaults to "$USER@host", or
	// "enqueue" when neither is known.
	RequestedBy string
	// Urgent sends jobs to the urgent lane unless their row says otherwise. Defaults to false.
	Urgent bool
	// DryRun asks the worker to check and report only, unless a row says otherwise. Defaults to false.
	DryRun bool
	// Action is what the jobs ask for: "deactivate", or "reactivate" to undo a deactivation
	// (restoring the access it recorded). Defaults to "deactivate".
	Action string
	// Force lets reactivations go ahead for users this system has no recorded deactivation of
	// (the worker refuses them otherwise). Only with Action "reactivate"; the audit events record
	// it. Defaults to false.
	Force bool
	// At is the not_before of the single job, or of every row that leaves it empty: RFC 3339 with
	// an offset. A later time schedules the jobs for it; a past one runs them now. Defaults to ""
	// (now).
	At string
	// File is a CSV or JSON-lines batch, "-" for stdin. Defaults to none (single-user mode).
	File string
	// Format is auto, csv or jsonl. Defaults to auto: by extension, else by the first byte.
	Format string
	// SkipInvalid publishes the valid rows of a batch that has invalid ones. Defaults to false.
	SkipInvalid bool
	// NewIDs gives every job a random id instead of the deterministic one. Defaults to false.
	NewIDs bool
	// Prefix is the subject prefix of the deployment. Defaults to $GENESYS_PREFIX, then "genesys".
	Prefix string
	// Wait follows the jobs to their outcomes. Defaults to false.
	Wait bool
	// Timeout bounds Wait. Defaults to DefaultTimeout.
	Timeout time.Duration
	// Output is text or json. Defaults to text.
	Output string
	// NATS holds the connection settings (--nats-*). Defaults to natsconn's defaults.
	NATS natsconn.Options

	hr bool // reading an HR termination list (ReadHR): terminated_at is required, not refused
}

// NewFlagSet returns the command's flag set, writing its messages to stderr, with every flag bound
// to a field of cfg and cfg's fields set to their defaults. Every flag has a usage text.
func NewFlagSet(cfg *Config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("enqueue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // Main prints usage itself, hiding secret defaults
	fs.StringVar(&cfg.UserID, "user-id", "", "single-user mode: the Genesys Cloud user id (a UUID)")
	fs.StringVar(&cfg.ExternalID, "external-id", "", "single-user mode: the user's SCIM externalId")
	fs.StringVar(&cfg.UserName, "user-name", "", "single-user mode: the user's userName (primary email)")
	fs.StringVar(&cfg.Email, "email", "", "alias of --user-name")
	fs.StringVar(&cfg.Reason, "reason", "", "reason for the audit trail; with --file, for rows that leave it empty")
	fs.StringVar(&cfg.Ticket, "ticket", "", "change or HR ticket; with --file, for rows that leave it empty")
	fs.StringVar(&cfg.RequestedBy, "requested-by", defaultRequestedBy(), "who asks; with --file, for rows that leave it empty")
	fs.BoolVar(&cfg.Urgent, "urgent", false, "use the urgent lane; with --file, for rows without a priority")
	fs.BoolVar(&cfg.DryRun, "dry-run", false, "check and report only, change nothing; with --file, for rows without dry_run")
	fs.StringVar(&cfg.Action, "action", string(jobs.ActionDeactivate), `what the jobs ask for: "deactivate", or "reactivate" to undo a deactivation and restore the access it recorded`)
	fs.BoolVar(&cfg.Force, "force", false, "with --action reactivate: reactivate even users this system has no recorded deactivation of (refused otherwise); recorded in the audit event")
	fs.StringVar(&cfg.At, "at", "", "run the jobs at this time, not before (RFC 3339 with an offset, such as 2027-01-31T17:00:00-05:00); with --file, for rows without not_before; a past time runs them now")
	fs.StringVar(&cfg.File, "file", "", "CSV or JSON-lines batch of users; - reads stdin")
	fs.StringVar(&cfg.Format, "format", FormatAuto, "format of --file: auto (by extension .csv/.jsonl/.ndjson/.json, else by content), csv or jsonl")
	fs.BoolVar(&cfg.SkipInvalid, "skip-invalid", false, "publish the valid rows even if some are invalid (they are reported and skipped; exit status 1)")
	fs.BoolVar(&cfg.NewIDs, "new-ids", false, "give every job a new random id instead of the deterministic one (repeats a request on purpose)")
	fs.StringVar(&cfg.Prefix, "prefix", cmp.Or(os.Getenv("GENESYS_PREFIX"), audit.DefaultPrefix), "subject prefix of the deployment (env GENESYS_PREFIX)")
	fs.BoolVar(&cfg.Wait, "wait", false, "follow the jobs to their outcomes, show progress and a summary")
	fs.DurationVar(&cfg.Timeout, "timeout", DefaultTimeout, "how long --wait waits; jobs not done by then count as pending")
	fs.StringVar(&cfg.Output, "output", OutputText, "text, or json: one JSON object per job on stdout")
	cfg.NATS.RegisterFlags(fs)
	return fs
}

func defaultRequestedBy() string {
	name := os.Getenv("USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	host, _ := os.Hostname()
	switch {
	case name != "" && host != "":
		return name + "@" + host
	case name != "":
		return name
	}
	return "enqueue"
}

// validate checks what the flags say together, after parsing. set holds the flags given.
func (c *Config) validate(set map[string]bool, args []string) error {
	var errs []error
	if len(args) > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q (flags only; a batch goes in --file)", args[0]))
	}
	if c.Email != "" {
		if c.UserName != "" {
			errs = append(errs, errors.New("--user-name and --email are the same thing; give one"))
		}
		c.UserName = c.Email
	}
	single := set["user-id"] || set["external-id"] || set["user-name"] || set["email"]
	switch {
	case single && c.File != "":
		errs = append(errs, errors.New("give either a user (--user-id, --external-id, --user-name) or --file, not both"))
	case !single && c.File == "":
		errs = append(errs, errors.New("nothing to enqueue: give --user-id, --external-id or --user-name, or --file"))
	}
	if c.Action != string(jobs.ActionDeactivate) && c.Action != string(jobs.ActionReactivate) {
		errs = append(errs, fmt.Errorf("--action %q: want %q or %q", c.Action, jobs.ActionDeactivate, jobs.ActionReactivate))
	}
	if c.Force && c.Action != string(jobs.ActionReactivate) {
		errs = append(errs, errors.New("--force is only for --action reactivate"))
	}
	if !oneOf(c.Format, FormatAuto, FormatCSV, FormatJSONL) {
		errs = append(errs, fmt.Errorf("--format %q: want auto, csv or jsonl", c.Format))
	}
	if !oneOf(c.Output, OutputText, OutputJSON) {
		errs = append(errs, fmt.Errorf("--output %q: want text or json", c.Output))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--timeout %s: must be positive", c.Timeout))
	}
	if err := (jobs.Names{Prefix: c.Prefix}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--prefix: %w", err))
	}
	if err := c.NATS.Validate(); err != nil { // never contains a secret
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func oneOf(s string, choices ...string) bool {
	for _, c := range choices {
		if s == c {
			return true
		}
	}
	return false
}

// secretFlags hold secrets inline; their defaults (from the environment) are never printed.
var secretFlags = map[string]bool{"nats-password": true, "nats-token": true}

// printUsage writes the full usage to w, like flag.PrintDefaults but without the default values
// of secret flags, which may come from the environment.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: enqueue [flags]

Publishes Genesys Cloud deactivation jobs: one user given by flags, or a batch
from --file (CSV with a header row, or JSON lines). Every row is validated
before anything is published. With --wait, follows the jobs to their outcomes.

Exit status: 0 every job published (and, with --wait, ended deactivated,
already_inactive or dry_run); 1 a job ended otherwise or is still pending, rows
were skipped, or NATS failed; 2 bad flags, file or rows, nothing published.

Flags:
`)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
		if !secretFlags[f.Name] && f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0s" {
			line += fmt.Sprintf(" (default %q)", f.DefValue)
		} else if secretFlags[f.Name] && f.DefValue != "" {
			line += " (set from the environment)"
		}
		fmt.Fprintln(w, line)
	})
}
