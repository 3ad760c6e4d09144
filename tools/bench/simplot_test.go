package main

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSimPlot writes the plot of three host counts and finds the lines'
// and the targets' colours in it.
func TestSimPlot(t *testing.T) {
	rows := []simRow{
		{Hosts: 10, BootRate: 50, BootP50: 300 * time.Millisecond, BootP99: time.Second, SchedP99: time.Millisecond, List: map[int]time.Duration{10000: 40 * time.Millisecond}},
		{Hosts: 100, BootRate: 60, BootP50: 320 * time.Millisecond, BootP99: 1200 * time.Millisecond, SchedP99: 2 * time.Millisecond, List: map[int]time.Duration{10000: 42 * time.Millisecond}},
		{Hosts: 1000, BootRate: 55, BootP50: 350 * time.Millisecond, BootP99: 1500 * time.Millisecond, SchedP99: 4 * time.Millisecond, List: map[int]time.Duration{10000: 45 * time.Millisecond}},
	}
	path := filepath.Join(t.TempDir(), "sim.png")
	if err := writeSimPlot(path, rows, []int{10000}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[3]uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}]++
		}
	}
	if seen[[3]uint32{200, 30, 30}] < 100 {
		t.Errorf("the targets' dashed lines are missing (%d red pixels)", seen[[3]uint32{200, 30, 30}])
	}
	if seen[[3]uint32{31, 119, 180}] < 200 {
		t.Errorf("the figures' lines are missing (%d blue pixels)", seen[[3]uint32{31, 119, 180}])
	}
}
