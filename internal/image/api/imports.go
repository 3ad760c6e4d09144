package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/image/store"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// The interoperable import: PUT /stage put the data in the staging area
// (the image is uploading); POST /import with glance-direct starts a task
// that moves it into the store through the same inspection and hashing as
// an upload (the image is importing), then active — or back to queued,
// the staged data gone, if the data is refused.

// SupportedImportMethods are the import methods tenku implements.
var SupportedImportMethods = []string{image.ImportGlanceDirect}

func (a *API) importRoute() rest.Route {
	return rest.Route{Method: "POST", Path: "/v2/images/{image_id}/import", Handler: a.importImage, Status: http.StatusAccepted}
}

func (a *API) importImage(ctx context.Context, r *rest.Request) (any, error) {
	raw, err := a.requireBody(r)
	if err != nil {
		return nil, err
	}
	body, _ := raw.(map[string]any)
	methodRaw, ok := body["method"]
	if !ok {
		return nil, badRequest("Import request requires a 'method' field.")
	}
	method, _ := methodRaw.(map[string]any)
	nameRaw, ok := method["name"]
	if !ok {
		return nil, badRequest("Import request requires a 'name' field.")
	}
	name, _ := nameRaw.(string)
	if !contains(a.opt.EnabledImportMethods, name) {
		return nil, badRequest("Unknown import method name '%s'.", pyStrOf(nameRaw))
	}
	mustSucceed := true
	if v, ok := body["all_stores_must_succeed"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return nil, badRequest("'all_stores_must_succeed' must be boolean value only")
		}
		mustSucceed = b
	}
	if v, ok := body["all_stores"]; ok {
		if _, isBool := v.(bool); !isBool {
			return nil, badRequest("'all_stores' must be boolean value only")
		}
	}
	who := r.Auth
	if err := a.enforceLimits(ctx, projectOf(who), map[string]int64{image.QuotaImageSizeTotal: 0}); err != nil {
		return nil, err
	}
	id := r.Param("image_id")
	im, err := a.findImage(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if err := checkImportable(im, name); err != nil {
		return nil, err
	}
	if err := a.enforceImage(ctx, who, "modify_image", im); err != nil {
		return nil, err
	}
	if !mustSucceed {
		return nil, badRequest("All_stores_must_succeed can only be set with enabled_backends None")
	}
	task := &db.Task{
		ID: uuid.NewString(), Type: "api_image_import", Status: "pending", Owner: projectOf(who), ImageID: id,
		RequestID: requestID(ctx),
		Input:     map[string]any{"image_id": id, "import_req": body, "backend": []any{nil}},
	}
	if who != nil {
		task.UserID = who.UserID
	}
	// Take the image for this import: only one operation at a time.
	_, err = a.db.UpdateImage(ctx, id, func(cur *db.Image) error {
		if err := checkImportable(cur, name); err != nil {
			return err
		}
		if cur.Worker != "" || cur.Properties["os_glance_import_task"] != "" {
			return conflict("New operation on image '%s' is not permitted as prior operation is still in progress", id)
		}
		cur.Status = image.StatusImporting
		cur.Worker = a.opt.Worker
		cur.Properties["os_glance_import_task"] = task.ID
		return nil
	})
	if db.IsNotFound(err) {
		return nil, notFound("No image found with ID %s", id)
	}
	if err != nil {
		return nil, err
	}
	if err := a.db.CreateTask(ctx, task); err != nil {
		a.restoreUploading(ctx, id)
		return nil, err
	}
	r.Log().InfoContext(ctx, "image import started", "image_id", id, "task_id", task.ID, "method", name)
	a.spawn(func(bg context.Context) { a.runImport(bg, task.ID, id) })
	return nil, nil
}

// pyStrOf renders a JSON value as Python's str() would in a message.
func pyStrOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// checkImportable is Glance's status and format checks before an import.
func checkImportable(im *db.Image, method string) error {
	switch {
	case im.Status == image.StatusActive && method != image.ImportCopyImage:
		return conflict("Image with status active cannot be target for import")
	case im.Status != image.StatusActive && method == image.ImportCopyImage:
		return conflict("Only images with status active can be targeted for copying")
	case im.Status != image.StatusQueued && (method == image.ImportWebDownload || method == image.ImportGlanceDownload):
		return conflict("Image needs to be in 'queued' state to use '%s' method", method)
	case im.Status != image.StatusUploading && method == image.ImportGlanceDirect:
		return conflict("Image needs to be staged before 'glance-direct' method can be used")
	case im.ContainerFormat == "":
		return conflict("'container_format' needs to be set before import")
	case im.DiskFormat == "":
		return conflict("'disk_format' needs to be set before import")
	}
	return nil
}

// restoreUploading puts an importing image back to uploading, its staged
// data kept (the task could not start, or the service is stopping).
func (a *API) restoreUploading(ctx context.Context, id string) {
	a.db.UpdateImage(context.WithoutCancel(ctx), id, func(cur *db.Image) error {
		if cur.Status != image.StatusImporting {
			return errNoChange
		}
		cur.Status = image.StatusUploading
		cur.Worker = ""
		delete(cur.Properties, "os_glance_import_task")
		return nil
	})
}

// runImport is the import task: staged data through the inspector into
// the store.
func (a *API) runImport(ctx context.Context, taskID, id string) {
	log := a.log.With("image_id", id, "task_id", taskID)
	a.db.SetTaskStatus(ctx, taskID, "processing")
	err := a.importStaged(ctx, id)
	// The task's outcome and the lock's release must be recorded even
	// when the service is stopping.
	done := context.WithoutCancel(ctx)
	a.db.UpdateImage(done, id, func(cur *db.Image) error {
		if cur.Properties["os_glance_import_task"] != taskID {
			return errNoChange
		}
		delete(cur.Properties, "os_glance_import_task")
		return nil
	})
	if ctx.Err() != nil && err != nil {
		// Stopped by a shutdown: the staged data stays for another try.
		a.restoreUploading(done, id)
		log.WarnContext(done, "image import interrupted", "err", err)
		a.db.FinishTask(done, taskID, "failure", nil, "The import was interrupted by a shutdown of the image service.", time.Now().Add(a.opt.TaskTimeToLive))
		return
	}
	if err := a.stage.Delete(a.stage.Location(id)); err != nil {
		log.WarnContext(done, "could not remove staged data", "err", err)
	}
	expires := time.Now().Add(a.opt.TaskTimeToLive)
	if err != nil {
		// Whatever failed, the image does not stay importing.
		a.restore(done, id, image.StatusImporting)
		log.WarnContext(done, "image import failed", "err", err)
		a.db.FinishTask(done, taskID, "failure", nil, importMessage(err), expires)
		return
	}
	log.InfoContext(done, "image import finished", "status", image.StatusActive)
	a.db.FinishTask(done, taskID, "success", map[string]any{"image_id": id}, "", expires)
}

func (a *API) importStaged(ctx context.Context, id string) error {
	im, err := a.db.GetImage(ctx, id)
	if err != nil {
		return err
	}
	f, _, err := a.stage.Open(a.stage.Location(id))
	if err != nil {
		a.restore(ctx, id, image.StatusImporting)
		if errors.Is(err, store.ErrNotFound) {
			return errors.New("the staged image data is missing")
		}
		return err
	}
	defer f.Close()
	return a.ingest(ctx, im, f, a.opt.ImageSizeCap, image.StatusImporting)
}

// importMessage is what a failed task reports.
func importMessage(err error) string {
	if f, ok := err.(interface{ Error() string }); ok {
		return f.Error()
	}
	return "import failed"
}
