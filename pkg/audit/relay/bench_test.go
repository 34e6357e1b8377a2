package relay

import (
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/zap"
)

// BenchmarkRelay measures deliveries per second into a local verifying Sink, with one endpoint
// alone and next to a dead one (connections refused, retrying on the default schedule). Run it
// with a fixed count, such as
//
//	go test ./pkg/audit/relay -run '^$' -bench Relay -benchtime 5000x
func BenchmarkRelay(b *testing.B) {
	for _, bc := range []struct {
		name        string
		concurrency int
		dead        bool
	}{
		{"solo/concurrency=1", 1, false},
		{"with-dead-endpoint/concurrency=1", 1, true},
		{"solo/concurrency=8", 8, false},
		{"with-dead-endpoint/concurrency=8", 8, true},
	} {
		b.Run(bc.name, func(b *testing.B) { benchRelay(b, bc.concurrency, bc.dead) })
	}
}

// signalWriter discards what is written and signals ch after each write, without blocking.
type signalWriter chan struct{}

func (w signalWriter) Write(p []byte) (int, error) {
	select {
	case w <- struct{}{}:
	default:
	}
	return len(p), nil
}

func benchRelay(b *testing.B, concurrency int, dead bool) {
	env := newRelayEnv(b, 0)
	printed := make(chan struct{}, 1) // the sink prints each event, then keeps it, under one lock
	sink, err := NewSink([]string{vectorSecret}, signalWriter(printed))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sink)
	b.Cleanup(srv.Close)
	live := testEndpoint("live", srv.URL)
	live.Concurrency = concurrency
	endpoints := []Endpoint{live}
	if dead {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		d := testEndpoint("dead", "http://"+addr+"/hook")
		d.Concurrency, d.Schedule = concurrency, DefaultSchedule()
		endpoints = append(endpoints, d)
	}
	env.publish(b, b.N, "bench")
	b.ResetTimer()
	start := time.Now()
	_, stop := env.run(b, Config{Endpoints: endpoints, Logger: zap.NewNop()})
	deadline := time.After(5 * time.Minute)
wait:
	for sink.Received() < b.N { // Received takes the lock: it counts every event printed before
		select {
		case <-printed:
		case <-deadline:
			break wait
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	if got := sink.Received(); got != b.N {
		b.Fatalf("delivered %d of %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}
