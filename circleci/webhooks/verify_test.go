package webhooks

import (
	"errors"
	"strings"
	"testing"
)

// The test vectors of CircleCI's outbound webhook documentation.
var docVectors = []struct{ body, secret, v1 string }{
	{"hello world", "secret", "734cc62f32841568f45715aeb9f4d7891324e6d948e4c6c60c0621cdac48623a"},
	{"lalala", "another-secret", "daa220016c8f29a8b214fbfc3671aeec2145cfb1e6790184ffb38b6d0425fa00"},
	{"an-important-request-payload", "hunter123", "9be2242094a9a8c00c64306f382a7f9d691de910b4a266f67bd314ef18ac49fa"},
	{"foo", "secret", "773ba44693c7553d6ee20f61ea5d2757a9a4f4a44d2841ae4e95b52e4cd62db4"},
}

func TestDocVectors(t *testing.T) {
	for _, v := range docVectors {
		if got := Sign([]byte(v.secret), []byte(v.body)); got != "v1="+v.v1 {
			t.Errorf("Sign(%q, %q) = %s, want v1=%s", v.secret, v.body, got, v.v1)
		}
		if err := Verify([]byte(v.secret), "v1="+v.v1, []byte(v.body)); err != nil {
			t.Errorf("Verify(%q, %q): %v", v.secret, v.body, err)
		}
		if err := Verify([]byte(v.secret+"x"), "v1="+v.v1, []byte(v.body)); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify with another secret: %v, want ErrBadSignature", err)
		}
		if err := Verify([]byte(v.secret), "v1="+v.v1, []byte(v.body+" ")); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify of another body: %v, want ErrBadSignature", err)
		}
	}
}

func TestVerifyHeaders(t *testing.T) {
	good := docVectors[0].v1
	body, secret := []byte(docVectors[0].body), []byte(docVectors[0].secret)
	cases := []struct {
		name, header string
		want         error
	}{
		{"v1 only", "v1=" + good, nil},
		{"v1 then v2", "v1=" + good + ",v2=abc", nil},
		{"v2 then v1", "v2=abc,v1=" + good, nil},
		{"spaces around entries", " v2=abc , v1=" + good + " ", nil},
		{"several v1, one good", "v1=00,v1=" + good, nil},
		{"upper-case hex", "v1=" + strings.ToUpper(good), nil},
		{"v2 only (no downgrade)", "v2=" + good, ErrNoSignature},
		{"missing", "", ErrNoSignature},
		{"bare digest", good, ErrNoSignature},
		{"V1 upper-case key", "V1=" + good, ErrNoSignature},
		{"empty v1", "v1=", ErrBadSignature},
		{"bad hex", "v1=zz" + good[2:], ErrBadSignature},
		{"short", "v1=" + good[:62], ErrBadSignature},
		{"long", "v1=" + good + "00", ErrBadSignature},
		{"space inside", "v1=" + good[:10] + " " + good[10:], ErrBadSignature},
		{"several v1, none good", "v1=00,v1=11", ErrBadSignature},
		{"10k entries", strings.Repeat("v2=0,", 10000) + "v1=" + good, ErrNoSignature},
	}
	for _, c := range cases {
		err := Verify(secret, c.header, body)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), good) {
			t.Errorf("%s: the error names the signature: %v", c.name, err)
		}
	}
	if err := Verify(nil, "v1="+good, body); err == nil {
		t.Error("an empty secret verified a signature")
	}
}

func TestVerifyAnyRotation(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	sig := Sign([]byte("new"), body)
	if err := VerifyAny([][]byte{[]byte("old"), []byte("new")}, sig, body); err != nil {
		t.Errorf("rotation: %v", err)
	}
	if err := VerifyAny([][]byte{[]byte("old")}, sig, body); !errors.Is(err, ErrBadSignature) {
		t.Errorf("old secret only: %v, want ErrBadSignature", err)
	}
	if err := VerifyAny(nil, sig, body); err == nil {
		t.Error("no secret verified a signature")
	}
}

func TestSlugs(t *testing.T) {
	for _, c := range []struct {
		org, slug string
		want      bool
	}{
		{"gh/acme", "github/acme/api", true},
		{"github/Acme", "gh/acme/api", true},
		{"bb/acme", "bitbucket/acme/api", true},
		{"circleci/ORG", "circleci/ORG/proj", true},
		{"gh/acme", "github/acme-evil/api", false},
		{"gh/acme", "github/acme", false},
		{"gh/acme", "github/acme/", false},
		{"gh/acme", "github/acme/a/b", false},
		{"", "github/acme/api", false},
		{"gh/acme", "bb/acme/api", false},
	} {
		if got := InOrg(c.org, c.slug); got != c.want {
			t.Errorf("InOrg(%q, %q) = %v", c.org, c.slug, got)
		}
	}
	if got := ShortSlug("GitHub/Acme/API"); got != "gh/Acme/API" {
		t.Errorf("ShortSlug = %q", got)
	}
	if got := ShortSlug("circleci/AbC/dEf"); got != "circleci/AbC/dEf" {
		t.Errorf("ShortSlug = %q", got)
	}
}
