package api

import (
	"context"
	"errors"
	"time"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/image/db"
)

// Recover puts right what a crash of this worker left half done: an
// upload (saving) goes back to queued, an import (importing) back to
// uploading while its staged data is still there (queued otherwise), an
// interrupted stage back to queued; the import tasks concerned fail. No
// image is ever left active with partial data, because data becomes an
// image's only by the final compare-and-swap of an upload.
func (a *API) Recover(ctx context.Context) error {
	if a.opt.Worker == "" {
		return nil
	}
	ims, err := a.db.WorkerImages(ctx, a.opt.Worker)
	if err != nil {
		return err
	}
	failed := map[string]bool{}
	for _, im := range ims {
		_, staged, _ := a.stage.Open(a.stage.Location(im.ID))
		_, err := a.db.UpdateImage(ctx, im.ID, func(cur *db.Image) error {
			if cur.Worker != a.opt.Worker {
				return errNoChange
			}
			was := cur.Status
			cur.Worker = ""
			switch {
			case was == image.StatusImporting && cur.StagedSize != nil && staged == *cur.StagedSize:
				cur.Status = image.StatusUploading
				failed[cur.ID] = true
			case was == image.StatusSaving || was == image.StatusImporting || was == image.StatusUploading && cur.StagedSize == nil:
				cur.Status = image.StatusQueued
				cur.Size, cur.VirtualSize, cur.StagedSize = nil, nil, nil
				failed[cur.ID] = was == image.StatusImporting
			}
			delete(cur.Properties, "os_glance_import_task")
			a.log.InfoContext(ctx, "image recovered after a restart", "image_id", cur.ID, "status_was", was, "status", cur.Status)
			return nil
		})
		if err != nil && !errors.Is(err, errNoChange) && !db.IsNotFound(err) {
			return err
		}
	}
	tasks, err := a.db.TasksIn(ctx, "pending", "processing")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if failed[t.ImageID] {
			a.db.FinishTask(ctx, t.ID, "failure", nil, "The import was interrupted by a restart of the image service.", time.Now().Add(a.opt.TaskTimeToLive))
		}
	}
	return nil
}

// Sweep removes data files no image refers to and staged data no import
// waits for (leftovers of crashes and of deletes that could not remove
// their files).
func (a *API) Sweep(ctx context.Context) error {
	locs, err := a.db.Locations(ctx)
	if err != nil {
		return err
	}
	removed, err := a.data.Sweep(func(loc string) bool { return locs[loc] })
	for _, p := range removed {
		a.log.InfoContext(ctx, "orphaned image data removed", "path", p)
	}
	if err != nil {
		return err
	}
	staging, err := a.db.StagingImages(ctx)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for id := range staging {
		keep[a.stage.Location(id)] = true
	}
	removed, err = a.stage.Sweep(func(loc string) bool { return keep[loc] })
	for _, p := range removed {
		a.log.InfoContext(ctx, "orphaned staged data removed", "path", p)
	}
	return err
}
