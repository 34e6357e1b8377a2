package ingress

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Results of one event in an [Answer].
const (
	ResultAccepted  = "accepted"  // stored as a new job
	ResultDuplicate = "duplicate" // the jobs stream already had it (a retried or replayed delivery)
	ResultScheduled = "scheduled" // stored for a worker to schedule at its not_before
	ResultIgnored   = "ignored"   // maps to no action; acknowledged
	ResultRejected  = "rejected"  // cannot become a job; Reason says why
	ResultFailed    = "failed"    // not stored (NATS unavailable): only in a 503 answer
)

// Answer is the JSON body of every answer to an authenticated POST that got as far as decoding,
// and of whole-request failures (Error alone).
type Answer struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Scheduled  int `json:"scheduled"`
	Ignored    int `json:"ignored"`
	Rejected   int `json:"rejected"`
	// Failed counts the events not stored because publishing failed (503 only).
	Failed int `json:"failed,omitempty"`
	// Error says why the request as a whole failed (4xx, 5xx).
	Error  string        `json:"error,omitempty"`
	Events []EventResult `json:"events,omitempty"`
}

// EventResult is one event of an [Answer], in the order of the request.
type EventResult struct {
	Ref    string `json:"ref"`
	ID     string `json:"id,omitempty"`
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

// AllOrNothinger is implemented by a source whose requests fail as a whole when one event is
// rejected (400, nothing published): a sender that can fix its payload. Sources without it
// publish the valid events and report the rejected ones in a 200.
type AllOrNothinger interface {
	AllOrNothing() bool
}

// DefaultPublishTimeout bounds the publishing of one request's jobs.
const DefaultPublishTimeout = 10 * time.Second

// Option changes how [New] builds a Server.
type Option func(*Server)

// WithSecretReader replaces [ReadSecretFile], how secret files are read (tests, dev mode).
func WithSecretReader(f func(path string) (string, error)) Option {
	return func(s *Server) { s.readSecret = f }
}

// WithNow replaces time.Now (tests).
func WithNow(f func() time.Time) Option { return func(s *Server) { s.nowFunc = f } }

// WithRegisterer registers the ingress metrics with reg. Without it they are not registered.
func WithRegisterer(reg prometheus.Registerer) Option { return func(s *Server) { s.reg = reg } }

// WithOrigin sets the CloudEvents source of the ops events (use the workers'). Defaults to
// audit.DefaultSource.
func WithOrigin(o audit.Origin) Option { return func(s *Server) { s.origin = o } }

// WithPublishTimeout bounds the publishing of one request's jobs. Defaults to
// [DefaultPublishTimeout].
func WithPublishTimeout(d time.Duration) Option { return func(s *Server) { s.publishTimeout = d } }

// Server is the ingress HTTP server's handler: it serves POST /v1/sources/<name> for each
// configured source. It is safe for concurrent use, owns no goroutines and needs no Close.
type Server struct {
	names          jobs.Names
	js             jetstream.JetStream
	pub            *jobs.Publisher
	ops            *audit.Publisher
	origin         audit.Origin
	log            *zap.Logger
	sources        map[string]*source
	order          []string
	m              *metrics
	reg            prometheus.Registerer
	nowFunc        func() time.Time
	publishTimeout time.Duration
	readSecret     func(string) (string, error)
}

type source struct {
	cfg          SourceConfig
	src          Source
	lim          *rate.Limiter
	allOrNothing bool
	decoded      bool // its jobs come out of jobs.Decode: checking them again is waste
}

// jobDecoder is implemented by a source whose Decode makes every job with jobs.Decode (the
// webhook source), so that the server need not check them again before publishing.
type jobDecoder interface{ jobsDecoded() }

// New validates cfg, reads every source's secrets and builds the sources. js publishes the jobs
// and the ops events; log may be nil. Errors name the source and the file, never a secret.
func New(cfg Config, js jetstream.JetStream, log *zap.Logger, opts ...Option) (*Server, error) {
	if js == nil {
		return nil, errors.New("ingress: nil JetStream")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		names: jobs.Names{Prefix: cfg.Prefix}, js: js, log: cmp.Or(log, zap.NewNop()), sources: map[string]*source{},
		nowFunc: time.Now, publishTimeout: DefaultPublishTimeout, readSecret: ReadSecretFile,
	}
	for _, o := range opts {
		o(s)
	}
	var err error
	if s.pub, err = jobs.NewPublisher(js, s.names); err != nil {
		return nil, err
	}
	if s.ops, err = audit.NewPublisher(js, audit.PublisherConfig{Prefix: s.names.EffectivePrefix(), Stream: s.names.AuditStream()}); err != nil {
		return nil, err
	}
	var errs []error
	owner := map[[sha256.Size]byte]string{} // a secret's hash → the source that holds it
	for _, sc := range cfg.Sources {
		secrets := make([]string, 0, len(sc.SecretFiles))
		for i, f := range sc.SecretFiles {
			sec, err := s.readSecret(f)
			if err != nil {
				errs = append(errs, fmt.Errorf("source %s: %w", sc.Name, err))
				continue
			}
			// A secret two sources share lets the sender of one post as the other, and the job's
			// requested_by would name the wrong source.
			h := sha256.Sum256([]byte(sec))
			if other, ok := owner[h]; ok && other != sc.Name {
				errs = append(errs, fmt.Errorf("source %s: secret_files[%d] holds the secret of source %s: each source needs its own, or requested_by cannot tell them apart", sc.Name, i, other))
				continue
			}
			owner[h] = sc.Name
			secrets = append(secrets, sec)
		}
		if len(secrets) < len(sc.SecretFiles) {
			continue
		}
		src, err := newSource(sc, secrets)
		if err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", sc.Name, err))
			continue
		}
		aon, _ := src.(AllOrNothinger)
		_, decoded := src.(jobDecoder)
		s.sources[sc.Name] = &source{cfg: sc, src: src, lim: rate.NewLimiter(rate.Limit(sc.RatePerSecond), sc.Burst),
			allOrNothing: aon != nil && aon.AllOrNothing(), decoded: decoded}
		s.order = append(s.order, sc.Name)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ingress: %w", err)
	}
	s.m = newMetrics(s.reg)
	return s, nil
}

// Handler returns the HTTP handler: /v1/sources/{name}, any method (POST for events, other
// methods only for a source's handshake).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/sources/{name}", s.serveSource)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { // JSON and counted, as every answer
		s.fail(w, "unknown", http.StatusNotFound, "unknown path: post to /v1/sources/<name>")
	})
	return mux
}

// Example is a source's shell command line to try it, when its kind can show one.
type Example struct {
	Source  string
	Kind    Kind
	Command string
}

// Examples returns, in configuration order, a command line for every source that implements
// [Exampler], posting to baseURL (such as http://127.0.0.1:8088). They may hold secrets: for dev
// mode only.
func (s *Server) Examples(baseURL string) []Example {
	var out []Example
	for _, name := range s.order {
		src := s.sources[name]
		if ex, ok := src.src.(Exampler); ok {
			out = append(out, Example{Source: name, Kind: src.cfg.Kind, Command: ex.Example(baseURL, s.nowFunc())})
		}
	}
	return out
}

// Ready reports whether jobs can be published: NATS is connected and the jobs stream answers.
// It sets the genesys_ingress_ready gauge.
func (s *Server) Ready(ctx context.Context) error {
	err := s.ready(ctx)
	v := 0.0
	if err == nil {
		v = 1
	}
	s.m.ready.Set(v)
	return err
}

func (s *Server) ready(ctx context.Context) error {
	if nc := s.js.Conn(); nc != nil && nc.Status() != nats.CONNECTED {
		return fmt.Errorf("NATS %s", nc.Status())
	}
	if _, err := s.js.Stream(ctx, s.names.JobsStream()); err != nil {
		return fmt.Errorf("jobs stream %s: %w", s.names.JobsStream(), err)
	}
	return nil
}

func (s *Server) serveSource(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	src := s.sources[name]
	if src == nil {
		s.fail(w, "unknown", http.StatusNotFound, "unknown source")
		return
	}
	now := s.nowFunc()
	ch, challenger := src.src.(Challenger)
	if r.Method != http.MethodPost && !challenger {
		w.Header().Set("Allow", http.MethodPost)
		s.fail(w, name, http.StatusMethodNotAllowed, "method not allowed: POST events")
		return
	}
	_, headersOnly := src.src.(headerAuthenticator)
	if headersOnly { // credentials in the headers alone: a stranger's body is never read
		if err := src.src.Authenticate(r, nil, now); err != nil {
			s.unauthorized(w, r, name, err)
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, src.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(w, name, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", src.cfg.MaxBodyBytes))
			return
		}
		s.fail(w, name, http.StatusBadRequest, "reading the body failed")
		return
	}
	if !headersOnly {
		if err := src.src.Authenticate(r, body, now); err != nil {
			s.unauthorized(w, r, name, err)
			return
		}
	}
	// The limit counts authenticated requests alone: anyone who knows the URL could otherwise
	// spend the source's budget and have the real sender's deliveries refused.
	if res := src.lim.ReserveN(now, 1); !res.OK() || res.DelayFrom(now) > 0 {
		wait := time.Second
		if res.OK() {
			wait = res.DelayFrom(now)
			res.CancelAt(now)
		}
		s.m.rateLimited.WithLabelValues(name).Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait.Seconds(), 1)))))
		s.fail(w, name, http.StatusTooManyRequests, "rate limited: retry after the time Retry-After gives")
		return
	}
	if r.Method != http.MethodPost { // a Challenger's: its handshake, if this is one
		rec := &codeRecorder{ResponseWriter: w, code: http.StatusOK}
		if ch.Handshake(rec, r) {
			s.m.requests.WithLabelValues(name, strconv.Itoa(rec.code)).Inc()
			return
		}
		w.Header().Set("Allow", http.MethodPost)
		s.fail(w, name, http.StatusMethodNotAllowed, "method not allowed: POST events")
		return
	}
	events, err := src.src.Decode(r, body, now)
	if err != nil {
		s.rejected(r.Context(), name, []rejection{{"request", err.Error()}})
		s.fail(w, name, http.StatusBadRequest, err.Error())
		return
	}
	if len(events) > src.cfg.MaxEvents {
		s.rejected(r.Context(), name, []rejection{{"request", fmt.Sprintf("%d events, limit %d", len(events), src.cfg.MaxEvents)}})
		s.fail(w, name, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d events, limit %d", len(events), src.cfg.MaxEvents))
		return
	}
	s.publish(w, r, src, events, now)
}

// headerAuthenticator is implemented by a source whose Authenticate needs no body (Okta's
// static header): the server authenticates such a request before it reads the body.
type headerAuthenticator interface{ headersOnly() }

// unauthorized answers 401 with no detail; the reason goes to the log and the metric.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, name string, err error) {
	s.m.authFailed.WithLabelValues(name).Inc()
	s.log.Warn("ingress request not authenticated", zap.String("source", name), zap.String("remote", r.RemoteAddr), zap.String("reason", shown(err.Error())))
	s.fail(w, name, http.StatusUnauthorized, "unauthorized")
}

// publish checks every event's job, then (unless the source's policy forbids it after a
// rejection) publishes the valid ones concurrently and answers once every PubAck is in.
func (s *Server) publish(w http.ResponseWriter, r *http.Request, src *source, events []Event, now time.Time) {
	name := src.cfg.Name
	var a Answer
	a.Events = make([]EventResult, len(events))
	todo := make([]int, 0, len(events))
	js := make([]jobs.Job, len(events))
	firstRejected := -1
	for i, ev := range events {
		res := &a.Events[i]
		res.Ref = shownRef(ev.Ref)
		var err error
		switch {
		case ev.Err != nil:
			err = ev.Err
		case ev.Ignored != "":
			res.Result, res.Reason = ResultIgnored, ev.Ignored
			continue
		case ev.Job == nil:
			err = errors.New("no job")
		default:
			js[i] = *ev.Job
			res.ID = js[i].ID
			err = checkJob(&js[i], now, !src.decoded)
		}
		if err != nil {
			res.Result, res.Reason = ResultRejected, err.Error()
			if firstRejected < 0 {
				firstRejected = i
			}
			continue
		}
		todo = append(todo, i)
	}
	var rejs []rejection
	for _, res := range a.Events {
		if res.Result == ResultRejected {
			rejs = append(rejs, rejection{res.Ref, res.Reason})
		}
	}
	s.rejected(r.Context(), name, rejs)
	if src.allOrNothing && firstRejected >= 0 {
		for _, i := range todo {
			a.Events[i].Result, a.Events[i].Reason = ResultRejected, "not published: another event of the request was rejected"
		}
		bad := a.Events[firstRejected]
		a.Error = fmt.Sprintf("event %s rejected: %s; nothing was published", bad.Ref, bad.Reason)
		s.reply(w, name, http.StatusBadRequest, s.count(name, a))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.publishTimeout)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	failed := make([]error, len(events))
	for _, i := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			er, err := s.pub.Enqueue(ctx, js[i])
			res := &a.Events[i]
			switch {
			case errors.Is(err, jobs.ErrInvalidJob):
				res.Result, res.Reason = ResultRejected, err.Error()
			case err != nil:
				res.Result, failed[i] = ResultFailed, err
			case er.Duplicate:
				res.Result = ResultDuplicate
			case er.Scheduled:
				res.Result = ResultScheduled
			default:
				res.Result = ResultAccepted
			}
		}()
	}
	wg.Wait()
	if len(todo) > 0 {
		s.m.publish.Observe(time.Since(start).Seconds())
	}
	code := http.StatusOK
	var firstErr error
	rejs = rejs[:0]
	for _, i := range todo {
		if err := failed[i]; err != nil {
			firstErr = cmp.Or(firstErr, err)
			a.Events[i].Reason = "not stored; send the delivery again"
		} else if a.Events[i].Result == ResultRejected {
			rejs = append(rejs, rejection{a.Events[i].Ref, a.Events[i].Reason})
		}
	}
	s.rejected(r.Context(), name, rejs)
	a = s.count(name, a)
	if firstErr != nil {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
		a.Error = fmt.Sprintf("%d of %d jobs were not stored (NATS unavailable); send the same delivery again: the stored ones answer duplicate",
			a.Failed, len(todo))
		s.log.Error("ingress publish failed", zap.String("source", name), zap.Int("failed", a.Failed),
			zap.Int("stored", a.Accepted+a.Duplicates+a.Scheduled), zap.Error(firstErr))
	}
	s.reply(w, name, code, a)
}

// shownRef is ref as the answer, the log and the ops events show it: at most 128 bytes, and
// quoted (Go syntax, ASCII) when it holds a control character, a bidi control or an invisible
// character, so that a sender's event id cannot display as another in a SIEM or a terminal.
func shownRef(ref string) string { return audit.Clip(shown(ref), 128) }

// shown is text that may carry what a sender wrote (an event id, the webhook-id of an
// unauthenticated request in an error), quoted when it holds a control, bidi or invisible
// character.
func shown(text string) string {
	if strings.IndexFunc(text, unicode.IsControl) >= 0 || jobs.TextProblem(text) != "" {
		return strconv.QuoteToASCII(text)
	}
	return text
}

// checkJob fills in what the publisher would and checks job with the rules every worker applies
// (jobs.Decode of its encoding), so that a batch is validated before any of it is published.
// With full false, only the defaults are filled: the job came out of jobs.Decode.
func checkJob(job *jobs.Job, now time.Time, full bool) error {
	if job.RequestedAt.IsZero() {
		job.RequestedAt = now.UTC().Truncate(time.Millisecond)
	}
	if job.Version == 0 {
		job.Version = jobs.Version
	}
	if job.Priority == "" {
		job.Priority = jobs.PriorityNormal
	}
	if !full {
		return nil
	}
	if err := job.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("%w: %v", jobs.ErrInvalidJob, err)
	}
	_, err = jobs.Decode(data)
	return err
}

// count fills the totals of a and counts the events in the metrics.
func (s *Server) count(name string, a Answer) Answer {
	for _, e := range a.Events {
		switch e.Result {
		case ResultAccepted:
			a.Accepted++
		case ResultDuplicate:
			a.Duplicates++
		case ResultScheduled:
			a.Scheduled++
		case ResultIgnored:
			a.Ignored++
		case ResultRejected:
			a.Rejected++
		case ResultFailed:
			a.Failed++
		}
		s.m.events.WithLabelValues(name, e.Result).Inc()
	}
	return a
}

// rejection is one rejected event (or request, ref "request") of an authenticated request.
type rejection struct{ ref, reason string }

// maxOpsPerRequest bounds the ingress_rejected ops events of one request; the rest are logged
// and summed up in one more event.
const maxOpsPerRequest = 20

// rejected records the rejected events of an authenticated request: a log line each and an
// ingress_rejected ops event each (at most maxOpsPerRequest, then one summing up the rest),
// stored concurrently within 2 s, best effort: a failure is logged, never answered.
func (s *Server) rejected(ctx context.Context, name string, rejs []rejection) {
	if len(rejs) == 0 {
		return
	}
	now := s.nowFunc().UTC()
	var evs []*audit.Event
	for i, rj := range rejs {
		s.log.Warn("ingress event rejected", zap.String("source", name), zap.String("ref", rj.ref), zap.String("reason", rj.reason))
		op := audit.Ops{Kind: "ingress_rejected", Message: fmt.Sprintf("ingress source %s rejected %s: %s", name, rj.ref, rj.reason),
			Time: now, Key: name + "\x00" + rj.ref + "\x00" + rj.reason,
			Fields: map[string]string{"source": name, "ref": rj.ref, "reason": rj.reason}}
		if i == maxOpsPerRequest {
			more := len(rejs) - maxOpsPerRequest
			op.Message = fmt.Sprintf("ingress source %s rejected %d more events of the request of %s (see the ingress log)", name, more, rj.ref)
			op.Fields = map[string]string{"source": name, "ref": rj.ref, "reason": "and more", "more": strconv.Itoa(more)}
			op.Key += "\x00more"
		} else if i > maxOpsPerRequest {
			continue
		}
		ev, err := s.origin.OpsEvent(op)
		if err != nil {
			s.log.Error("build ingress_rejected ops event", zap.Error(err))
			continue
		}
		evs = append(evs, ev)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, ev := range evs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.ops.Publish(ctx, ev); err != nil {
				s.log.Warn("store ingress_rejected ops event", zap.String("source", name), zap.Error(err))
			}
		}()
	}
	wg.Wait()
}

// fail answers a request that failed as a whole: {"error": msg}.
func (s *Server) fail(w http.ResponseWriter, name string, code int, msg string) {
	s.reply(w, name, code, struct {
		Error string `json:"error"`
	}{msg})
}

// reply writes a as JSON with code and counts the request.
func (s *Server) reply(w http.ResponseWriter, name string, code int, a any) {
	s.m.requests.WithLabelValues(name, strconv.Itoa(code)).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(a)
}

// codeRecorder remembers the status a handshake wrote, for the metrics.
type codeRecorder struct {
	http.ResponseWriter
	code int
}

func (c *codeRecorder) WriteHeader(code int) { c.code = code; c.ResponseWriter.WriteHeader(code) }
