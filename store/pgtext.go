package store

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// PostgreSQL cannot store some strings that Go, SQLite and JSON can: TEXT rejects the
// NUL character and invalid UTF-8, and JSONB also rejects the escape \u0000 and
// unpaired UTF-16 surrogate escapes (\ud800). CircleCI data can carry any of them (a
// commit subject is user input), and one such value must not fail a whole batch, so
// the PostgreSQL store writes them as the closest storable string:
//
//   - pgText drops NUL characters and replaces invalid UTF-8 with U+FFFD;
//   - pgJSON replaces invalid UTF-8 with U+FFFD, and \u0000 and unpaired surrogate
//     escapes with \ufffd.
//
// Both return their argument unchanged (without allocating) in the usual case.

// pgText returns s as PostgreSQL TEXT can store it.
func pgText(s string) string {
	if !strings.Contains(s, "\x00") && utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

// pgJSON returns the JSON text s as PostgreSQL JSONB can store it. s must be valid
// JSON.
func pgJSON(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if !strings.Contains(s, `\u`) {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i+1 < len(s); {
		if s[i] != '\\' {
			i++
			continue
		}
		if s[i+1] != 'u' || i+6 > len(s) {
			i += 2 // \" \\ \/ \b \f \n \r \t: skip the escaped character
			continue
		}
		r := hex4(s[i+2 : i+6])
		size, bad := 6, false
		switch {
		case r == 0:
			bad = true
		case r >= 0xD800 && r <= 0xDBFF: // high surrogate: needs a low one next
			if i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
				if lo := hex4(s[i+8 : i+12]); lo >= 0xDC00 && lo <= 0xDFFF {
					size = 12
					break
				}
			}
			bad = true
		case r >= 0xDC00 && r <= 0xDFFF: // low surrogate without a high one
			bad = true
		}
		if bad {
			b.WriteString(s[last:i])
			b.WriteString(`\ufffd`)
			last = i + 6
		}
		i += size
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// hex4 decodes four hexadecimal digits, -1 if they are not.
func hex4(s string) int {
	n, err := strconv.ParseUint(s, 16, 16)
	if err != nil {
		return -1
	}
	return int(n)
}
