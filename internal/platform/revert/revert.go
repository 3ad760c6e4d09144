package revert

// Reverter collects undo functions.
type Reverter struct{ undo []func() }

// New returns an empty reverter.
func New() *Reverter { return &Reverter{} }

// Add registers an undo step.
func (r *Reverter) Add(f func()) { r.undo = append(r.undo, f) }

// Fail runs the undo steps, last first, unless Success was called.
func (r *Reverter) Fail() {
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}
	r.undo = nil
}

// Success forgets the undo steps: the operation completed.
func (r *Reverter) Success() { r.undo = nil }
