// Command tenku is an OpenStack cloud in one binary.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "tenku: not assembled yet")
	os.Exit(1)
}
