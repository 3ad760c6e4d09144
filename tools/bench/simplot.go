package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// A small line-plot writer: panels of figures over the host count (a log
// scale), each with its target as a dashed line.

type series struct {
	name string
	ys   []float64
	c    color.RGBA
}

type panel struct {
	title  string
	target float64 // 0: none
	lines  []series
}

var (
	plotInk    = color.RGBA{40, 40, 40, 255}
	plotGrid   = color.RGBA{220, 220, 220, 255}
	plotTarget = color.RGBA{200, 30, 30, 255}
	plotColors = []color.RGBA{{31, 119, 180, 255}, {44, 160, 44, 255}, {148, 103, 189, 255}, {255, 127, 14, 255}}
)

// writeSimPlot writes the scaling figures as a PNG of four panels.
func writeSimPlot(path string, rows []simRow, servers []int) error {
	if len(rows) == 0 {
		return nil
	}
	var hosts []float64
	col := func(f func(r simRow) float64) []float64 {
		out := make([]float64, len(rows))
		for i, r := range rows {
			out[i] = f(r)
		}
		return out
	}
	for _, r := range rows {
		hosts = append(hosts, float64(r.Hosts))
	}
	list := panel{title: "GET /servers/detail?limit=1000 p50 (ms)", target: 100}
	for i, s := range servers {
		list.lines = append(list.lines, series{name: fmt.Sprintf("%dk servers", s/1000), c: plotColors[i%len(plotColors)],
			ys: col(func(r simRow) float64 { return ms(r.List[s]) })})
	}
	panels := []panel{
		{title: "boot rate to ACTIVE (/s)", target: 200, lines: []series{{name: "32 clients", c: plotColors[0], ys: col(func(r simRow) float64 { return r.BootRate })}}},
		{title: "POST->ACTIVE p99 (ms)", target: 2000, lines: []series{{name: "p99", c: plotColors[0], ys: col(func(r simRow) float64 { return ms(r.BootP99) })},
			{name: "p50", c: plotColors[1], ys: col(func(r simRow) float64 { return ms(r.BootP50) })}}},
		{title: "scheduler decision p99 (ms)", target: 5, lines: []series{{name: "p99", c: plotColors[0], ys: col(func(r simRow) float64 { return ms(r.SchedP99) })}}},
		list,
	}
	const pw, ph = 420, 300
	img := image.NewRGBA(image.Rect(0, 0, 2*pw, 2*ph+20))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	label(img, 10, 14, "tenku sim: figures over compute hosts (dashed red: target); load avg "+rows[len(rows)-1].Load2, plotInk)
	for i, p := range panels {
		drawPanel(img, image.Rect((i%2)*pw, 20+(i/2)*ph, (i%2+1)*pw, 20+(i/2+1)*ph), p, hosts)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// drawPanel draws one panel: axes, grid, target and lines with markers.
func drawPanel(img *image.RGBA, r image.Rectangle, p panel, hosts []float64) {
	plot := image.Rect(r.Min.X+60, r.Min.Y+30, r.Max.X-20, r.Max.Y-40)
	label(img, r.Min.X+10, r.Min.Y+18, p.title, plotInk)
	ymax := p.target
	for _, s := range p.lines {
		for _, y := range s.ys {
			ymax = math.Max(ymax, y)
		}
	}
	if ymax <= 0 {
		ymax = 1
	}
	ymax *= 1.1
	lx0, lx1 := math.Log10(hosts[0]), math.Log10(hosts[len(hosts)-1])
	if lx1 == lx0 {
		lx0, lx1 = lx0-0.5, lx1+0.5
	}
	xAt := func(h float64) int {
		return plot.Min.X + int((math.Log10(h)-lx0)/(lx1-lx0)*float64(plot.Dx()))
	}
	yAt := func(v float64) int { return plot.Max.Y - int(v/ymax*float64(plot.Dy())) }
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		y := yAt(v)
		hline(img, plot.Min.X, plot.Max.X, y, plotGrid, false)
		label(img, r.Min.X+4, y+4, short(v), plotInk)
	}
	for _, h := range hosts {
		x := xAt(h)
		vline(img, x, plot.Min.Y, plot.Max.Y, plotGrid)
		label(img, x-10, plot.Max.Y+16, fmt.Sprint(h), plotInk)
	}
	label(img, plot.Min.X+plot.Dx()/2-30, plot.Max.Y+32, "compute hosts", plotInk)
	hline(img, plot.Min.X, plot.Max.X, plot.Max.Y, plotInk, false)
	vline(img, plot.Min.X, plot.Min.Y, plot.Max.Y, plotInk)
	if p.target > 0 {
		hline(img, plot.Min.X, plot.Max.X, yAt(p.target), plotTarget, true)
	}
	for i, s := range p.lines {
		for j := range s.ys {
			x, y := xAt(hosts[j]), yAt(s.ys[j])
			for dx := -2; dx <= 2; dx++ {
				for dy := -2; dy <= 2; dy++ {
					img.Set(x+dx, y+dy, s.c)
				}
			}
			if j > 0 {
				line(img, xAt(hosts[j-1]), yAt(s.ys[j-1]), x, y, s.c)
			}
		}
		label(img, plot.Max.X-100, plot.Min.Y+12+14*i, s.name, s.c)
	}
}

func short(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.2g", v)
	}
}

func label(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func hline(img *image.RGBA, x0, x1, y int, c color.Color, dashed bool) {
	for x := x0; x <= x1; x++ {
		if !dashed || (x/6)%2 == 0 {
			img.Set(x, y, c)
		}
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.Color) {
	for y := y0; y <= y1; y++ {
		img.Set(x, y, c)
	}
}

// line draws a 2-pixel line (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		img.Set(x0, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
