package priority_test

import (
	"encoding/json"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

func TestNormalized(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want priority.Priority }{
		{priority.Urgent, priority.Urgent},
		{priority.Normal, priority.Normal},
		{"", priority.Normal},
		{"URGENT", priority.Normal},
	} {
		if got := tc.in.Normalized(); got != tc.want {
			t.Errorf("Priority(%q).Normalized() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The wire values are a job's "priority" field: they must never change.
func TestWireValues(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal([]priority.Priority{priority.Urgent, priority.Normal})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `["urgent","normal"]`; got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
}
