package workflows

import (
	"encoding/json"
	"errors"
	"time"
)

// DefaultRepairEvery is how often a project's repair pass runs by default.
const DefaultRepairEvery = 6 * time.Hour

// RepairEvery is repair_every: how old the last repair pass must be for an
// incremental sync to run one ("0s": every sync), or "off".
type RepairEvery struct {
	Off   bool
	Every Duration
}

// MarshalJSON writes "off" or a Go duration string.
func (r RepairEvery) MarshalJSON() ([]byte, error) {
	if r.Off {
		return json.Marshal("off")
	}
	return r.Every.MarshalJSON()
}

// UnmarshalJSON reads "off", a Go duration string or a number of nanoseconds.
func (r *RepairEvery) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil && s == "off" {
		*r = RepairEvery{Off: true}
		return nil
	}
	var d Duration
	if err := d.UnmarshalJSON(b); err != nil {
		return errors.New(`want a Go duration such as "6h", "0s" (every sync) or "off"`)
	}
	*r = RepairEvery{Every: d}
	return nil
}

// String is the value as written in JSON.
func (r RepairEvery) String() string {
	if r.Off {
		return "off"
	}
	return r.Every.D().String()
}
