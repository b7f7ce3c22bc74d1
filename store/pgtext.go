package store

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// PostgreSQL TEXT rejects NUL and invalid UTF-8, and JSONB also \u0000 and unpaired
// surrogate escapes; CircleCI data may carry them, and one value must not fail a batch.
// pgText and pgJSON write the closest storable string (without allocating when clean).

// pgText returns s as PostgreSQL TEXT can store it.
func pgText(s string) string {
	if !strings.Contains(s, "\x00") && utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

// pgJSON returns the valid JSON text s as JSONB can store it.
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
