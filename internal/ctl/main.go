// Package ctl is the genesysctl command: the operator's view of a genesys-deactivator
// deployment on NATS. cmd/genesysctl only calls [Main].
//
//	genesysctl status JOB_ID...                      job status records
//	genesysctl jobs --outcome O [--since D|T]        recent jobs by outcome (audit stream)
//	genesysctl dead list [--outcome O] [--since D|T] dead letters
//	genesysctl dead show JOB_ID                      a dead letter and its job's status
//	genesysctl dead replay JOB_ID... | --all         publish each again as a new job (replay_of)
//	genesysctl dead purge JOB_ID... | --all --yes    delete dead letters
//	genesysctl guard status                          the mass-deactivation guard
//	genesysctl guard resume                          let held jobs through
//	genesysctl guard set-limit --limit N             change the limits
//	genesysctl guard drop-held --yes                 end the held jobs "dropped"
//	genesysctl guard ... --reactivations             the same for the reactivation guard
//	genesysctl budget status                         the rate budgets and their 429 pauses
//	genesysctl budget resume [--client-id ID]        clear a 429 pause
//	genesysctl hold add|remove USER --reason R       a legal hold: the user's delete jobs end "held"
//	genesysctl hold list                             the legal holds in force
//	genesysctl scheduled list [--user U] [--all]     jobs waiting for their not_before
//	genesysctl scheduled show JOB_ID                 one scheduled job
//	genesysctl scheduled cancel JOB_ID... | --user U --reason R   cancel before the date
//	genesysctl scheduled move JOB_ID --at T --reason R            another date
//	genesysctl verify USER [--urgent] [--wait D]     read the user back now (a verify job); exit 1 unverified
//	genesysctl drift status                          the drift watch: users watched, cycles, findings
//	genesysctl report --from T --to T [--sla D] [--format csv|json|md] [--out FILE]   per-leaver SLA report
//	genesysctl audit verify --public-key F [--from SEQ]  the audit chain and its signed checkpoints; exit 1 tampered
//
// Exit status: 0 success; 1 a job or dead letter was not found, could not be replayed or
// purged, or NATS failed; 2 bad arguments, in which case nothing was read or changed.
// Commands that change something (replay, purge) need --operator and publish an ops event per
// job to the audit stream naming the operator and the NATS user.
package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit statuses of Main.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// command is one leaf subcommand, such as "dead replay".
type command struct {
	name    string // "status", "dead list", …
	args    string // positional arguments, for usage
	summary string
	changes bool                                                              // needs --operator; publishes ops events
	flags   func(fs *flag.FlagSet, o *opts)                                   // the command's own flags
	check   func(o *opts, args []string) error                                // argument checks beyond the flags
	run     func(ctx context.Context, s *session, o *opts, args []string) int // runs after a successful connect
}

// commands lists every subcommand in usage order.
func commands() []*command {
	return []*command{statusCommand(), jobsCommand(), deadListCommand(), deadShowCommand(), deadReplayCommand(), deadPurgeCommand(),
		guardStatusCommand(), guardResumeCommand(), guardSetLimitCommand(), guardDropCommand(),
		budgetStatusCommand(), budgetResumeCommand(),
		holdAddCommand(), holdRemoveCommand(), holdListCommand(),
		scheduledListCommand(), scheduledShowCommand(), scheduledCancelCommand(), scheduledMoveCommand(),
		verifyCommand(),
		driftStatusCommand(),
		reportCommand(),
		auditVerifyCommand()}
}

var errTopHelp = errors.New("help")

// lookup finds the command args start with and returns it with the remaining arguments.
func lookup(args []string) (*command, []string, error) {
	if len(args) == 0 {
		return nil, nil, errors.New("no command given")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		return nil, nil, errTopHelp
	}
	name, rest := args[0], args[1:]
	if name == "dead" || name == "guard" || name == "budget" || name == "hold" || name == "scheduled" || name == "drift" || name == "audit" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return nil, nil, fmt.Errorf("%s: want a subcommand: %s", name, map[string]string{
				"dead": "list, show, replay or purge", "guard": "status, resume, set-limit or drop-held", "budget": "status or resume",
				"hold": "add, remove or list", "scheduled": "list, show, cancel or move", "drift": "status", "audit": "verify"}[name])
		}
		name, rest = name+" "+rest[0], rest[1:]
	}
	for _, c := range commands() {
		if c.name == name {
			return c, rest, nil
		}
	}
	return nil, nil, fmt.Errorf("unknown command %q", name)
}

// Main runs the command with args (without the program name) and returns its exit status.
// Results go to stdout, messages to stderr; stdin is not read. ctx ends the run early.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd, rest, err := lookup(args)
	if errors.Is(err, errTopHelp) {
		printTopUsage(stdout)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "genesysctl: %v (run genesysctl --help for usage)\n", err)
		return ExitUsage
	}
	o := &opts{}
	fs := newFlagSet(cmd, o, stderr)
	pos, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, cmd, fs)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "genesysctl %s: run genesysctl %s --help for usage\n", cmd.name, cmd.name) // flag printed the error
		return ExitUsage
	}
	if err := o.validate(cmd, pos); err != nil {
		fmt.Fprintf(stderr, "genesysctl %s: %v\n", cmd.name, err)
		return ExitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	s, err := connect(o, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "genesysctl %s: %v\n", cmd.name, err) // natsconn keeps secrets out of its errors
		return ExitFailure
	}
	defer s.close()
	return cmd.run(ctx, s, o, pos)
}

// printTopUsage lists the commands.
func printTopUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: genesysctl COMMAND [flags] [args]\n\n"+
		"Operator commands for a genesys-deactivator deployment on NATS.\n\nCommands:\n")
	for _, c := range commands() {
		first, _, _ := strings.Cut(c.summary, "\n")
		fmt.Fprintf(w, "  %s\n      %s\n", strings.TrimSpace(c.name+" "+c.args), first)
	}
	fmt.Fprint(w, "\nRun genesysctl COMMAND --help for a command's flags.\n\n"+
		"Exit status: 0 success; 1 not found, not replayable, or NATS failed;\n"+
		"2 bad arguments (nothing was read or changed).\n")
}
