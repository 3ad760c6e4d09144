package store

import (
	"strings"

	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// changeSet is the SET list of a row update, updated_at first.
type changeSet struct {
	set  []string
	args []any
}

func newChangeSet() *changeSet {
	return &changeSet{set: []string{"updated_at = ?"}, args: []any{store.TimeOf(store.Now())}}
}

// add sets a column.
func (c *changeSet) add(col string, v any) {
	c.set, c.args = append(c.set, col+" = ?"), append(c.args, v)
}

// text sets the name and description a change carries (nil: unchanged,
// a nil inside: NULL), the two columns every resource's update shares.
func (c *changeSet) text(name, description **string) {
	if name != nil {
		c.add("name", nullStr(*name))
	}
	if description != nil {
		c.add("description", nullStr(*description))
	}
}

// casUpdate is the compare-and-swap UPDATE of one undeleted row of table
// whose status is one of from (any when from is empty).
func casUpdate[S ~string](table string, c *changeSet, id string, from []S) (string, []any) {
	q := "UPDATE " + table + " SET " + strings.Join(c.set, ", ") + " WHERE id = ? AND deleted = ?"
	args := append(c.args, id, false)
	if len(from) > 0 {
		in, a := store.In(from)
		q += " AND status IN " + in
		args = append(args, a...)
	}
	return q, args
}
