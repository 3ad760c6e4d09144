package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
)

// asset is one embedded static file, ready to serve: its bytes, a gzip copy
// when that is smaller, and a version (a hash of the content) that pages put
// in its address, so that browsers may keep it for a year and still see a
// new release at once.
type asset struct {
	body, gz []byte
	ctype    string
	version  string
}

// loadAssets reads the embedded static folder once.
func loadAssets() (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(staticFS, "static", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(staticFS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a := &asset{body: b, ctype: mime.TypeByExtension(path.Ext(p)), version: hex.EncodeToString(sum[:6])}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		if gz.Len() < len(b) {
			a.gz = gz.Bytes()
		}
		out[strings.TrimPrefix(p, "static/")] = a
		return nil
	})
	return out, err
}

// assetURL is the versioned address of a static file, for templates.
func (d *Dashboard) assetURL(name string) string {
	a := d.assets[name]
	if a == nil {
		return "/static/" + name // a template names a file that is not there: it 404s, visibly
	}
	return "/static/" + name + "?v=" + a.version
}

// serveStatic answers GET /static/NAME: gzip when the browser takes it, an
// ETag for revalidation, and a year's caching for the versioned address.
func (d *Dashboard) serveStatic(w http.ResponseWriter, r *http.Request) {
	a := d.assets[strings.TrimPrefix(r.URL.Path, "/static/")]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	etag := `"` + a.version + `"`
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=3600")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.ctype)
	body := a.body
	if a.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	w.Write(body)
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}

// writeHTML sends a rendered page, gzipped when the browser takes it and the
// page is worth it.
func writeHTML(w http.ResponseWriter, r *http.Request, body []byte, status int) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Add("Vary", "Accept-Encoding")
	if r == nil || len(body) < 1024 || !acceptsGzip(r) {
		w.WriteHeader(status)
		w.Write(body)
		return
	}
	h.Set("Content-Encoding", "gzip")
	w.WriteHeader(status)
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(w)
	zw.Write(body)
	zw.Close()
	gzipPool.Put(zw)
}

// gzipPool keeps the pages' gzip writers: a new one allocates its ~1 MB of
// compressor state, which under load cost the instances page as much CPU
// as its Nova call (profiled with four browsers at once).
var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}
