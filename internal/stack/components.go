package stack

// Components lists every service tenku can run, in start order: Keystone first,
// since every other service validates tokens against it.
func Components() []Component {
	return nil
}
