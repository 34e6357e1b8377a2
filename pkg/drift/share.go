package drift

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/time/rate"
)

// ParseShare reads a share of the fleet budget as a percentage ("5%") or a fraction ("0.05"); it
// must be in (0, 1]. The drift watch's --drift-share and reconcile's --share use it.
func ParseShare(s string) (float64, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err == nil && pct {
		v /= 100
	}
	if err != nil || v <= 0 || v > 1 {
		return 0, errors.New("want a percentage in (0%, 100%] or a fraction in (0, 1]")
	}
	return v, nil
}

// NewShareLimiter is the local limiter of a background reader that may use share of the fleet's
// ratePerMinute: share × ratePerMinute calls a minute, one at a time (burst 1). Its calls also
// pass the fleet budget, so the fleet limit holds whatever the share; the share keeps the reader
// from starving the workers. The drift watch and reconcile use it.
func NewShareLimiter(ratePerMinute int, share float64) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(share*float64(ratePerMinute)/60), 1)
}
