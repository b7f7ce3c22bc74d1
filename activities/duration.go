package activities

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration written in JSON as "1h" (a number of
// nanoseconds is read too).
type Duration time.Duration

// MarshalJSON writes d as people write it: "1h", "2m30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// Round rounds d for people: to the second, to the minute from an hour.
func (d Duration) Round() Duration {
	if time.Duration(d) >= time.Hour {
		return Duration(time.Duration(d).Round(time.Minute))
	}
	if time.Duration(d) >= time.Second {
		return Duration(time.Duration(d).Round(time.Second))
	}
	return Duration(time.Duration(d).Round(time.Millisecond))
}

// String is d as people write it: "1h" rather than "1h0m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalJSON reads a Go duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: want a Go duration such as \"1h\" or \"72h\"", s)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration %s: want a string such as \"1h\" or a number of nanoseconds", b)
	}
	*d = Duration(n)
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
