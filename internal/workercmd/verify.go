package workercmd

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offboard-dev/genesys-deactivator/internal/envdefault"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// verifyFlags are the flags of the read-back after each access cut (issue 17).
type verifyFlags struct {
	Verify       bool
	VerifyDelay  time.Duration
	OnUnverified string
}

func (v *verifyFlags) declare(fs *flag.FlagSet) {
	fs.BoolVar(&v.Verify, "verify", verifyDefault(), "after each deactivation's access cut, read the user back (SCIM active, lastTokenIssued against the revocation, the routing status when off_queue ran: 2-3 calls at normal priority) and record verified and each check in the audit event; --verify=false turns it off (env GENESYS_VERIFY)")
	fs.DurationVar(&v.VerifyDelay, "verify-delay", envdefault.Duration("GENESYS_VERIFY_DELAY", 2*time.Second), "how long the read-back waits after the access cut before it reads; 0 reads at once (env GENESYS_VERIFY_DELAY)")
	fs.StringVar(&v.OnUnverified, "on-unverified", envdefault.String("GENESYS_ON_UNVERIFIED", worker.OnUnverifiedAlert), "when the read-back fails (verified:false, the ops event verification_failed): alert does nothing more; retry repeats the access cut once (PATCH active=false, token revocation) and reads back once more (env GENESYS_ON_UNVERIFIED)")
}

func (v *verifyFlags) validate() []error {
	var errs []error
	if v.VerifyDelay < 0 {
		errs = append(errs, errors.New("--verify-delay must not be negative"))
	}
	if v.OnUnverified != worker.OnUnverifiedAlert && v.OnUnverified != worker.OnUnverifiedRetry {
		errs = append(errs, fmt.Errorf("--on-unverified %q: want %s or %s", v.OnUnverified, worker.OnUnverifiedAlert, worker.OnUnverifiedRetry))
	}
	return errs
}

// apply sets the read-back in wc.
func (v *verifyFlags) apply(wc *worker.Config) {
	wc.Verify, wc.VerifyDelay, wc.OnUnverified = v.Verify, v.VerifyDelay, v.OnUnverified
}

// verifyDefault is GENESYS_VERIFY as a boolean, else true: the read-back is on unless turned off.
func verifyDefault() bool {
	if b, err := strconv.ParseBool(os.Getenv("GENESYS_VERIFY")); err == nil {
		return b
	}
	return true
}

// verifyMetrics count the read-backs.
type verifyMetrics struct {
	verifications *prometheus.CounterVec
	failedChecks  *prometheus.CounterVec
}

func newVerifyMetrics(reg *prometheus.Registry) verifyMetrics {
	v := verifyMetrics{
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genesys_verifications_total",
			Help: "Read-back rounds after an access cut (and verify jobs), by result: verified or unverified. A retried read-back counts each round."}, []string{"result"}),
		failedChecks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genesys_verification_checks_failed_total",
			Help: "Read-back checks that failed, by check: scim_active, token_after_revocation, routing_status."}, []string{"check"}),
	}
	for _, r := range []string{"verified", "unverified"} {
		v.verifications.WithLabelValues(r)
	}
	for _, c := range []string{worker.CheckSCIMActive, worker.CheckTokenAfter, worker.CheckRoutingStatus} {
		v.failedChecks.WithLabelValues(c)
	}
	reg.MustRegister(v.verifications, v.failedChecks)
	return v
}

// Verified counts a read-back round (worker.VerifyObserver).
func (o observer) Verified(ok bool, failed []string) {
	result := "verified"
	if !ok {
		result = "unverified"
	}
	o.m.verifications.WithLabelValues(result).Inc()
	for _, c := range failed {
		o.m.failedChecks.WithLabelValues(c).Inc()
	}
}

var _ worker.VerifyObserver = observer{}
