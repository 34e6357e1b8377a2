package natstest_test

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStart(t *testing.T) {
	t.Parallel()
	s, nc := natstest.Start(t)
	if !s.JetStreamEnabled() {
		t.Fatal("JetStream is not enabled")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	ack, err := js.Publish(ctx, "t.x", []byte("hello"))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if ack.Stream != "T" || ack.Sequence != 1 {
		t.Errorf("ack = %+v, want stream T sequence 1", ack)
	}
}

// Two servers in one test are independent: ports and storage do not collide.
func TestStartTwice(t *testing.T) {
	t.Parallel()
	a, _ := natstest.Start(t)
	b, _ := natstest.Start(t)
	if a.ClientURL() == b.ClientURL() {
		t.Errorf("both servers listen on %s", a.ClientURL())
	}
}
