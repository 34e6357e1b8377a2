package enqueue

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
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
	// Steps are the optional steps that would run, in the order they would run.
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
		Order []string       `json:"order"`
	}
	if raw, ok := steps["dry_run"]; !ok || json.Unmarshal(raw, &cost) != nil {
		return nil
	}
	p := &Preview{Calls: cost.Calls}
	order := cost.Order
	if len(order) != len(cost.Steps) { // an older worker: by name
		order = slices.Sorted(maps.Keys(cost.Steps))
	}
	for _, name := range order {
		calls := cost.Steps[name]
		var found struct {
			Would []string `json:"would"`
		}
		_ = json.Unmarshal(steps[name], &found) // a step that recorded no object would change nothing
		p.Steps = append(p.Steps, PreviewStep{Name: name, Calls: calls, Would: found.Would})
	}
	return p
}

// writePreview writes a preview under its row's line, indented: per step its calls and what it
// would change, then the calls of the whole real run.
func writePreview(w io.Writer, p *Preview) {
	for _, s := range p.Steps {
		what := "nothing to do"
		if len(s.Would) > 0 {
			what = strings.Join(s.Would, "; ")
		}
		fmt.Fprintf(w, "    %-14s %3d %-5s  %s\n", s.Name, s.Calls, plural(s.Calls, "call", "calls"), what)
	}
	fmt.Fprintf(w, "    %-14s %3d %-5s  the deactivation, its cleanup job and these steps\n", "in all", p.Calls, plural(p.Calls, "call", "calls"))
}
