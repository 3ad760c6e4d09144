package revert

import "testing"

func TestRevert(t *testing.T) {
	var got []int
	func() {
		r := New()
		defer r.Fail()
		r.Add(func() { got = append(got, 1) })
		r.Add(func() { got = append(got, 2) })
	}()
	if len(got) != 2 || got[0] != 2 || got[1] != 1 {
		t.Fatalf("undo order %v", got)
	}
	got = nil
	func() {
		r := New()
		defer r.Fail()
		r.Add(func() { got = append(got, 1) })
		r.Success()
	}()
	if got != nil {
		t.Fatal("undo ran after Success")
	}
}
