package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// encryptionRoutes are a volume type's encryption (Cinder's
// volume_type_encryption extension). PUT and DELETE name an encryption
// id that, as in Cinder, is not looked at: a type has one encryption.
func (a *API) encryptionRoutes() []rest.Route {
	p := "/v3/{project_id}/types/{volume_type_id}/encryption"
	return []rest.Route{
		{Method: "GET", Path: p, Policy: "volume_extension:volume_type_encryption:get", Handler: a.showEncryption},
		{Method: "POST", Path: p, Policy: "volume_extension:volume_type_encryption:create", Handler: a.createEncryption},
		{Method: "GET", Path: p + "/{key}", Policy: "volume_extension:volume_type_encryption:get", Handler: a.showEncryptionKey},
		{Method: "PUT", Path: p + "/{key}", Policy: "volume_extension:volume_type_encryption:update", Handler: a.updateEncryption},
		{Method: "DELETE", Path: p + "/{key}", Status: http.StatusAccepted, Policy: "volume_extension:volume_type_encryption:delete", Handler: a.deleteEncryption},
	}
}

func encryptionRules() []policy.Rule {
	p := "/types/{volume_type_id}/encryption"
	return []policy.Rule{
		rule("volume_extension:volume_type_encryption:create", ruleAdminAPI, "Create a volume type's encryption.", op("POST", p)),
		rule("volume_extension:volume_type_encryption:get", ruleAdminAPI, "Show a volume type's encryption.", op("GET", p), op("GET", p+"/{encryption_key}")),
		rule("volume_extension:volume_type_encryption:update", ruleAdminAPI, "Update a volume type's encryption.", op("PUT", p+"/{encryption_id}")),
		rule("volume_extension:volume_type_encryption:delete", ruleAdminAPI, "Delete a volume type's encryption.", op("DELETE", p+"/{encryption_id}")),
	}
}

func encryptionNotFound(typeID string) error {
	return fault.NotFound("Volume type encryption for type %s does not exist.", typeID).WithType("VolumeTypeEncryptionNotFound")
}

// encryptionType checks the path's volume type exists.
func (a *API) encryptionType(ctx context.Context, r *rest.Request) (string, error) {
	id := r.Param("volume_type_id")
	if _, err := a.db.GetType(ctx, id); errors.Is(err, store.ErrNotFound) {
		return "", typeNotFound(id)
	} else if err != nil {
		return "", err
	}
	return id, nil
}

// renderEncryption is the encryption record as Cinder shows it.
func renderEncryption(e *store.Encryption) map[string]any {
	return map[string]any{
		"volume_type_id": e.TypeID, "encryption_id": e.ID, "provider": e.Provider, "cipher": e.Cipher,
		"key_size": e.KeySize, "control_location": e.ControlLocation, "deleted": false,
		"created_at": fmtTime(e.CreatedAt), "updated_at": fmtTime(e.UpdatedAt), "deleted_at": nil,
	}
}

func (a *API) showEncryption(ctx context.Context, r *rest.Request) (any, error) {
	id, err := a.encryptionType(ctx, r)
	if err != nil {
		return nil, err
	}
	e, err := a.db.GetEncryption(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, err
	}
	return renderEncryption(e), nil
}

func (a *API) showEncryptionKey(ctx context.Context, r *rest.Request) (any, error) {
	id, err := a.encryptionType(ctx, r)
	if err != nil {
		return nil, err
	}
	e, err := a.db.GetEncryption(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, encryptionNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	key := r.Param("key")
	v, ok := renderEncryption(e)[key]
	if !ok {
		return nil, encryptionNotFound(id)
	}
	return map[string]any{key: v}, nil
}

// encryptionBody is the body of a create or update: given fields are set
// (cipher and key_size may be null).
type encryptionBody struct {
	fields   map[string]any
	provider *string
	cipher   **string
	keySize  **int
	control  *string
}

func badEncryption(field, reason string) error {
	return fault.BadRequest("Invalid input for field/attribute %s. %s", field, reason)
}

func decodeEncryption(r *rest.Request) (*encryptionBody, error) {
	var b struct {
		Encryption map[string]json.RawMessage `json:"encryption"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	if b.Encryption == nil {
		return nil, badEncryption("encryption", "'encryption' is a required property")
	}
	out := &encryptionBody{fields: map[string]any{}}
	for k, raw := range b.Encryption {
		null := bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
		var s string
		isStr := json.Unmarshal(raw, &s) == nil
		switch k {
		case "provider":
			if !isStr || len(s) > 255 {
				return nil, badEncryption(k, "It must be a string of at most 255 characters.")
			}
			out.provider = &s
			out.fields[k] = s
		case "control_location":
			if !isStr || (s != "front-end" && s != "back-end") {
				return nil, badEncryption(k, "It must be one of ['front-end', 'back-end'].")
			}
			out.control = &s
			out.fields[k] = s
		case "cipher":
			if !null && (!isStr || len(s) > 255) {
				return nil, badEncryption(k, "It must be null or a string of at most 255 characters.")
			}
			var c *string
			if !null {
				c = &s
			}
			out.cipher = &c
			out.fields[k] = c
		case "key_size":
			var n *int
			if !null {
				var i int
				if isStr {
					v, err := strconv.Atoi(s)
					if err != nil {
						return nil, badEncryption(k, "It must be a non-negative integer.")
					}
					i = v
				} else if json.Unmarshal(raw, &i) != nil {
					return nil, badEncryption(k, "It must be a non-negative integer.")
				}
				if i < 0 {
					return nil, badEncryption(k, "It must be a non-negative integer.")
				}
				n = &i
			}
			out.keySize = &n
			out.fields[k] = n
		default:
			return nil, badEncryption("encryption", "Additional properties are not allowed ('"+k+"' was unexpected)")
		}
	}
	return out, nil
}

func (b *encryptionBody) apply(e *store.Encryption) {
	if b.provider != nil {
		e.Provider = *b.provider
	}
	if b.control != nil {
		e.ControlLocation = *b.control
	}
	if b.cipher != nil {
		e.Cipher = *b.cipher
	}
	if b.keySize != nil {
		e.KeySize = *b.keySize
	}
}

func (a *API) createEncryption(ctx context.Context, r *rest.Request) (any, error) {
	b, err := decodeEncryption(r)
	if err != nil {
		return nil, err
	}
	if b.provider == nil {
		return nil, badEncryption("encryption", "'provider' is a required property")
	}
	id, err := a.encryptionType(ctx, r)
	if err != nil {
		return nil, err
	}
	e := &store.Encryption{TypeID: id, ControlLocation: "front-end"}
	b.apply(e)
	switch err := a.db.CreateEncryption(ctx, e); {
	case errors.Is(err, store.ErrDuplicate):
		return nil, fault.BadRequest("Volume type encryption for type %s already exists.", id).WithType("VolumeTypeEncryptionExists")
	case errors.Is(err, store.ErrState):
		return nil, fault.BadRequest("Cannot create encryption specs. Volume type in use.")
	case err != nil:
		return nil, err
	}
	return map[string]any{"encryption": map[string]any{
		"volume_type_id": e.TypeID, "encryption_id": e.ID, "provider": e.Provider,
		"cipher": e.Cipher, "key_size": e.KeySize, "control_location": e.ControlLocation,
	}}, nil
}

func (a *API) updateEncryption(ctx context.Context, r *rest.Request) (any, error) {
	b, err := decodeEncryption(r)
	if err != nil {
		return nil, err
	}
	id, err := a.encryptionType(ctx, r)
	if err != nil {
		return nil, err
	}
	switch _, err := a.db.UpdateEncryption(ctx, id, b.apply); {
	case errors.Is(err, store.ErrNotFound):
		return nil, encryptionNotFound(id)
	case errors.Is(err, store.ErrState):
		return nil, fault.BadRequest("Cannot update encryption specs. Volume type in use.")
	case err != nil:
		return nil, err
	}
	return map[string]any{"encryption": b.fields}, nil
}

func (a *API) deleteEncryption(ctx context.Context, r *rest.Request) (any, error) {
	id, err := a.encryptionType(ctx, r)
	if err != nil {
		return nil, err
	}
	switch err := a.db.DeleteEncryption(ctx, id); {
	case errors.Is(err, store.ErrNotFound):
		return nil, encryptionNotFound(id)
	case errors.Is(err, store.ErrState):
		return nil, fault.BadRequest("Cannot delete encryption specs. Volume type in use.")
	case err != nil:
		return nil, err
	}
	return nil, nil
}

// refuseEncrypted refuses volumes of an encrypted type: tenku has no key
// manager to make their keys (Cinder without one fails such creates).
func (a *API) refuseEncrypted(ctx context.Context, typeID string) error {
	switch _, err := a.db.GetEncryption(ctx, typeID); {
	case err == nil:
		return fault.BadRequest("Invalid input received: Volume type %s is encrypted and there is no key manager to create its key.", typeID).WithType("InvalidInput")
	case errors.Is(err, store.ErrNotFound):
		return nil
	default:
		return err
	}
}
