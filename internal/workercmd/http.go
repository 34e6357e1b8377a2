package workercmd

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/httpserve"
)

// startHTTP serves /healthz (the process is alive), /readyz (it should get
// work: NATS connected, streams present, fleet not paused) and /metrics. An
// empty address serves nothing. The returned function shuts the server down.
func startHTTP(addr string, m *metrics, log *zap.Logger, ready func(context.Context) error) (func(), error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return httpserve.Start(addr, mux, "/healthz, /readyz and /metrics", log)
}

// healthcheck is `worker healthcheck`: for container health checks, which
// have no curl in a FROM scratch image. Exit 0 when the URL answers 200.
func healthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return httpserve.Healthcheck(ctx, "worker healthcheck", "http://127.0.0.1:8080/healthz", args, stdout, stderr)
}
