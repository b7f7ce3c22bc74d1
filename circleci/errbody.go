package circleci

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMessageRunes caps Error.Message taken from a body.
const maxMessageRunes = 200

// errorMessage extracts CircleCI's message from a non-2xx body as CircleCI's CLI does
// (JSON "error", else "message", else the text; an HTML page's title): one redacted line.
func errorMessage(status int, contentType string, body []byte, redact func(string) string) string {
	msg := messageFromBody(contentType, body)
	if redact != nil {
		msg = redact(msg)
	}
	msg = truncateRunes(oneLine(msg), maxMessageRunes)
	if msg == "" {
		msg = http.StatusText(status)
	}
	return msg
}

func messageFromBody(contentType string, body []byte) string {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return ""
	}
	if trimmed[0] == '{' {
		if msg, ok := jsonMessage(trimmed); ok {
			return msg
		}
	}
	if isHTML(contentType, trimmed) {
		if title := htmlTitle(trimmed); title != "" {
			return "HTML error page: " + title
		}
		return "HTML error page"
	}
	return string(trimmed)
}

// jsonMessage reads {"error": …}, {"message": …} and v3's {"error": {"title", "detail"}}.
func jsonMessage(body []byte) (string, bool) {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", false
	}
	var s string
	if json.Unmarshal(v.Error, &s) == nil && strings.TrimSpace(s) != "" {
		return s, true
	}
	var obj struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(v.Error, &obj) == nil {
		switch {
		case obj.Detail != "":
			return obj.Detail, true
		case obj.Title != "":
			return obj.Title, true
		}
	}
	if json.Unmarshal(v.Message, &s) == nil && strings.TrimSpace(s) != "" {
		return s, true
	}
	return "", false
}

// isHTML reports an HTML body, by content type or by its first tag.
func isHTML(contentType string, body []byte) bool {
	if strings.Contains(strings.ToLower(contentType), "html") {
		return true
	}
	head := strings.ToLower(string(body[:min(len(body), 512)]))
	return strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html") ||
		strings.Contains(head, "<html") || strings.Contains(head, "<head") || strings.Contains(head, "<body")
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// htmlTitle returns the unescaped <title> of an HTML page, or "".
func htmlTitle(body []byte) string {
	m := titleRE.FindSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(html.UnescapeString(string(m[1])))
}

// oneLine makes s valid UTF-8 on one line, so that it cannot forge log lines or escapes.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.Join(strings.Fields(s), " ")
}

// truncateRunes cuts s to n runes, marking the cut with "…".
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
