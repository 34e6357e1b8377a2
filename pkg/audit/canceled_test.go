package audit

import (
	"strings"
	"testing"
)

// A canceled scheduled job's event names who canceled it (clipped like any text field), under the
// activity Other: no account was changed.
func TestCanceledEventNamesWhoCanceled(t *testing.T) {
	t.Parallel()
	r := fullRecord()
	r.Outcome, r.CanceledBy = OutcomeCanceled, "ana (genesysctl, NATS user operator)"
	ev, err := Origin{}.UserEvent(r)
	if err != nil {
		t.Fatal(err)
	}
	data := ev.Data.(*AccountChange)
	if data.Unmapped.CanceledBy != r.CanceledBy || data.ActivityID != int(ActivityOther) {
		t.Errorf("canceled_by %q, activity %d; want %q, Other", data.Unmapped.CanceledBy, data.ActivityID, r.CanceledBy)
	}
	b, err := ev.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"canceled_by":"ana (genesysctl, NATS user operator)"`) {
		t.Errorf("encoded event lacks canceled_by:\n%s", b)
	}
	r.CanceledBy = strings.Repeat("x", 5000)
	if ev, err = (Origin{}).UserEvent(r); err != nil || len(ev.Data.(*AccountChange).Unmapped.CanceledBy) > maxText+len("…") {
		t.Errorf("a long canceled_by is not clipped: %v", err)
	}
}
