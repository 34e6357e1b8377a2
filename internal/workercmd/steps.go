package workercmd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// The words --steps takes besides step names.
const (
	stepsDefault = "default" // worker.DefaultSteps: every optional step but presence and mfa
	stepsAll     = "all"     // every optional step
	stepsNone    = "none"    // none: deactivate and revoke tokens only
)

// stepsHelp is the --steps usage text, listing the optional steps this worker knows.
func stepsHelp() string {
	known := "none are built into this worker"
	if names := stepNames(worker.OptionalSteps()); len(names) > 0 {
		known = strings.Join(names, ", ")
	}
	def := strings.Join(worker.DefaultSteps(), ",")
	if def == "" {
		def = "none"
	}
	return "comma-separated optional steps of the plan, in addition to deactivating and revoking tokens: " +
		"off_queue runs before the deactivation, the others in a follow-up cleanup job for the same user (own id, own audit event, " +
		"taken only when no deactivation is queued). Known: " + known + ". " +
		"'default' is every step but presence and mfa (here: " + def + "); 'all' every one; 'none' none (env GENESYS_STEPS)"
}

// steps parses --steps into the step names it enables, in the order given.
func (c *Config) steps() ([]string, error) {
	var names []string
	for _, f := range strings.Split(c.Steps, ",") {
		switch f = strings.TrimSpace(f); f {
		case "":
		case stepsDefault:
			names = append(names, worker.DefaultSteps()...)
		case stepsAll:
			names = append(names, stepNames(worker.OptionalSteps())...)
		case stepsNone:
			if strings.TrimSpace(c.Steps) != stepsNone {
				return nil, fmt.Errorf("--steps %q: 'none' cannot be combined with steps", c.Steps)
			}
		default:
			names = append(names, f)
		}
	}
	names = dedupe(names)
	if err := worker.CheckStepNames(names); err != nil {
		return nil, fmt.Errorf("--steps: %w", err)
	}
	return names, nil
}

func stepNames(steps []worker.Step) []string {
	out := make([]string, 0, len(steps))
	for _, s := range steps {
		out = append(out, s.Name)
	}
	return out
}

// enabledSteps are the optional steps --steps enables, for the self-check.
func (c *Config) enabledSteps() []worker.Step {
	names, _ := c.steps() // validate has checked them
	return slices.DeleteFunc(worker.OptionalSteps(), func(s worker.Step) bool { return !slices.Contains(names, s.Name) })
}

// dedupe keeps the first of each name, in order.
func dedupe(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
