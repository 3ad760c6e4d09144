package password

import (
	"strings"
	"testing"
)

// Vectors made by Python's crypt module and passlib 1.7.4 (Keystone's hasher).
var vectors = []struct {
	pw, hash string
}{
	{"secret", "$6$rounds=5000$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"},
	{"secret", "$6$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvgY..TKjv1T..8RadRt2qvUHYRLr/TsVArtr91iR1"},
	{"pässwörd", "$6$rounds=10000$Zx9Qw8Er$pgpGwIKdDKc0QrfQcryQ4p9gIrMR8Umaf7MRyEzUg0/lY2NMTZeAld4C57hbJxPDr9BERmWvsqGQkEXZGsmhm."},
	{"secret", "$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg$vgFvU7zWIDgDAUi7d8ayt.cfRiPWVVWfv8iQRsGZaZviWzsSNgWYXEE5PmvI/VELMsOmEbqLz0PKuePNjOk41A"},
	{"", "$pbkdf2-sha512$25000$//9fC6E0hhCitBYixDjHOA$0e9TWNqwgM96E21I4/BapooaNub7ECAWIfHct8LUkW.JWiwRbgYO.41G/fNNBq2sO4w7Lz0aYRlVATKBxAFkdQ"},
}

func TestImportedHashes(t *testing.T) {
	for _, v := range vectors {
		ok, err := Check(v.pw, v.hash)
		if err != nil || !ok {
			t.Errorf("Check(%q, %s) = %v, %v; want a match", v.pw, v.hash, ok, err)
		}
		ok, err = Check(v.pw+"x", v.hash)
		if err != nil || ok {
			t.Errorf("Check(wrong, %s) = %v, %v; want no match", v.hash, ok, err)
		}
	}
}

func TestBcrypt(t *testing.T) {
	h, err := Hash("correct horse", 4)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2a$04$") {
		t.Fatalf("hash %s", h)
	}
	cases := []struct {
		pw   string
		want bool
	}{{"correct horse", true}, {"correct horsf", false}, {"", false}}
	for _, c := range cases {
		if ok, err := Check(c.pw, h); ok != c.want || err != nil {
			t.Errorf("Check(%q) = %v, %v", c.pw, ok, err)
		}
	}
	// $2b$ (passlib's spelling) verifies too.
	if ok, err := Check("correct horse", "$2b$"+h[4:]); !ok || err != nil {
		t.Errorf("$2b$: %v %v", ok, err)
	}
	// Passwords longer than bcrypt's 72 bytes are truncated, not refused.
	long := strings.Repeat("a", 100)
	h2, err := Hash(long, 4)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := Check(strings.Repeat("a", 72)+"zz", h2); !ok {
		t.Error("long password: want truncation to 72 bytes")
	}
	if !NeedsRehash(h2, 12) || NeedsRehash(h2, 4) {
		t.Error("NeedsRehash")
	}
	if _, err := Hash("x", 99); err == nil {
		t.Error("cost 99 accepted")
	}
}

func TestBadHashes(t *testing.T) {
	for _, h := range []string{"", "plain", "$6$short", "$6$rounds=x$salt$abc", "$pbkdf2-sha512$x$a$b", "$pbkdf2-sha512$10$!!$b", "$1$abc$def"} {
		ok, err := Check("pw", h)
		if ok || err == nil {
			t.Errorf("Check(%q) = %v, %v; want an error", h, ok, err)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.pw, v.hash)
	}
	f.Add("x", "$2a$04$abcdefghijklmnopqrstuv")
	f.Fuzz(func(t *testing.T, pw, hash string) {
		if strings.HasPrefix(hash, "$pbkdf2-sha512$") || strings.HasPrefix(hash, "$6$rounds=") {
			return // arbitrary round counts make the fuzzer slow, not wiser
		}
		Check(pw, hash)
	})
}
