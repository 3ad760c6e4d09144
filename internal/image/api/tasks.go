package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// The tasks API (/v2/tasks), deprecated in Glance and open to admins only
// by default: it shows the import tasks. Creating tasks of the legacy
// "import" type is not offered; imports go through /v2/images/{id}/import.

func (a *API) taskRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2/tasks", Handler: a.listTasks},
		{Method: "GET", Path: "/v2/tasks/{task_id}", Handler: a.showTask},
		{Method: "DELETE", Path: "/v2/tasks/{task_id}", Handler: a.deleteTask},
	}
}

func (a *API) tasksAccess(ctx context.Context, r *rest.Request, rule string) error {
	t := map[string]any{"project_id": projectOf(r.Auth)}
	for _, name := range []string{"tasks_api_access", rule} {
		if !a.allowed(ctx, r.Auth, name, t) {
			return policyForbidden(name)
		}
	}
	return nil
}

func taskDoc(t *db.Task) image.Task {
	v := taskView(t)
	v.Self, v.Schema = "/v2/tasks/"+t.ID, "/v2/schemas/task"
	return v
}

func (a *API) listTasks(ctx context.Context, r *rest.Request) (any, error) {
	if err := a.tasksAccess(ctx, r, "get_tasks"); err != nil {
		return nil, err
	}
	q := r.HTTP.URL.Query()
	limit := a.opt.LimitParamDefault
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, badRequest("limit param must be an integer")
		}
		limit = n
	}
	limit = min(limit, a.opt.APILimitMax)
	owner := projectOf(r.Auth)
	if a.isAdmin(ctx, r.Auth) {
		owner = ""
	}
	ts, err := a.db.ListTasks(ctx, owner, q.Get("marker"), limit)
	if db.IsNotFound(err) {
		return nil, badRequest("Task with the given id %s was not found", q.Get("marker"))
	}
	if err != nil {
		return nil, err
	}
	out := map[string]any{"first": "/v2/tasks", "schema": "/v2/schemas/tasks"}
	list := []image.Task{}
	for _, t := range ts {
		v := taskDoc(t)
		v.Input, v.Result = nil, nil
		list = append(list, v)
	}
	out["tasks"] = list
	if len(ts) > 0 && len(ts) == limit {
		out["next"] = "/v2/tasks?marker=" + ts[len(ts)-1].ID
	}
	return out, nil
}

func (a *API) showTask(ctx context.Context, r *rest.Request) (any, error) {
	if err := a.tasksAccess(ctx, r, "get_task"); err != nil {
		return nil, err
	}
	id := r.Param("task_id")
	t, err := a.db.GetTask(ctx, id)
	if db.IsNotFound(err) || err == nil && !a.isAdmin(ctx, r.Auth) && t.Owner != projectOf(r.Auth) {
		return nil, notFound("Task with the given id %s was not found", id)
	}
	if err != nil {
		return nil, err
	}
	return taskDoc(t), nil
}

func (a *API) deleteTask(ctx context.Context, r *rest.Request) (any, error) {
	if err := a.tasksAccess(ctx, r, "get_task"); err != nil {
		return nil, err
	}
	f := explain(http.StatusMethodNotAllowed, "This operation is currently not permitted on Glance Tasks. They are auto deleted after reaching the time based on their expires_at property.")
	return nil, f.WithHeader("Allow", "GET")
}
