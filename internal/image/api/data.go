package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/image/format"
	"github.com/tenku-cloud/tenku/internal/image/store"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

const mib = 1 << 20

func (a *API) dataRoutes() []rest.Route {
	return []rest.Route{
		{Method: "PUT", Path: "/v2/images/{image_id}/file", Handler: a.upload, Status: http.StatusNoContent, RawBody: true},
		{Method: "GET", Path: "/v2/images/{image_id}/file", Handler: a.download},
		{Method: "PUT", Path: "/v2/images/{image_id}/stage", Handler: a.stageData, Status: http.StatusNoContent, RawBody: true},
	}
}

// octetStream checks the Content-Type of an upload, as Glance's
// get_content_type does.
func octetStream(r *rest.Request) error {
	ct, ok := r.HTTP.Header["Content-Type"]
	if !ok || len(ct) == 0 {
		return unsupportedMedia("", "Invalid content type None")
	}
	mt, _, _ := mime.ParseMediaType(ct[0])
	if mt != "application/octet-stream" {
		return unsupportedMedia(ct[0], "Invalid content type "+mt)
	}
	return nil
}

// declaredSize is the size the client announces (x-openstack-image-size,
// else Content-Length), or -1.
func declaredSize(r *rest.Request) (int64, error) {
	if s := r.HTTP.Header.Get("X-Openstack-Image-Size"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, badRequest("Invalid or missing image size in request headers.")
		}
		return n, nil
	}
	if r.HTTP.ContentLength > 0 {
		return r.HTTP.ContentLength, nil
	}
	return -1, nil
}

// transitionErr is Glance's InvalidImageStatusTransition.
func transitionErr(from, to image.Status) error {
	return conflict("Image status transition from %s to %s is not allowed", from, to)
}

// startData moves a queued image to the status of an upload (saving) or
// a stage (uploading), with Glance's checks.
func (a *API) startData(ctx context.Context, id string, to image.Status) (*db.Image, error) {
	im, err := a.db.UpdateImage(ctx, id, func(cur *db.Image) error {
		if cur.Status != image.StatusQueued {
			return transitionErr(cur.Status, to)
		}
		// Glance requires the formats before data is saved, not before
		// it is staged (the import checks them).
		var missing []string
		if to == image.StatusSaving {
			if cur.DiskFormat == "" {
				missing = append(missing, "disk_format")
			}
			if cur.ContainerFormat == "" {
				missing = append(missing, "container_format")
			}
		}
		switch len(missing) {
		case 1:
			return badRequest("Property %s must be set prior to saving data.", missing[0])
		case 2:
			return badRequest("Properties %s must be set prior to saving data.", strings.Join(missing, ", "))
		}
		cur.Status = to
		cur.Worker = a.opt.Worker
		return nil
	})
	if db.IsNotFound(err) {
		return nil, notFound("No image found with ID %s", id)
	}
	return im, err
}

// restore puts an image whose upload or stage failed back to queued (if
// it is still in the given status) — Glance's _restore.
func (a *API) restore(ctx context.Context, id string, from image.Status) {
	ctx = context.WithoutCancel(ctx)
	_, err := a.db.UpdateImage(ctx, id, func(cur *db.Image) error {
		if cur.Status != from {
			return errNoChange
		}
		cur.Status = image.StatusQueued
		cur.Size, cur.VirtualSize, cur.StagedSize = nil, nil, nil
		cur.Worker = ""
		return nil
	})
	if err != nil && !errors.Is(err, errNoChange) && !db.IsNotFound(err) {
		a.log.ErrorContext(ctx, "could not restore image to queued", "image_id", id, "err", err)
		return
	}
	if err == nil {
		a.log.InfoContext(ctx, "image restored to queued", "image_id", id, "status_was", from)
	}
}

// undo puts an image whose data did not make it back where it came from:
// queued, except for an import stopped by a shutdown, which goes back to
// uploading with its staged data so that it can be imported again.
func (a *API) undo(ctx context.Context, id string, from image.Status) {
	if from == image.StatusImporting && ctx.Err() != nil {
		a.restoreUploading(ctx, id)
		return
	}
	a.restore(ctx, id, from)
}

// sizeLimit is the most bytes an upload of owner may bring: the size cap,
// and what is left of the user storage quota.
func (a *API) sizeLimit(ctx context.Context, owner string) (int64, error) {
	limit := a.opt.ImageSizeCap
	if q := a.opt.UserStorageQuota; q > 0 {
		u, err := a.db.Usage(ctx, owner)
		if err != nil {
			return 0, err
		}
		left := q - u.Size
		if left <= 0 {
			return 0, tooLarge("Denying attempt to upload image because it exceeds the quota: The size of the data will exceed the limit. %d bytes remaining.", max(left, 0))
		}
		if limit <= 0 || left < limit {
			limit = left
		}
	}
	return limit, nil
}

// writeError turns a failed store write into Glance's answer.
func (a *API) writeError(ctx context.Context, err error, capped bool) error {
	switch {
	case errors.Is(err, store.ErrTooLarge):
		if capped {
			return tooLarge("The incoming image is too large: The provided image is too large.")
		}
		return tooLarge("Image exceeds the storage quota: The size of the data will exceed the limit.")
	case asFault(err):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("The image data upload was interrupted.")
	}
	var se interface{ Timeout() bool }
	if errors.As(err, &se) {
		return badRequest("The image data upload timed out.")
	}
	if strings.Contains(err.Error(), "image store:") {
		return err
	}
	// The request body failed to read: the client went away.
	return badRequest("The image data upload was interrupted: %v", err)
}

func (a *API) upload(ctx context.Context, r *rest.Request) (any, error) {
	if err := octetStream(r); err != nil {
		return nil, err
	}
	size, err := declaredSize(r)
	if err != nil {
		return nil, err
	}
	who := r.Auth
	if size > 0 {
		if err := a.enforceLimits(ctx, projectOf(who), map[string]int64{image.QuotaImageSizeTotal: size / mib}); err != nil {
			return nil, err
		}
	}
	id := r.Param("image_id")
	im, err := a.findImage(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if err := a.enforceImage(ctx, who, "upload_image", im); err != nil {
		return nil, err
	}
	if size > 0 && a.opt.ImageSizeCap > 0 && size > a.opt.ImageSizeCap {
		return nil, tooLarge("The incoming image is too large: The provided image is too large.")
	}
	limit, err := a.sizeLimit(ctx, im.Owner)
	if err != nil {
		return nil, err
	}
	if im, err = a.startData(ctx, id, image.StatusSaving); err != nil {
		return nil, err
	}
	if err := a.enforceLimits(ctx, projectOf(who), map[string]int64{image.QuotaImageCountUploading: 0}); err != nil {
		a.restore(ctx, id, image.StatusSaving)
		return nil, err
	}
	log := r.Log().With("image_id", id)
	log.InfoContext(ctx, "image upload started", "status", image.StatusSaving)
	if err := a.ingest(ctx, im, r.Body(0), limit, image.StatusSaving); err != nil {
		log.WarnContext(ctx, "image upload failed", "err", err)
		return nil, err
	}
	log.InfoContext(ctx, "image upload finished", "status", image.StatusActive)
	return nil, nil
}

// ingest streams data into the store, inspects it, and makes the image
// active; on any failure the data is removed and the image goes back to
// queued. from is the status the image holds while data flows (saving
// for an upload, importing for an import).
func (a *API) ingest(ctx context.Context, im *db.Image, src io.Reader, limit int64, from image.Status) error {
	id := im.ID
	insp := format.New()
	p, err := a.data.Write(ctx, id, src, store.WriteOptions{Limit: limit, Tee: insp})
	if err != nil {
		a.undo(ctx, id, from)
		return a.writeError(ctx, err, limit == a.opt.ImageSizeCap)
	}
	defer p.Abort()
	info := insp.Finish()
	vsize, err := a.checkContent(ctx, im, info)
	if err != nil {
		a.undo(ctx, id, from)
		return err
	}
	loc, err := p.Commit()
	if err != nil {
		a.undo(ctx, id, from)
		return err
	}
	_, err = a.db.UpdateImage(context.WithoutCancel(ctx), id, func(cur *db.Image) error {
		if cur.Status != from {
			return errGone
		}
		cur.Status = image.StatusActive
		size := p.Size
		cur.Size = &size
		cur.VirtualSize = vsize
		cur.StagedSize = nil
		cur.Checksum, cur.OSHashAlgo, cur.OSHashValue = p.MD5, "sha512", p.SHA512
		cur.Location = loc
		cur.Worker = ""
		return nil
	})
	if err != nil {
		// Deleted (or otherwise moved on) while the data flowed: the
		// data must not outlive the image.
		a.data.Delete(loc)
		if errors.Is(err, errGone) || db.IsNotFound(err) {
			return explain(http.StatusGone, "Image %s could not be found after upload. The image may have been deleted during the upload, cleaning up the chunks uploaded.", id)
		}
		return err
	}
	return nil
}

var errGone = errors.New("image moved on during upload")

// fatalKinds are the inspector findings that make data unsafe whatever
// the container format says.
var fatalKinds = []error{format.ErrBackingFile, format.ErrDataFile, format.ErrUnknownFeatures,
	format.ErrExternalExtent, format.ErrCreateType, format.ErrForbidden}

// checkContent decides whether inspected data may become the image, and
// returns its virtual size. A bare container holds a disk of the declared
// format and must pass format.Info.Check; other containers (ami, ovf,
// ova, ...) wrap something Glance does not inspect, but a disk image
// hidden in them must still be safe.
func (a *API) checkContent(ctx context.Context, im *db.Image, info *format.Info) (*int64, error) {
	log := a.log.With("image_id", im.ID)
	if im.ContainerFormat != "bare" {
		if err := info.Safety(); err != nil {
			for _, k := range fatalKinds {
				if errors.Is(err, k) {
					log.WarnContext(ctx, "image data refused", "inspected", info.String(), "err", err)
					return nil, unsupportedMedia("application/octet-stream", "Image failed safety checks: "+err.Error())
				}
			}
		}
		return vsizeIf(info, im.DiskFormat), nil
	}
	err := info.Check(im.DiskFormat)
	var mm *format.MismatchError
	switch {
	case err == nil:
		return vsizeIf(info, im.DiskFormat), nil
	case errors.Is(err, format.ErrUnknownDiskFormat):
		// A disk format the inspector does not know: let data that looks
		// like nothing in particular through, as Glance does.
		if info.Format == format.Raw && info.Safety() == nil {
			return nil, nil
		}
		err = &format.MismatchError{Declared: im.DiskFormat, Detected: info.Format}
	case errors.As(err, &mm):
	default:
		log.WarnContext(ctx, "image data refused", "inspected", info.String(), "err", err)
		return nil, unsupportedMedia("application/octet-stream", "Image failed safety checks: "+err.Error())
	}
	detected := string(info.Format)
	if detected == "" {
		detected = "ambiguous"
	}
	if !a.opt.RequireImageFormatMatch {
		if info.Safety() == nil {
			log.WarnContext(ctx, "image data does not match disk_format", "disk_format", im.DiskFormat, "inspected", info.String())
			return nil, nil
		}
	}
	log.WarnContext(ctx, "image data refused", "disk_format", im.DiskFormat, "inspected", info.String())
	return nil, unsupportedMedia("application/octet-stream", fmt.Sprintf("Image disk_format %s does not match stream data %s", im.DiskFormat, detected))
}

// vsizeIf returns the inspected virtual size when the data is in the
// declared format (Glance leaves it null for formats it cannot inspect).
func vsizeIf(info *format.Info, disk string) *int64 {
	if string(info.Format) != disk || info.VirtualSize <= 0 && disk != "raw" {
		return nil
	}
	v := info.VirtualSize
	return &v
}

var rangeSpec = regexp.MustCompile(`^bytes=(\d*)-(\d*)$`)

// byteRange is the part of an image a download returns.
type byteRange struct {
	offset, length int64
	partial        bool
}

// parseRange is Glance's get_range_from_request with the serializer's
// arithmetic: Range (bytes=a-b, a-, -n), or the legacy Content-Range.
func parseRange(h http.Header, size int64) (byteRange, error) {
	whole := byteRange{0, size, false}
	if rs := h.Get("Range"); rs != "" {
		if strings.Contains(rs, ",") {
			return whole, badRequest("Requests with multiple ranges are not supported in Glance. You may make multiple single-range requests instead.")
		}
		m := rangeSpec.FindStringSubmatch(strings.TrimSpace(rs))
		if m == nil || m[1] == "" && m[2] == "" {
			return whole, detailed(http.StatusRequestedRangeNotSatisfiable, "Invalid Range header.")
		}
		if m[1] == "" {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			if n == 0 {
				return whole, detailed(http.StatusRequestedRangeNotSatisfiable, "Invalid Range header.")
			}
			off := int64(0)
			if n < size {
				off = size - n
			}
			return byteRange{off, size - off, true}, nil
		}
		start, _ := strconv.ParseInt(m[1], 10, 64)
		end := int64(-1)
		if m[2] != "" {
			e, _ := strconv.ParseInt(m[2], 10, 64)
			if e < start {
				return whole, detailed(http.StatusRequestedRangeNotSatisfiable, "Invalid Range header.")
			}
			end = e + 1
		}
		if start >= size {
			return whole, detailed(http.StatusRequestedRangeNotSatisfiable,
				"Invalid start position in Range header. Start position MUST be in the inclusive range [0, %d].", size-1)
		}
		if end >= 0 && end < size {
			return byteRange{start, end - start, true}, nil
		}
		return byteRange{start, size - start, true}, nil
	}
	if cr := h.Get("Content-Range"); cr != "" {
		var start, stop int64
		var total string
		if n, _ := fmt.Sscanf(strings.TrimSpace(cr), "bytes %d-%d/%s", &start, &stop, &total); n != 3 || stop < start {
			return whole, detailed(http.StatusRequestedRangeNotSatisfiable, "Invalid Content-Range header.")
		}
		stop++ // webob's stop is exclusive
		if total == "*" && stop > size {
			return whole, detailed(http.StatusRequestedRangeNotSatisfiable,
				"Invalid stop position in Content-Range header. The stop position MUST be in the inclusive range [0, %d].", size-1)
		}
		if start >= size {
			return whole, detailed(http.StatusRequestedRangeNotSatisfiable,
				"Invalid start position in Content-Range header. Start position MUST be in the inclusive range [0, %d].", size-1)
		}
		return byteRange{start, min(stop, size) - start, true}, nil
	}
	return whole, nil
}

// openData opens an image's data, from the cache when it holds a copy.
func (a *API) openData(im *db.Image) (*os.File, int64, error) {
	if a.cache != nil && a.cache.isCached(im.ID) {
		if f, size, err := a.cache.files.Open(a.cache.files.Location(im.ID)); err == nil {
			a.cache.hit(im.ID)
			return f, size, nil
		}
	}
	return a.data.Open(im.Location)
}

type sectionFile struct {
	*io.SectionReader
	io.Closer
}

func (a *API) download(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("image_id")
	who := r.Auth
	im, err := a.findImage(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if im.Status == image.StatusDeactivated && !a.isAdmin(ctx, who) {
		return nil, forbidden("The requested image has been deactivated. Image data download is forbidden.")
	}
	if err := a.enforceImage(ctx, who, "download_image", im); err != nil {
		return nil, err
	}
	if im.Location == "" {
		return &rest.Response{Status: http.StatusNoContent}, nil
	}
	f, size, err := a.openData(im)
	if errors.Is(err, store.ErrNotFound) {
		return &rest.Response{Status: http.StatusNoContent}, nil
	}
	if err != nil {
		return nil, err
	}
	br, err := parseRange(r.HTTP.Header, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	h := http.Header{}
	status := http.StatusOK
	if br.partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", br.offset, br.offset+br.length-1, size))
	}
	if im.Checksum != "" {
		h.Set("Content-MD5", im.Checksum)
	}
	h.Set("Content-Length", strconv.FormatInt(br.length, 10))
	return &rest.Response{Status: status, Header: h, ContentType: "application/octet-stream",
		Body: sectionFile{io.NewSectionReader(f, br.offset, br.length), f}}, nil
}

func (a *API) stageData(ctx context.Context, r *rest.Request) (any, error) {
	if !contains(a.opt.EnabledImportMethods, image.ImportGlanceDirect) {
		return nil, notFound("'glance-direct' method is not available at this site.")
	}
	if err := octetStream(r); err != nil {
		return nil, err
	}
	size, err := declaredSize(r)
	if err != nil {
		return nil, err
	}
	who := r.Auth
	if err := a.enforceLimits(ctx, projectOf(who), map[string]int64{image.QuotaImageStageTotal: max(size, 0) / mib}); err != nil {
		return nil, err
	}
	id := r.Param("image_id")
	im, err := a.findImage(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if err := a.enforceImage(ctx, who, "modify_image", im); err != nil {
		return nil, err
	}
	if _, err = a.startData(ctx, id, image.StatusUploading); err != nil {
		return nil, err
	}
	if err := a.enforceLimits(ctx, projectOf(who), map[string]int64{image.QuotaImageCountUploading: 0}); err != nil {
		a.restore(ctx, id, image.StatusUploading)
		return nil, err
	}
	p, err := a.stage.Write(ctx, id, r.Body(0), store.WriteOptions{Limit: a.opt.ImageSizeCap})
	if err != nil {
		a.restore(ctx, id, image.StatusUploading)
		return nil, a.writeError(ctx, err, true)
	}
	defer p.Abort()
	loc, err := p.Commit()
	if err != nil {
		a.restore(ctx, id, image.StatusUploading)
		return nil, err
	}
	_, err = a.db.UpdateImage(context.WithoutCancel(ctx), id, func(cur *db.Image) error {
		if cur.Status != image.StatusUploading {
			return errGone
		}
		n := p.Size
		cur.Size, cur.StagedSize = &n, &n
		cur.Worker = ""
		return nil
	})
	if err != nil {
		a.stage.Delete(loc)
		if errors.Is(err, errGone) || db.IsNotFound(err) {
			return nil, explain(http.StatusGone, "Image %s could not be found after upload. The image may have been deleted during the upload, cleaning up the chunks uploaded.", id)
		}
		return nil, err
	}
	r.Log().InfoContext(ctx, "image data staged", "image_id", id, "bytes", p.Size)
	return nil, nil
}

var _ = authn.Context{}
