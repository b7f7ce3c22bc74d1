package circlecitest

import "time"

// Wire types are the JSON CircleCI sends, in the spec's property order, apart from
// the dataset types and from package circleci; each kind's live in its file.

// wireTimeLayout is how CircleCI writes timestamps: UTC, milliseconds, "Z".
const wireTimeLayout = "2006-01-02T15:04:05.000Z"

type wireTime time.Time

// MarshalJSON writes the time in CircleCI's layout.
func (t wireTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(wireTimeLayout) + `"`), nil
}

func wtp(t *time.Time) *wireTime {
	if t == nil {
		return nil
	}
	v := wireTime(*t)
	return &v
}

type wireError struct {
	Message string `json:"message"`
}

type wireList[T any] struct {
	Items         []T     `json:"items"`
	NextPageToken *string `json:"next_page_token"`
}
