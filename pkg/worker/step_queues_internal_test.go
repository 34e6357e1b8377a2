package worker

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// A record of many queues drops their names to stay within what an audit event keeps of a step,
// so that the undo can still read the ids back; a small one keeps them.
func TestQueuesRecordFits(t *testing.T) {
	t.Parallel()
	for _, n := range []int{3, 40} {
		var qs []queueRecord
		for i := range n {
			qs = append(qs, queueRecord{QueueID: fmt.Sprintf("7a1e0c2b-%04d-4000-8000-00000000a001", i), Name: fmt.Sprintf("A queue with a long descriptive name %d", i), MemberBy: memberByUser})
		}
		f := newQueuesFound(qs).fit()
		b, _ := json.Marshal(f)
		if len(b) > audit.MaxStepSize {
			t.Errorf("%d queues: %d bytes, over %d", n, len(b), audit.MaxStepSize)
		}
		if named := f.Queues[0].Name != ""; named != (n == 3) {
			t.Errorf("%d queues: names kept %t", n, named)
		}
		if qs[0].Name == "" {
			t.Error("fit changed its input")
		}
	}
}
