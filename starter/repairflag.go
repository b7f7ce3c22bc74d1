package main

import (
	"errors"
	"strconv"

	"github.com/circleci-sync/circleci-sync/workflows"
)

// repairEveryFlag is -repair-every: "off" or a duration; unset leaves the
// workflow's default.
type repairEveryFlag struct{ r *workflows.RepairEvery }

// String returns the value, "" when unset.
func (f *repairEveryFlag) String() string {
	if f == nil || f.r == nil {
		return ""
	}
	if f.r.Off {
		return "off"
	}
	return f.r.Every.D().String()
}

// Set parses "off" or a Go duration such as "6h" ("0s": every sync).
func (f *repairEveryFlag) Set(s string) error {
	var r workflows.RepairEvery
	if err := r.UnmarshalJSON([]byte(strconv.Quote(s))); err != nil {
		return errors.New(`want a duration such as "6h", "0s" (every sync) or "off"`)
	}
	f.r = &r
	return nil
}
