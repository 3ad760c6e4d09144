// Package imagetest gives tests the shared test image of package
// testimage, or skips them where it cannot boot (fails them in CI).
//
// imagetest imports the standard library and internal/testimage.
package imagetest
