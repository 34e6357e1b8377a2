package genesyssim

import (
	"bytes"
	"encoding/json"
	"time"
)

// faultsWire is Faults on the wire: durations as Go duration strings ("250ms").
type faultsWire struct {
	faultsFields
	LatencyMin                   jsonDuration `json:"latencyMin"`
	LatencyMax                   jsonDuration `json:"latencyMax"`
	ServiceUnavailableRetryAfter jsonDuration `json:"serviceUnavailableRetryAfter"`
	BurstRetryAfter              jsonDuration `json:"burstRetryAfter"`
	MaxHang                      jsonDuration `json:"maxHang"`
}

type faultsFields Faults // no methods, so no recursion

// MarshalJSON writes durations as Go duration strings, e.g. "latencyMax":"250ms".
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsWire{faultsFields(f), jsonDuration(f.LatencyMin), jsonDuration(f.LatencyMax),
		jsonDuration(f.ServiceUnavailableRetryAfter), jsonDuration(f.BurstRetryAfter), jsonDuration(f.MaxHang)})
}

// UnmarshalJSON reads durations as strings ("250ms") or integer nanoseconds and refuses
// unknown fields, so that a misspelt fault is not silently ignored.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var w faultsWire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	*f = Faults(w.faultsFields)
	f.LatencyMin, f.LatencyMax = time.Duration(w.LatencyMin), time.Duration(w.LatencyMax)
	f.ServiceUnavailableRetryAfter = time.Duration(w.ServiceUnavailableRetryAfter)
	f.BurstRetryAfter, f.MaxHang = time.Duration(w.BurstRetryAfter), time.Duration(w.MaxHang)
	return nil
}

type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := time.ParseDuration(s)
		*d = jsonDuration(v)
		return err
	}
	var n int64
	err := json.Unmarshal(b, &n)
	*d = jsonDuration(n)
	return err
}
