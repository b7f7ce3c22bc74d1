package circleci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// decodeFailure is why a 2xx body could not be used: a reason, and the decoder's error.
type decodeFailure struct {
	reason string
	err    error
}

// Error returns the reason and the cause.
func (f *decodeFailure) Error() string {
	if f.err == nil {
		return f.reason
	}
	return f.reason + ": " + f.err.Error()
}

// Unwrap returns the decoder's error.
func (f *decodeFailure) Unwrap() error { return f.err }

// validator is implemented by models that reject an item they cannot be stored as.
type validator interface{ validate() error }

// decodeObject decodes a body that must be one JSON object.
func decodeObject[T any](body []byte) (T, error) {
	var v T
	if err := checkTopLevel(body, '{'); err != nil {
		return v, err
	}
	if err := unmarshal(body, &v); err != nil {
		return v, err
	}
	if err := validate(&v); err != nil {
		return v, &decodeFailure{reason: err.Error()}
	}
	return v, nil
}

// decodeArray decodes a body that must be a bare JSON array.
func decodeArray[T any](body []byte) ([]T, error) {
	if err := checkTopLevel(body, '['); err != nil {
		return nil, err
	}
	var items []T
	if err := unmarshal(body, &items); err != nil {
		return nil, err
	}
	if err := validateItems(items); err != nil {
		return nil, err
	}
	if items == nil {
		items = []T{}
	}
	return items, nil
}

// pageEnvelope is the wire form of a v2 list response.
type pageEnvelope[T any] struct {
	Items         []T             `json:"items"`
	NextPageToken json.RawMessage `json:"next_page_token"`
}

// decodePage decodes a v2 list; null or missing items and next_page_token are allowed.
func decodePage[T any](body []byte) (Page[T], error) {
	if err := checkTopLevel(body, '{'); err != nil {
		return Page[T]{}, err
	}
	var env pageEnvelope[T]
	if err := unmarshal(body, &env); err != nil {
		return Page[T]{}, err
	}
	var token *string
	if len(env.NextPageToken) > 0 {
		if err := json.Unmarshal(env.NextPageToken, &token); err != nil {
			return Page[T]{}, &decodeFailure{reason: "next_page_token is not a string or null"}
		}
	}
	if err := validateItems(env.Items); err != nil {
		return Page[T]{}, err
	}
	p := Page[T]{Items: env.Items}
	if p.Items == nil {
		p.Items = []T{}
	}
	if token != nil {
		p.NextPageToken = *token
	}
	return p, nil
}

// checkTopLevel checks that body opens with want ('{' or '['), naming what it holds instead.
func checkTopLevel(body []byte, want byte) error {
	expected := "a JSON object"
	if want == '[' {
		expected = "a JSON array"
	}
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) == 0 {
		return &decodeFailure{reason: "empty response body, expected " + expected}
	}
	if b[0] == want {
		return nil
	}
	var got string
	switch {
	case b[0] == '{':
		got = "a JSON object"
	case b[0] == '[':
		got = "a JSON array"
	case bytes.HasPrefix(b, []byte("null")):
		got = "null"
	case b[0] == '"' || b[0] == '-' || (b[0] >= '0' && b[0] <= '9') ||
		bytes.HasPrefix(b, []byte("true")) || bytes.HasPrefix(b, []byte("false")):
		got = "a JSON scalar"
	case b[0] == '<':
		got = "markup (HTML or XML)"
	default:
		got = "text that is not JSON"
	}
	return &decodeFailure{reason: fmt.Sprintf("expected %s, got %s", expected, got)}
}

// unmarshal decodes body into v, naming the failure.
func unmarshal(body []byte, v any) error {
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax) && strings.Contains(syntax.Error(), "unexpected end of JSON input"):
		return &decodeFailure{reason: "truncated JSON", err: err}
	case errors.As(err, &typeErr):
		return &decodeFailure{reason: "a field has the wrong type", err: err}
	default:
		return &decodeFailure{reason: "invalid JSON", err: err}
	}
}

// validate runs v's validator, if it has one.
func validate(v any) error {
	if val, ok := v.(validator); ok {
		return val.validate()
	}
	return nil
}

// validateItems validates each item of a list.
func validateItems[T any](items []T) error {
	for i := range items {
		if err := validate(&items[i]); err != nil {
			return &decodeFailure{reason: fmt.Sprintf("item %d: %v", i, err)}
		}
	}
	return nil
}
