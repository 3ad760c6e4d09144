package api

import (
	"slices"
	"strconv"

	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// Images are rendered by hand rather than through encoding/json: a list of
// a thousand images is the hottest response of the service, and building a
// map per image only to have it sorted and reflected over again costs more
// than the database query behind it. Strings are escaped by the one JSON
// writer of platform/rest, as Neutron's bodies are.

// hiddenProperties are custom properties Glance keeps to itself.
var hiddenProperties = map[string]bool{"os_glance_stage_host": true, "os_glance_hash_op_host": true}

// appendImage appends the JSON view of an image, as Glance's serializer
// builds it.
func (a *API) appendImage(b []byte, im *db.Image) []byte {
	b = append(b, '{')
	b = appendKey(b, "id", true)
	b = rest.AppendString(b, im.ID)
	b = appendKey(b, "name", false)
	if im.Name == nil {
		b = append(b, "null"...)
	} else {
		b = rest.AppendString(b, *im.Name)
	}
	b = appendKey(b, "disk_format", false)
	b = appendNullString(b, im.DiskFormat)
	b = appendKey(b, "container_format", false)
	b = appendNullString(b, im.ContainerFormat)
	b = appendKey(b, "visibility", false)
	b = rest.AppendString(b, string(im.Visibility))
	b = appendKey(b, "size", false)
	b = appendNullInt(b, im.Size)
	b = appendKey(b, "virtual_size", false)
	b = appendNullInt(b, im.VirtualSize)
	b = appendKey(b, "status", false)
	b = rest.AppendString(b, string(im.Status))
	b = appendKey(b, "checksum", false)
	b = appendNullString(b, im.Checksum)
	b = appendKey(b, "protected", false)
	b = strconv.AppendBool(b, im.Protected)
	b = appendKey(b, "min_ram", false)
	b = strconv.AppendInt(b, int64(im.MinRAM), 10)
	b = appendKey(b, "min_disk", false)
	b = strconv.AppendInt(b, int64(im.MinDisk), 10)
	b = appendKey(b, "owner", false)
	b = appendNullString(b, im.Owner)
	b = appendKey(b, "os_hidden", false)
	b = strconv.AppendBool(b, im.OSHidden)
	b = appendKey(b, "os_hash_algo", false)
	b = appendNullString(b, im.OSHashAlgo)
	b = appendKey(b, "os_hash_value", false)
	b = appendNullString(b, im.OSHashValue)
	b = appendKey(b, "created_at", false)
	b = rest.AppendString(b, isotime(im.CreatedAt))
	b = appendKey(b, "updated_at", false)
	b = rest.AppendString(b, isotime(im.UpdatedAt))
	if a.opt.ShowMultipleLocations {
		b = appendKey(b, "locations", false)
		b = append(b, '[')
		if im.Location != "" {
			b = append(b, `{"url":`...)
			b = rest.AppendString(b, im.Location)
			b = append(b, `,"metadata":{}}`...)
		}
		b = append(b, ']')
	}
	if a.opt.ShowImageDirectURL && im.Location != "" {
		b = appendKey(b, "direct_url", false)
		b = rest.AppendString(b, im.Location)
	}
	b = appendKey(b, "tags", false)
	b = append(b, '[')
	for i, t := range im.Tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = rest.AppendString(b, t)
	}
	b = append(b, ']')
	b = appendKey(b, "self", false)
	b = append(b, `"/v2/images/`...)
	b = rest.AppendStringBody(b, im.ID)
	b = append(b, '"')
	b = appendKey(b, "file", false)
	b = append(b, `"/v2/images/`...)
	b = rest.AppendStringBody(b, im.ID)
	b = append(b, `/file"`...)
	b = appendKey(b, "schema", false)
	b = append(b, `"/v2/schemas/image"`...)
	if len(im.Properties) > 0 {
		keys := make([]string, 0, len(im.Properties))
		for k := range im.Properties {
			if !hiddenProperties[k] {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = append(b, ',')
			b = rest.AppendString(b, k)
			b = append(b, ':')
			b = rest.AppendString(b, im.Properties[k])
		}
	}
	return append(b, '}')
}

func appendKey(b []byte, k string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func appendNullString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return rest.AppendString(b, s)
}

func appendNullInt(b []byte, p *int64) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *p, 10)
}
