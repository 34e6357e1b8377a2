package httpserve

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestStartServesAndStops(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err := Start(addr, mux, "/healthz", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Errorf("body %q", body)
	}
	stop()
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("still serving after stop")
	}
	if stop, err := Start("", mux, "/healthz", zap.NewNop()); err != nil || stop == nil {
		t.Error("empty address must serve nothing and succeed")
	}
	if _, err := Start("256.0.0.1:1", mux, "/healthz", zap.NewNop()); err == nil || !strings.Contains(err.Error(), "--http") {
		t.Errorf("bad address: %v", err)
	}
}
