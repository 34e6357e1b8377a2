package workercmd

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
)

// natsWithPassword starts a NATS server that accepts user "w" with password.
func natsWithPassword(t *testing.T, password string) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		Username: "w", Password: password, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	return s.ClientURL()
}

func natsconnOptions(url string) natsconn.Options { return natsconn.Options{URL: url} }
