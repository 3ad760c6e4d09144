package volume

// CreateTransfer is the body of POST /os-volume-transfer.
type CreateTransfer struct {
	Transfer *struct {
		VolumeID *string `json:"volume_id"`
		Name     *string `json:"name"`
	} `json:"transfer"`
}

// AcceptTransfer is the body of POST /os-volume-transfer/{id}/accept.
type AcceptTransfer struct {
	Accept *struct {
		AuthKey *string `json:"auth_key"`
	} `json:"accept"`
}

// Transfer is a volume transfer in responses; AuthKey only in the
// answer to its creation, CreatedAt not in summaries.
type Transfer struct {
	ID        string  `json:"id"`
	Name      *string `json:"name"`
	VolumeID  string  `json:"volume_id"`
	CreatedAt string  `json:"created_at,omitempty"`
	AuthKey   string  `json:"auth_key,omitempty"`
	Links     []Link  `json:"links"`
}
