package audit

import (
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A message that another role published first with a job's predictable event id must not pass for
// the job's terminal event (review D1, probe 61).
func TestPublishRefusesAClaimedEventID(t *testing.T) {
	t.Parallel()
	p, stream, js := setup(t)
	ctx := t.Context()
	ev, err := Origin{}.UserEvent(fullRecord())
	if err != nil {
		t.Fatal(err)
	}
	forged := nats.NewMsg("genesys.audit.ops.relay_heartbeat")
	forged.Data = []byte(`{"note":"harmless"}`)
	forged.Header.Set(jetstream.MsgIDHeader, EventID("job-1"))
	fack, err := js.PublishMsg(ctx, forged)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Publish(ctx, ev)
	var claimed *IDClaimedError
	if !errors.Is(err, ErrIDClaimed) || !errors.As(err, &claimed) {
		t.Fatalf("Publish = %v, want ErrIDClaimed", err)
	}
	if claimed.Seq != fack.Sequence || claimed.Subject != forged.Subject || claimed.ID != ev.ID {
		t.Errorf("claimed = %+v, want seq %d on %s", claimed, fack.Sequence, forged.Subject)
	}
	// With another id (what the worker records and uses then), the event is stored.
	r := fullRecord()
	r.EventID = "0d7f1a52-8c3b-4e0a-9f51-2b6c7d8e9f00"
	ev2, err := Origin{}.UserEvent(r)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := p.Publish(ctx, ev2)
	if err != nil || ack.Duplicate {
		t.Fatalf("Publish with a fresh id = %+v, %v", ack, err)
	}
	m, err := stream.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Data), `"id":"0d7f1a52-8c3b-4e0a-9f51-2b6c7d8e9f00"`) || !strings.Contains(m.Subject, ".audit.user.deactivated.") {
		t.Errorf("stored %s: %s", m.Subject, m.Data)
	}
}

// An ops event whose id another message holds is refused too; the same ops event published twice
// (two workers reporting one condition) is stored once, without error.
func TestPublishOpsEventChecksTheDuplicate(t *testing.T) {
	t.Parallel()
	p, _, js := setup(t)
	ctx := t.Context()
	op := Ops{Kind: "fleet_paused", Message: "paused", Time: testTime, Key: "k1"}
	ev, err := Origin{}.OpsEvent(op)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ev.ID, OpsIDPrefix) {
		t.Errorf("ops event id %q lacks %q", ev.ID, OpsIDPrefix)
	}
	if _, err := p.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	again, _ := Origin{}.OpsEvent(op)
	if ack, err := p.Publish(ctx, again); err != nil || !ack.Duplicate {
		t.Fatalf("same ops event again = %+v, %v", ack, err)
	}
	op.Key = "k2"
	ev3, _ := Origin{}.OpsEvent(op)
	forged := nats.NewMsg("genesys.audit.ops.other")
	forged.Data = []byte(`{}`)
	forged.Header.Set(jetstream.MsgIDHeader, ev3.ID)
	if _, err := js.PublishMsg(ctx, forged); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, ev3); !errors.Is(err, ErrIDClaimed) {
		t.Fatalf("Publish = %v, want ErrIDClaimed", err)
	}
}
