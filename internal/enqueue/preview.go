package enqueue

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Preview is what a dry run found a real job would do, from the worker's status record: each
// optional step that would run, what it would change and its Genesys calls, and the calls of the
// whole real run (the deactivation, its cleanup job and every step).
type Preview struct {
	// Calls is every Genesys call the real run would make; 0 when the worker ran no optional step.
	Calls int `json:"calls"`
	// Steps are the optional steps that would run, in the order the worker recorded them (by name).
	Steps []PreviewStep `json:"steps,omitempty"`
}

// PreviewStep is one optional step of a preview.
type PreviewStep struct {
	Name  string   `json:"name"`
	Calls int      `json:"calls"`
	Would []string `json:"would,omitempty"` // what it would change; empty: nothing to do
}

// previewOf reads the preview from a dry run's status, nil when the worker recorded none (a
// worker without optional steps, or an older worker).
func previewOf(st jobs.Status) *Preview {
	if st.Outcome != audit.OutcomeDryRun {
		return nil
	}
	steps := st.Steps.Findings.Steps
	var cost struct {
		Calls int            `json:"calls"`
		Steps map[string]int `json:"steps"`
	}
	if raw, ok := steps["dry_run"]; !ok || json.Unmarshal(raw, &cost) != nil {
		return nil
	}
	p := &Preview{Calls: cost.Calls}
	for name, calls := range cost.Steps {
		var found struct {
			Would []string `json:"would"`
		}
		_ = json.Unmarshal(steps[name], &found) // a step that recorded no object would change nothing
		p.Steps = append(p.Steps, PreviewStep{Name: name, Calls: calls, Would: found.Would})
	}
	slices.SortFunc(p.Steps, func(a, b PreviewStep) int { return strings.Compare(a.Name, b.Name) })
	return p
}

// writePreview writes a preview under its row's line, indented.
func writePreview(w io.Writer, p *Preview) {
	for _, s := range p.Steps {
		what := "nothing to do"
		if len(s.Would) > 0 {
			what = strings.Join(s.Would, "; ")
		}
		fmt.Fprintf(w, "    %-14s %-40s %d %s\n", s.Name, what, s.Calls, plural(s.Calls, "call", "calls"))
	}
	fmt.Fprintf(w, "    %-14s %-40s %d %s\n", "in all", "(deactivation, cleanup job and steps)", p.Calls, plural(p.Calls, "call", "calls"))
}
