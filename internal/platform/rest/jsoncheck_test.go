package rest

import "testing"

func TestCheckJSON(t *testing.T) {
	good := []string{`{"a":"b"}`, " {\"a\":1} \n", `{"s":"\ud83d\ude00"}`, `{"s":"\\ud800"}`, `["\"", "\u00e9"]`, `{"k":"é"}`}
	for _, g := range good {
		if err := CheckJSON([]byte(g)); err != nil {
			t.Errorf("%q refused: %v", g, err)
		}
	}
	bad := []string{`{"a":"b"}xyz`, `{"a":1}{}`, "{\"a\":\"\xff\"}", `{"s":"\ud800"}`, `{"s":"\udc00x"}`, `{"s":"\ud800\u0041"}`, `{"s":"x\uDBFF"}`, `{`}
	for _, b := range bad {
		if err := CheckJSON([]byte(b)); err == nil {
			t.Errorf("%q accepted", b)
		}
	}
}
