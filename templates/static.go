package templates

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var staticFiles embed.FS

// contentType pins the content type of every kind of file we embed, so the
// answer does not depend on the host's mime.types.
func contentType(ext string) (string, bool) {
	switch ext {
	case ".css":
		return "text/css; charset=utf-8", true
	case ".js":
		return "text/javascript; charset=utf-8", true
	case ".svg":
		return "image/svg+xml", true
	case ".png":
		return "image/png", true
	case ".woff2":
		return "font/woff2", true
	}
	return "", false
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// assetVersions returns a short content hash for every embedded static file.
func assetVersions() (map[string]string, error) {
	all, err := loadAssets()
	if err != nil {
		return nil, err
	}
	v := make(map[string]string, len(all))
	for name, a := range all {
		v[name] = strings.Trim(a.etag, `"`)
	}
	return v, nil
}

func loadAssets() (map[string]asset, error) {
	all := make(map[string]asset)
	err := fs.WalkDir(staticFiles, "static", func(file string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := strings.TrimPrefix(file, "static/")
		ext := path.Ext(name)
		ct, ok := contentType(ext)
		if !ok {
			return fmt.Errorf("templates: static/%s: no content type for %q", name, ext)
		}
		body, err := staticFiles.ReadFile(file)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		all[name] = asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:6]) + `"`}
		return nil
	})
	return all, err
}

// Static serves the embedded assets. Mount it at "/static/" without
// http.StripPrefix. Pages link assets with a content hash in the query, so a
// year of caching is safe: a changed file gets a new URL.
func Static() http.Handler {
	all, err := loadAssets()
	if err != nil {
		// The embedded files are fixed at build time and the tests load
		// them, so this is a build defect rather than a runtime condition.
		panic(err)
	}
	return staticHandler{assets: all}
}

type staticHandler struct{ assets map[string]asset }

func (h staticHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	a, ok := h.assets[strings.TrimPrefix(r.URL.Path, "/static/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	hdr.Set("ETag", a.etag)
	hdr.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
